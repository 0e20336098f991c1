"""The assistant's figures over a period: how much it handled alone, where it gave up, and why.

Every figure is computed from the conversation store (:mod:`launchml.assistant.store`) by read
queries only, over a half-open period ``[since, until)`` in UTC. Two populations are counted:

**Conversations** of the period: conversations *started* in it (``created_at``) that hold at
least one customer message.

- ``containment_rate`` = contained / conversations, where *contained* means no person was ever
  involved: the conversation has no handoff and no agent message (at any time, also after the
  period ends; a conversation started on the last day and handed off the next day is not
  contained).
- ``handoff_rate`` = handed off / conversations, where *handed off* means the conversation has
  at least one handoff (whatever its reason, even if an agent gave it back later). An agent can
  also write into a conversation that was never handed off, so containment + handoff can be
  below 1.

**Bot turns** of the period: the policy's decisions made in it (``decisions.created_at``),
except ``waiting_for_agent`` (the message arrived while a person had the conversation; the bot
stayed silent, so it is not the bot's turn).

- ``clarification_rate`` = turns of kind ``clarify`` ("did you mean A or B?") / bot turns.
- ``fallback_reasons``: the bot turns that did not answer (kind ``handoff`` or ``clarify``),
  counted by their reason (``out_of_scope``, ``failed_turns``, ``asked_for_person``,
  ``handoff_intent``, ``close_call``), most frequent first.
- ``top_intents``: the bot turns answered with an intent's response (kind ``answer``) counted by
  intent; ``top_faq`` the same for FAQ answers, by FAQ question.
- ``unanswered``: the customer messages of bot turns handed off because the bot did not
  understand them (reasons ``out_of_scope`` and ``failed_turns``), grouped by their normalised
  text (case-folded, punctuation dropped, single spaces: :func:`launchml.assistant.policy.
  normalise`), most frequent first, with the latest original (redacted) wording as ``example``.

**Feedback** of the period: ratings given in it (``feedback.created_at``): ``up`` (+1), ``down``
(-1), and ``helpful_rate`` = up / (up + down); ``by_kind`` splits them by what was rated (the
kind of the bot's decision, or ``agent`` for an agent's message).

A rate whose denominator is 0 is ``null``. Rates are rounded to 4 decimals.

Example::

    figures = compute_analytics(store, since=datetime(2025, 1, 1, tzinfo=UTC),
                                until=datetime(2025, 2, 1, tzinfo=UTC))
    figures["conversations"]["containment_rate"]      # 0.8125
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from launchml.assistant.policy import normalise
from launchml.assistant.store import (
    Conversation,
    DecisionRow,
    Feedback,
    Handoff,
    Message,
    Store,
    iso,
)
from launchml.errors import InvalidInputError

SILENT_REASON = "waiting_for_agent"
UNANSWERED_REASONS = ("out_of_scope", "failed_turns")
DAILY_UP_TO_DAYS = 92  # longer periods are plotted in 7-day buckets
DEFAULT_TOP = 10


@dataclass(frozen=True)
class Period:
    """A half-open UTC period ``[since, until)``."""

    since: datetime
    until: datetime

    @classmethod
    def of(cls, since: datetime, until: datetime) -> Period:
        """Both ends as aware UTC datetimes (naive ones are taken as UTC); since < until."""
        since, until = as_utc(since), as_utc(until)
        if since >= until:
            raise InvalidInputError(
                f"since {iso(since)} is not before until {iso(until)}; give an earlier since"
            )
        return cls(since, until)

    @classmethod
    def last_days(cls, days: int, now: datetime | None = None) -> Period:
        """The ``days`` days up to ``now`` (default: the current time)."""
        until = as_utc(now or datetime.now(UTC))
        return cls.of(until - timedelta(days=days), until)

    def to_json(self) -> dict[str, str | None]:
        return {"since": iso(self.since), "until": iso(self.until)}


def as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class PeriodError(InvalidInputError):
    """A period bound that cannot be used, naming the parameter (``field``)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def parse_moment(value: str, field: str) -> datetime:
    """An ISO date (midnight UTC) or date-time (UTC unless it has an offset)."""
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        return as_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        raise PeriodError(
            f"{field}: {value[:40]!r} is not a date; expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ",
            field,
        ) from None


def compute_analytics(
    store: Store, since: datetime, until: datetime, top: int = DEFAULT_TOP
) -> dict[str, Any]:
    """Every figure of the module docstring over ``[since, until)``, as one JSON-ready dict."""
    period = Period.of(since, until)
    with Session(store.engine) as session:
        conversations = conversation_flags(session, period)
        turns = bot_turns(session, period)
        return {
            "period": period.to_json(),
            "conversations": conversation_figures(conversations),
            "turns": turn_figures(turns),
            "fallback_reasons": fallback_reasons(turns),
            "top_intents": top_counts(
                [t["intent"] for t in turns if t["kind"] == "answer"], "intent", top
            ),
            "top_faq": top_counts(
                [t["faq_question"] for t in turns if t["kind"] == "faq"], "question", top
            ),
            "feedback": feedback_figures(session, period),
            "unanswered": unanswered_questions(turns, top),
            "series": series(conversations, period),
        }


def rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


# --------------------------------------------------------------------------------------------
# Conversations.


def conversation_flags(session: Session, period: Period) -> list[dict[str, Any]]:
    """The period's conversations: when each started, and whether a person was involved."""
    has_customer = exists().where(
        Message.conversation_id == Conversation.id, Message.role == "customer"
    )
    has_handoff = exists().where(Handoff.conversation_id == Conversation.id)
    has_agent = exists().where(Message.conversation_id == Conversation.id, Message.role == "agent")
    query = select(
        Conversation.id, Conversation.created_at, has_handoff.label("h"), has_agent.label("a")
    ).where(
        Conversation.created_at >= period.since,
        Conversation.created_at < period.until,
        has_customer,
    )
    return [
        {"id": cid, "created_at": as_utc(created), "handed_off": bool(h), "agent": bool(a)}
        for cid, created, h, a in session.execute(query)
    ]


def conversation_figures(conversations: list[dict[str, Any]]) -> dict[str, Any]:
    total = len(conversations)
    handed_off = sum(c["handed_off"] for c in conversations)
    contained = sum(not (c["handed_off"] or c["agent"]) for c in conversations)
    return {
        "total": total,
        "contained": contained,
        "handed_off": handed_off,
        "containment_rate": rate(contained, total),
        "handoff_rate": rate(handed_off, total),
    }


def series(conversations: list[dict[str, Any]], period: Period) -> dict[str, Any]:
    """Conversations, contained and handed off per day (per 7 days for long periods), from
    the first bucket holding ``since`` to the one holding the end of the period."""
    days = 1 if period.until - period.since <= timedelta(days=DAILY_UP_TO_DAYS) else 7
    first = period.since.date()
    last = (period.until - timedelta(microseconds=1)).date()
    buckets: dict[date, Counter[str]] = {
        first + timedelta(days=d): Counter() for d in range(0, (last - first).days + 1, days)
    }

    def bucket_of(day: date) -> date:
        return first + timedelta(days=((day - first).days // days) * days)

    for c in conversations:
        counts = buckets[bucket_of(c["created_at"].date())]
        counts["conversations"] += 1
        counts["contained"] += not (c["handed_off"] or c["agent"])
        counts["handed_off"] += c["handed_off"]
    points = [
        {
            "start": start.isoformat(),
            "conversations": counts["conversations"],
            "contained": counts["contained"],
            "handed_off": counts["handed_off"],
        }
        for start, counts in buckets.items()
    ]
    return {"bucket_days": days, "points": points}


# --------------------------------------------------------------------------------------------
# Bot turns.


def bot_turns(session: Session, period: Period) -> list[dict[str, Any]]:
    """The period's decisions (silent ones left out), each with its customer message's text."""
    query = (
        select(DecisionRow, Message.text)
        .join(Message, Message.id == DecisionRow.message_id)
        .where(
            DecisionRow.created_at >= period.since,
            DecisionRow.created_at < period.until,
            DecisionRow.reason != SILENT_REASON,
        )
        .order_by(DecisionRow.id)
    )
    turns = []
    for decision, text in session.execute(query):
        faq = (decision.scores or {}).get("faq") or {}
        turns.append(
            {
                "kind": decision.kind,
                "reason": decision.reason,
                "intent": decision.intent,
                "faq_question": faq.get("question"),
                "text": text,
            }
        )
    return turns


def turn_figures(turns: list[dict[str, Any]]) -> dict[str, Any]:
    kinds = Counter(t["kind"] for t in turns)
    return {
        "total": len(turns),
        "answered": kinds["answer"],
        "faq": kinds["faq"],
        "clarified": kinds["clarify"],
        "handed_off": kinds["handoff"],
        "clarification_rate": rate(kinds["clarify"], len(turns)),
    }


def fallback_reasons(turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    reasons = Counter(t["reason"] for t in turns if t["kind"] in ("handoff", "clarify"))
    return [{"reason": r, "count": n} for r, n in _most_common(reasons)]


def top_counts(values: list[str | None], key: str, top: int) -> list[dict[str, Any]]:
    counts = Counter(v for v in values if v)
    return [{key: value, "count": n} for value, n in _most_common(counts)[:top]]


def unanswered_questions(turns: list[dict[str, Any]], top: int) -> list[dict[str, Any]]:
    groups: dict[str, dict[str, Any]] = {}
    for t in turns:
        if t["kind"] != "handoff" or t["reason"] not in UNANSWERED_REASONS:
            continue
        key = normalise(t["text"])
        group = groups.setdefault(key, {"text": key, "count": 0, "example": t["text"]})
        group["count"] += 1
        group["example"] = t["text"]  # turns come oldest first: the latest wording wins
    ranked = sorted(groups.values(), key=lambda g: (-g["count"], g["text"]))
    return ranked[:top]


def _most_common(counts: Counter[str]) -> list[tuple[str, int]]:
    """By count, then alphabetically (stable answers for equal counts)."""
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


# --------------------------------------------------------------------------------------------
# Feedback.


def feedback_figures(session: Session, period: Period) -> dict[str, Any]:
    query = (
        select(Feedback.rating, Message.role, DecisionRow.kind)
        .join(Message, Message.id == Feedback.message_id)
        .outerjoin(DecisionRow, DecisionRow.reply_id == Feedback.message_id)
        .where(Feedback.created_at >= period.since, Feedback.created_at < period.until)
    )
    up = down = 0
    by_kind: dict[str, dict[str, int]] = {}
    for rating, role, kind in session.execute(query):
        what = kind if role == "bot" and kind else role
        counts = by_kind.setdefault(what, {"up": 0, "down": 0})
        if rating > 0:
            up += 1
            counts["up"] += 1
        elif rating < 0:
            down += 1
            counts["down"] += 1
    return {
        "up": up,
        "down": down,
        "helpful_rate": rate(up, up + down),
        "by_kind": dict(sorted(by_kind.items())),
    }


__all__ = ["Period", "PeriodError", "compute_analytics", "parse_moment"]
