"""The conversation store on SQLite (WAL) and PostgreSQL: turns, handoffs, agents, feedback."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from launchml.assistant.store import Store, iso
from launchml.errors import ConflictError, InvalidConfigError, NotFoundError

FIXED = datetime(2025, 1, 31, 12, 0, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def store(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'conversations.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    store = Store(url, clock=lambda: FIXED)
    yield store
    store.close()


def new_id() -> str:
    return uuid.uuid4().hex


def test_a_turn_records_messages_decision_and_state(store: Store) -> None:
    cid = new_id()
    with store.turn(cid) as turn:
        assert turn.is_new
        turn.conversation.language = "de"
        customer = turn.add_message("customer", "Wo ist [EMAIL]?", "de", redacted=["EMAIL"])
        bot = turn.add_message("bot", "Unter Konto > Bestellungen.", "de")
        turn.add_decision(
            customer, bot, kind="answer", reason="confident", intent="order_status",
            confidence=0.91, in_scope=1.5, threshold=-0.8, language="de",
            language_source="detected", scores={"margin": 0.8},
        )  # fmt: skip
    with store.turn(cid) as turn:
        assert not turn.is_new and turn.conversation.language == "de"
    saved = store.conversation(cid)
    assert saved["state"] == "bot" and saved["created_at"] == "2025-01-31T12:00:00Z"
    first, second = saved["messages"]
    assert (first["role"], first["text"], first["redacted"]) == (
        "customer",
        "Wo ist [EMAIL]?",
        ["EMAIL"],
    )
    assert first["decision"] == {
        "kind": "answer", "reason": "confident", "intent": "order_status", "confidence": 0.91,
        "in_scope": 1.5, "threshold": -0.8, "language_source": "detected",
        "scores": {"margin": 0.8},
    }  # fmt: skip
    assert (second["role"], second["decision"]) == ("bot", None)


def test_handoff_agent_reply_and_give_back(store: Store) -> None:
    cid = new_id()
    with store.turn(cid) as turn:
        turn.add_message("customer", "real person please", "en")
        turn.hand_off("asked_for_person")
    assert store.conversation(cid)["state"] == "handoff"
    message_id = store.add_agent_reply(cid, "Hi, Sam here.", agent="sam")
    store.give_back(cid, agent="sam")
    saved = store.conversation(cid)
    assert saved["state"] == "bot"
    assert saved["messages"][-1] == {
        "id": message_id, "role": "agent", "text": "Hi, Sam here.", "language": None,
        "author": "sam", "redacted": [], "created_at": "2025-01-31T12:00:00Z", "decision": None,
    }  # fmt: skip
    assert store.handoffs(cid) == [
        {"reason": "asked_for_person", "started_at": "2025-01-31T12:00:00Z",
         "ended_at": "2025-01-31T12:00:00Z", "ended_by": "sam"}
    ]  # fmt: skip
    with pytest.raises(ConflictError, match="not handed off"):
        store.give_back(cid, agent="sam")


def test_feedback_and_corrections_attach_to_messages(store: Store) -> None:
    cid = new_id()
    with store.turn(cid) as turn:
        message = turn.add_message("customer", "money back", "en")
    assert store.add_feedback(message.id, -1, "wrong answer") > 0
    assert store.add_correction(message.id, "refund_request", author="sam") > 0
    with pytest.raises(NotFoundError, match="message 999999 not found"):
        store.add_correction(999999, "refund_request")


def test_unknown_conversations_are_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError, match="conversation 'nope' not found"):
        store.conversation("nope")
    with pytest.raises(NotFoundError):
        store.add_agent_reply("nope", "hello", agent="sam")


def test_concurrent_turns_of_one_conversation_never_lose_an_update(store: Store) -> None:
    cid = new_id()
    with store.turn(cid):
        pass

    def bump() -> None:
        for _ in range(10):
            with store.turn(cid) as turn:
                turn.conversation.failed_turns += 1

    threads = [threading.Thread(target=bump) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with store.turn(cid) as turn:
        assert turn.conversation.failed_turns == 30


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'c.db'}")
    with store.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    store.close()


def test_bad_store_urls_are_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(InvalidConfigError, match="not a database URL"):
        Store("conversations.db")
    with pytest.raises(NotFoundError, match="directory .* not found"):
        Store(f"sqlite:///{tmp_path / 'missing' / 'c.db'}")


def test_iso_treats_naive_times_as_utc() -> None:
    assert iso(datetime(2025, 1, 31, 12, 0)) == "2025-01-31T12:00:00Z"
    assert iso(None) is None
