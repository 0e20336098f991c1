"""The conversation store (SQLAlchemy 2): SQLite in WAL mode by default, PostgreSQL in production.

Tables (every text in them is already redacted by :mod:`launchml.pii`)::

    conversations  id, language, state ('bot' | 'handoff'), failed_turns, options (the intents
                   of a pending "did you mean"), assigned_agent, created_at, updated_at
    messages       conversation, role ('customer' | 'bot' | 'agent'), text, language, author
    decisions      the policy's decision on a customer message: kind, reason, intent,
                   confidence, in_scope, threshold, language and how it was chosen, all scores
    handoffs       when and why a conversation went to a person, when and by whom it came back
    feedback       a rating (+1 / -1) and comment on a bot message (filled by the inbox)
    corrections    the right intent for a customer message (training data for the next model)

One customer turn is one transaction (:meth:`Store.turn`); on PostgreSQL the conversation's row
is locked for it, so two servers never interleave the turns of one conversation.

Example::

    store = Store("sqlite:///conversations.db")
    with store.turn("c1") as turn:
        turn.conversation.language = "en"
        turn.add_message("customer", "where is my parcel", "en")
    store.conversation("c1")["messages"][0]["text"]
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    create_engine,
    event,
    select,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from launchml.errors import ConflictError, InvalidConfigError, NotFoundError

ID_LENGTH = 64


class Base(DeclarativeBase):
    pass


def _now() -> datetime:
    return datetime.now(UTC)


class Conversation(Base):
    __tablename__ = "conversations"
    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    language: Mapped[str | None] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(16), default="bot")
    failed_turns: Mapped[int] = mapped_column(Integer, default=0)
    options: Mapped[list[str]] = mapped_column(JSON, default=list)
    assigned_agent: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Message(Base):
    __tablename__ = "messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(8))
    author: Mapped[str | None] = mapped_column(String(128))
    redacted: Mapped[list[str]] = mapped_column(JSON, default=list)  # kinds found, e.g. EMAIL
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DecisionRow(Base):
    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), unique=True)
    reply_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32))
    intent: Mapped[str | None] = mapped_column(String(128))
    confidence: Mapped[float | None] = mapped_column(Float)
    in_scope: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    language: Mapped[str | None] = mapped_column(String(8))
    language_source: Mapped[str | None] = mapped_column(String(16))
    scores: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Handoff(Base):
    __tablename__ = "handoffs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    reason: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_by: Mapped[str | None] = mapped_column(String(128))


class Feedback(Base):
    __tablename__ = "feedback"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    rating: Mapped[int] = mapped_column(Integer)  # +1 helpful, -1 not
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Correction(Base):
    __tablename__ = "corrections"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    intent: Mapped[str] = mapped_column(String(128))
    author: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def new_conversation_id() -> str:
    return uuid.uuid4().hex


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" event starts transactions
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")  # wait for the writer, up to 30 s
    cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL; fsync at checkpoints
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get WAL mode and their directory must exist."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InvalidConfigError(
            f"store url {url!r}: not a database URL; expected sqlite:///FILE or "
            "postgresql+psycopg://user:password@host/db"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not Path(database).parent.is_dir():
            raise NotFoundError(f"store url {url!r}: directory {Path(database).parent} not found")
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        # take the write lock at the start of a transaction, not at its first write: a turn
        # reads the conversation's state and then updates it, and two such turns must queue
        # (busy_timeout) rather than fail on upgrading their read lock
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    return create_engine(url, pool_pre_ping=True)


@dataclass
class Turn:
    """One customer turn inside a transaction: the (locked) conversation and what to add."""

    session: Session
    conversation: Conversation
    is_new: bool
    clock: Callable[[], datetime]

    def add_message(
        self,
        role: str,
        text: str,
        language: str | None,
        author: str | None = None,
        redacted: list[str] | None = None,
    ) -> Message:
        message = Message(
            conversation_id=self.conversation.id,
            role=role,
            text=text,
            language=language,
            author=author,
            redacted=redacted or [],
            created_at=self.clock(),
        )
        self.session.add(message)
        self.session.flush()  # assigns the id
        return message

    def add_decision(self, message: Message, reply: Message | None, **fields: Any) -> DecisionRow:
        row = DecisionRow(
            conversation_id=self.conversation.id,
            message_id=message.id,
            reply_id=reply.id if reply else None,
            created_at=self.clock(),
            **fields,
        )
        self.session.add(row)
        return row

    def hand_off(self, reason: str) -> None:
        self.conversation.state = "handoff"
        self.conversation.assigned_agent = None  # a new handoff waits for any agent
        self.session.add(
            Handoff(conversation_id=self.conversation.id, reason=reason, started_at=self.clock())
        )


class Store:
    """Conversations, messages and decisions in one database (see the module docstring)."""

    def __init__(self, url: str, clock: Callable[[], datetime] = _now) -> None:
        self.url = url
        self.clock = clock
        self.engine = make_engine(url)
        try:
            Base.metadata.create_all(self.engine)
        except OperationalError as exc:
            first = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise InvalidConfigError(
                f"store url {url!r}: cannot open the database ({first})"
            ) from None
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()

    @contextlib.contextmanager
    def turn(self, conversation_id: str) -> Iterator[Turn]:
        """A transaction around one turn; creates the conversation when it is new."""
        with self._sessions.begin() as session:
            query = select(Conversation).where(Conversation.id == conversation_id)
            conversation = session.scalars(query.with_for_update()).one_or_none()
            is_new = conversation is None
            if conversation is None:
                now = self.clock()
                conversation = Conversation(
                    id=conversation_id, state="bot", failed_turns=0, options=[],
                    created_at=now, updated_at=now,
                )  # fmt: skip
                session.add(conversation)
                session.flush()
            yield Turn(session, conversation, is_new, self.clock)
            conversation.updated_at = self.clock()

    def language_of(self, conversation_id: str) -> str | None:
        """The conversation's language (None for a new conversation)."""
        with self._sessions() as session:
            conversation = session.get(Conversation, conversation_id)
            return conversation.language if conversation is not None else None

    def add_agent_reply(self, conversation_id: str, text: str, agent: str) -> int:
        """An agent's (redacted) message in a conversation; returns its message id."""
        with self.turn_of_existing(conversation_id) as turn:
            return turn.add_message("agent", text, turn.conversation.language, author=agent).id

    def give_back(self, conversation_id: str, agent: str) -> None:
        """End the handoff: the bot answers this conversation again."""
        with self.turn_of_existing(conversation_id) as turn:
            conversation = turn.conversation
            if conversation.state != "handoff":
                raise ConflictError(f"conversation {conversation_id!r} is not handed off")
            conversation.state, conversation.failed_turns, conversation.options = "bot", 0, []
            conversation.assigned_agent = None
            open_handoffs = select(Handoff).where(
                Handoff.conversation_id == conversation_id, Handoff.ended_at.is_(None)
            )
            for handoff in turn.session.scalars(open_handoffs):
                handoff.ended_at, handoff.ended_by = self.clock(), agent

    @contextlib.contextmanager
    def turn_of_existing(self, conversation_id: str) -> Iterator[Turn]:
        with self.turn(conversation_id) as turn:
            if turn.is_new:
                raise NotFoundError(f"conversation {conversation_id!r} not found")
            yield turn

    def add_feedback(self, message_id: int, rating: int, comment: str | None = None) -> int:
        with self._sessions.begin() as session:
            self._message(session, message_id)
            row = Feedback(message_id=message_id, rating=rating, comment=comment,
                           created_at=self.clock())  # fmt: skip
            session.add(row)
            session.flush()
            return row.id

    def add_correction(self, message_id: int, intent: str, author: str | None = None) -> int:
        with self._sessions.begin() as session:
            self._message(session, message_id)
            row = Correction(message_id=message_id, intent=intent, author=author,
                             created_at=self.clock())  # fmt: skip
            session.add(row)
            session.flush()
            return row.id

    @staticmethod
    def _message(session: Session, message_id: int) -> Message:
        message = session.get(Message, message_id)
        if message is None:
            raise NotFoundError(f"message {message_id} not found")
        return message

    def conversation(self, conversation_id: str) -> dict[str, Any]:
        """The conversation with its messages (oldest first), each with its decision."""
        with self._sessions() as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None:
                raise NotFoundError(f"conversation {conversation_id!r} not found")
            messages = session.scalars(
                select(Message)
                .where(Message.conversation_id == conversation_id)
                .order_by(Message.id)
            ).all()
            decisions = {
                d.message_id: d
                for d in session.scalars(
                    select(DecisionRow).where(DecisionRow.conversation_id == conversation_id)
                )
            }
            return {
                "id": conversation.id,
                "state": conversation.state,
                "language": conversation.language,
                "created_at": iso(conversation.created_at),
                "updated_at": iso(conversation.updated_at),
                "messages": [_message_json(m, decisions.get(m.id)) for m in messages],
            }

    def handoffs(self, conversation_id: str) -> list[dict[str, Any]]:
        with self._sessions() as session:
            rows = session.scalars(
                select(Handoff)
                .where(Handoff.conversation_id == conversation_id)
                .order_by(Handoff.id)
            )
            return [
                {"reason": h.reason, "started_at": iso(h.started_at), "ended_at": iso(h.ended_at),
                 "ended_by": h.ended_by}
                for h in rows
            ]  # fmt: skip


def open_existing(url: str) -> Store:
    """The store at ``url``, which must exist already (for commands that only read it, such as
    ``retrain`` and ``export``): a missing SQLite file is an error, not a new empty database."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return Store(url)  # raises the store's own message about the URL
    database = parsed.database or ""
    local = parsed.get_backend_name() == "sqlite" and database not in ("", ":memory:")
    if local and not Path(database).is_file():
        raise NotFoundError(
            f"store url {url!r}: {database} not found; pass --db with the URL of the "
            "assistant's conversation store"
        )
    return Store(url)


def iso(moment: datetime | None) -> str | None:
    """UTC time as ``2025-01-31T12:00:00Z`` (SQLite hands back naive datetimes: they are UTC)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _message_json(message: Message, decision: DecisionRow | None) -> dict[str, Any]:
    return {
        "id": message.id,
        "role": message.role,
        "text": message.text,
        "language": message.language,
        "author": message.author,
        "redacted": list(message.redacted or []),
        "created_at": iso(message.created_at),
        "decision": None
        if decision is None
        else {
            "kind": decision.kind,
            "reason": decision.reason,
            "intent": decision.intent,
            "confidence": decision.confidence,
            "in_scope": decision.in_scope,
            "threshold": decision.threshold,
            "language_source": decision.language_source,
            "scores": decision.scores,
        },
    }


__all__ = ["Store", "Turn", "iso", "make_engine", "new_conversation_id", "open_existing"]
