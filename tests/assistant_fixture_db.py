"""A conversation store built by hand, for the analytics and export tests.

Each conversation is written through the store's own API, at times set by a fake clock, so that
every figure of :mod:`launchml.assistant.analytics` can be counted by hand (the counts are in
``tests/test_assistant_analytics.py``). The period under test is [2025-03-01, 2025-03-05).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from launchml.assistant.store import Store

SINCE = datetime(2025, 3, 1, tzinfo=UTC)
UNTIL = datetime(2025, 3, 5, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = SINCE

    def __call__(self) -> datetime:
        return self.now


def at(day: int, hour: int = 10, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=UTC)


class Builder:
    def __init__(self, store: Store, clock: Clock) -> None:
        self.store, self.clock = store, clock
        self.bot_messages: dict[str, int] = {}  # "cid:n" -> bot message id

    def turn(
        self,
        cid: str,
        when: datetime,
        text: str,
        kind: str,
        reason: str,
        intent: str | None = None,
        faq: str | None = None,
        reply: str | None = "ok",
        name: str | None = None,
    ) -> None:
        """One customer message and the bot's decision on it (a handoff opens one)."""
        self.clock.now = when
        with self.store.turn(cid) as turn:
            turn.conversation.language = "en"
            customer = turn.add_message("customer", text, "en")
            bot = turn.add_message("bot", reply, "en") if reply is not None else None
            scores: dict[str, Any] = {"faq": {"id": 0, "question": faq, "similarity": 0.9}}
            turn.add_decision(
                customer, bot, kind=kind, reason=reason, intent=intent, confidence=0.9,
                in_scope=0.5, threshold=0.1, language="en", language_source="detected",
                scores=scores if faq else {"faq": None},
            )  # fmt: skip
            if kind == "handoff" and reason != "waiting_for_agent":
                turn.hand_off(reason)
        if bot is not None and name is not None:
            self.bot_messages[name] = bot.id

    def agent(self, cid: str, when: datetime, text: str) -> int:
        self.clock.now = when
        return self.store.add_agent_reply(cid, text, agent="sam")

    def feedback(self, message_id: int, when: datetime, rating: int) -> None:
        self.clock.now = when
        self.store.add_feedback(message_id, rating)


def build_store(where: Path | str) -> Store:
    """The hand-made store (see the counts in the analytics test), in a SQLite file or at a
    database URL."""
    clock = Clock()
    store = Store(f"sqlite:///{where}" if isinstance(where, Path) else where, clock=clock)
    b = Builder(store, clock)
    # c1, 1 March: contained; an intent answer and an FAQ answer, both rated up
    b.turn("c1", at(1), "where is my parcel", "answer", "confident", "order_status", name="c1a")
    b.turn("c1", at(1, 11), "do you ship abroad?", "faq", "faq_match",
           faq="Do you ship internationally?", name="c1f")  # fmt: skip
    b.feedback(b.bot_messages["c1a"], at(1, 12), +1)
    b.feedback(b.bot_messages["c1f"], at(1, 12), +1)
    # c2, 2 March: not understood -> handoff; a message while waiting; an agent answers
    b.turn("c2", at(2), "my blender exploded!", "handoff", "out_of_scope")
    b.turn("c2", at(2, 10, 5), "hello??", "handoff", "waiting_for_agent", reply=None)
    b.agent("c2", at(2, 10, 10), "Sorry to hear that, sending a new one.")
    # c3, 2 March: contained after a clarification (rated down)
    b.turn("c3", at(2, 12), "money back", "clarify", "close_call", name="c3c")
    b.turn("c3", at(2, 12, 1), "refund", "answer", "option_chosen", "refund", name="c3a")
    b.feedback(b.bot_messages["c3c"], at(2, 13), -1)
    b.feedback(b.bot_messages["c3a"], at(6), -1)  # after the period: not counted
    # c4, 3 March: the same unknown question, other wording
    b.turn("c4", at(3), "My blender  exploded", "handoff", "out_of_scope")
    # c5, 3 March: asks for a person, is given back to the bot
    b.turn("c5", at(3, 14), "I want a real person", "handoff", "asked_for_person")
    clock.now = at(3, 15)
    store.give_back("c5", agent="sam")
    # c6, 4 March: answered, then an agent writes without any handoff (rated up)
    b.turn("c6", at(4), "change my address", "answer", "confident", "change_address")
    b.feedback(b.agent("c6", at(4, 11), "I changed it for you."), at(4, 12), +1)
    # c7: started before the period; its second turn falls inside it
    b.turn("c7", at(28, 23, 59, month=2), "where is my parcel", "answer", "confident",
           "order_status")  # fmt: skip
    b.turn("c7", at(1, 0, 1), "and my refund?", "answer", "confident", "refund")
    # c8, 4 March: opened but no customer message (not a conversation of the period)
    clock.now = at(4, 9)
    with store.turn("c8"):
        pass
    # c9, 4 March: a clarification, then too many failed turns -> handoff
    b.turn("c9", at(4, 16), "asdf qwerty", "clarify", "close_call")
    b.turn("c9", at(4, 16, 1), "zzz", "handoff", "failed_turns")
    # c10: starts exactly at the end of the period (excluded: the end is open)
    b.turn("c10", at(5, 0, 0), "where is my parcel", "answer", "confident", "order_status")
    return store
