"""What the web side adds to the conversation store: agents, sessions, customer tokens,
resolutions and FAQ verdicts.

New tables only (the tables of :mod:`launchml.assistant.store` keep their columns, so a store
written before the web side opens unchanged, and the new tables are created on first use)::

    agents          name, password_hash (argon2), created_at
    agent_sessions  sha256 of the session token, agent, CSRF token, created_at, expires_at
    customer_tokens sha256 of a widget conversation's token, conversation
    resolutions     an agent marked the conversation resolved, up to message last_message_id
                    (a later customer message reopens it)
    faq_verdicts    an agent's "this FAQ answer was right / wrong" on a customer message

Only hashes of tokens are stored: a copy of the database does not let anyone act as a customer
or an agent.

Example::

    inbox = InboxStore(Store("sqlite:///conversations.db"))
    conversation_id, token = inbox.new_customer_conversation()
    inbox.conversation_of_token(token) == conversation_id
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Integer, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from launchml.assistant.store import (
    Base,
    Conversation,
    Correction,
    DecisionRow,
    Feedback,
    Handoff,
    Message,
    Store,
    iso,
    new_conversation_id,
)
from launchml.errors import ConflictError, InvalidInputError, NotFoundError

TOKEN_BYTES = 32  # 256 bits, URL-safe base64: unguessable


class Agent(Base):
    __tablename__ = "agents"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AgentSession(Base):
    __tablename__ = "agent_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent: Mapped[str] = mapped_column(ForeignKey("agents.name", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CustomerToken(Base):
    __tablename__ = "customer_tokens"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Resolution(Base):
    __tablename__ = "resolutions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    last_message_id: Mapped[int] = mapped_column(Integer)
    resolved_by: Mapped[str] = mapped_column(String(128))
    resolved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FaqVerdict(Base):
    __tablename__ = "faq_verdicts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    faq_id: Mapped[int | None] = mapped_column(Integer)
    verdict: Mapped[str] = mapped_column(String(8))  # 'right' | 'wrong'
    author: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _utc(moment: datetime) -> datetime:
    from datetime import UTC

    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class InboxStore:
    """The inbox's reads and writes, on the tables of ``store`` and the ones above."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.clock = store.clock
        Base.metadata.create_all(store.engine)  # the new tables; existing ones are left as is
        self._sessions = store._sessions

    # -- agents and their sessions ------------------------------------------------------------

    def add_agent(self, name: str, password_hash: str) -> None:
        with self._sessions.begin() as session:
            if session.get(Agent, name) is not None:
                raise ConflictError(f"agent {name!r} exists already")
            session.add(Agent(name=name, password_hash=password_hash, created_at=self.clock()))

    def remove_agent(self, name: str) -> None:
        with self._sessions.begin() as session:
            agent = session.get(Agent, name)
            if agent is None:
                raise NotFoundError(f"agent {name!r} not found")
            for row in session.scalars(select(AgentSession).where(AgentSession.agent == name)):
                session.delete(row)
            session.delete(agent)

    def agents(self) -> list[dict[str, Any]]:
        with self._sessions() as session:
            rows = session.scalars(select(Agent).order_by(Agent.name))
            return [{"name": a.name, "created_at": iso(a.created_at)} for a in rows]

    def password_hash(self, name: str) -> str | None:
        with self._sessions() as session:
            agent = session.get(Agent, name)
            return agent.password_hash if agent is not None else None

    def set_password_hash(self, name: str, password_hash: str) -> None:
        with self._sessions.begin() as session:
            agent = session.get(Agent, name)
            if agent is None:
                raise NotFoundError(f"agent {name!r} not found")
            agent.password_hash = password_hash

    def new_session(self, agent: str, lifetime: timedelta) -> tuple[str, str]:
        """A session for ``agent``: ``(session token, CSRF token)``."""
        token, csrf = secrets.token_urlsafe(TOKEN_BYTES), secrets.token_urlsafe(TOKEN_BYTES)
        now = self.clock()
        with self._sessions.begin() as session:
            session.add(AgentSession(token_hash=token_hash(token), agent=agent, csrf_token=csrf,
                                     created_at=now, expires_at=now + lifetime))  # fmt: skip
        return token, csrf

    def session_of(self, token: str) -> tuple[str, str] | None:
        """``(agent, CSRF token)`` of a live session; None when unknown or expired."""
        with self._sessions() as session:
            row = session.get(AgentSession, token_hash(token))
            if row is None or _utc(row.expires_at) <= _utc(self.clock()):
                return None
            return row.agent, row.csrf_token

    def end_session(self, token: str) -> None:
        with self._sessions.begin() as session:
            row = session.get(AgentSession, token_hash(token))
            if row is not None:
                session.delete(row)

    # -- customers ----------------------------------------------------------------------------

    def new_customer_conversation(self, language: str | None = None) -> tuple[str, str]:
        """A new, empty conversation (in ``language``, until a message says otherwise) and the
        token that alone gives access to it."""
        conversation_id, token = new_conversation_id(), secrets.token_urlsafe(TOKEN_BYTES)
        with self.store.turn(conversation_id) as turn:
            turn.conversation.language = language
            turn.session.add(CustomerToken(token_hash=token_hash(token),
                                           conversation_id=conversation_id,
                                           created_at=self.clock()))  # fmt: skip
        return conversation_id, token

    def conversation_of_token(self, token: str) -> str | None:
        with self._sessions() as session:
            row = session.get(CustomerToken, token_hash(token))
            return row.conversation_id if row is not None else None

    # -- the queue and one conversation -------------------------------------------------------

    def queue(self, everything: bool = False, limit: int = 200) -> list[dict[str, Any]]:
        """Handed-off conversations, oldest handoff first; ``everything``: every conversation
        with a message, most recently updated first."""
        with self._sessions() as session:
            query = select(Conversation)
            if everything:
                query = query.order_by(Conversation.updated_at.desc())
            else:
                query = query.where(Conversation.state == "handoff").order_by(
                    Conversation.updated_at
                )
            rows = [c for c in session.scalars(query.limit(limit))]
            items = [self._summary(session, c) for c in rows]
            items = [item for item in items if item["messages"] > 0]
            if not everything:
                items.sort(key=lambda item: item["handed_off_at"] or "")
            return items

    def _summary(self, session: Session, conversation: Conversation) -> dict[str, Any]:
        cid = conversation.id
        count = session.scalar(select(func.count()).where(Message.conversation_id == cid)) or 0
        last = session.scalars(
            select(Message).where(Message.conversation_id == cid).order_by(Message.id.desc())
        ).first()
        last_customer = session.scalars(
            select(Message)
            .where(Message.conversation_id == cid, Message.role == "customer")
            .order_by(Message.id.desc())
        ).first()
        handoff = session.scalars(
            select(Handoff)
            .where(Handoff.conversation_id == cid, Handoff.ended_at.is_(None))
            .order_by(Handoff.id.desc())
        ).first()
        return {
            "id": cid,
            "status": self._status(session, conversation),
            "language": conversation.language,
            "assigned_agent": conversation.assigned_agent,
            "handoff_reason": handoff.reason if handoff else None,
            "handed_off_at": iso(handoff.started_at) if handoff else None,
            "customer_message": last_customer.text if last_customer else None,
            "last_message": None
            if last is None
            else {
                "id": last.id,
                "role": last.role,
                "text": last.text,
                "created_at": iso(last.created_at),
            },
            "messages": count,
            "updated_at": iso(conversation.updated_at),
        }

    def _status(self, session: Session, conversation: Conversation) -> str:
        """``waiting`` (handed off, no agent yet), ``assigned``, ``resolved`` or ``bot``."""
        if conversation.state == "handoff":
            return "assigned" if conversation.assigned_agent else "waiting"
        resolved = session.scalars(
            select(Resolution)
            .where(Resolution.conversation_id == conversation.id)
            .order_by(Resolution.id.desc())
        ).first()
        if resolved is not None:
            later = session.scalar(
                select(func.count()).where(
                    Message.conversation_id == conversation.id,
                    Message.role == "customer",
                    Message.id > resolved.last_message_id,
                )
            )
            if not later:
                return "resolved"
        return "bot"

    def status(self, conversation_id: str) -> dict[str, Any]:
        """What the customer may know: the status, the agent who has the conversation, the
        intents of a pending "did you mean"."""
        with self._sessions() as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None:
                raise NotFoundError(f"conversation {conversation_id!r} not found")
            return {"status": self._status(session, conversation),
                    "agent": conversation.assigned_agent,
                    "options": list(conversation.options or [])}  # fmt: skip

    def detail(self, conversation_id: str) -> dict[str, Any]:
        """The conversation for an agent: every message with its decision and scores, and the
        corrections, feedback and FAQ verdicts on it; the handoffs."""
        detail = self.store.conversation(conversation_id)
        ids = [m["id"] for m in detail["messages"]]
        with self._sessions() as session:
            conversation = session.get(Conversation, conversation_id)
            assert conversation is not None
            detail["status"] = self._status(session, conversation)
            detail["assigned_agent"] = conversation.assigned_agent
            corrections = session.scalars(
                select(Correction).where(Correction.message_id.in_(ids)).order_by(Correction.id)
            )
            by_message: dict[int, dict[str, Any]] = {
                i: {"corrections": [], "feedback": [], "faq_verdicts": []} for i in ids
            }
            for c in corrections:
                by_message[c.message_id]["corrections"].append(
                    {"intent": c.intent, "author": c.author, "created_at": iso(c.created_at)}
                )
            for f in session.scalars(
                select(Feedback).where(Feedback.message_id.in_(ids)).order_by(Feedback.id)
            ):
                by_message[f.message_id]["feedback"].append(
                    {"rating": f.rating, "comment": f.comment, "created_at": iso(f.created_at)}
                )
            for v in session.scalars(
                select(FaqVerdict).where(FaqVerdict.message_id.in_(ids)).order_by(FaqVerdict.id)
            ):
                by_message[v.message_id]["faq_verdicts"].append(
                    {
                        "verdict": v.verdict,
                        "faq_id": v.faq_id,
                        "author": v.author,
                        "created_at": iso(v.created_at),
                    }
                )
        for message in detail["messages"]:
            message.update(by_message[message["id"]])
        detail["handoffs"] = self.store.handoffs(conversation_id)
        return detail

    # -- an agent's actions -------------------------------------------------------------------

    def assign(self, conversation_id: str, agent: str) -> None:
        """``agent`` takes the handed-off conversation (the customer sees who joined)."""
        with self.store.turn_of_existing(conversation_id) as turn:
            if turn.conversation.state != "handoff":
                raise ConflictError(f"conversation {conversation_id!r} is not handed off")
            turn.conversation.assigned_agent = agent

    def resolve(self, conversation_id: str, agent: str) -> None:
        """Close the conversation: the handoff (if any) ends, the bot answers a new message."""
        with self.store.turn_of_existing(conversation_id) as turn:
            session, conversation = turn.session, turn.conversation
            if self._status(session, conversation) == "resolved":
                raise ConflictError(f"conversation {conversation_id!r} is resolved already")
            now = self.clock()
            open_handoffs = select(Handoff).where(
                Handoff.conversation_id == conversation_id, Handoff.ended_at.is_(None)
            )
            for handoff in session.scalars(open_handoffs):
                handoff.ended_at, handoff.ended_by = now, agent
            conversation.state, conversation.failed_turns, conversation.options = "bot", 0, []
            conversation.assigned_agent = None
            last = session.scalar(
                select(func.max(Message.id)).where(Message.conversation_id == conversation_id)
            )
            session.add(Resolution(conversation_id=conversation_id, last_message_id=last or 0,
                                   resolved_by=agent, resolved_at=now))  # fmt: skip

    def message(self, message_id: int) -> dict[str, Any]:
        """One message's conversation, role and decision (kind, faq id)."""
        with self._sessions() as session:
            message = session.get(Message, message_id)
            if message is None:
                raise NotFoundError(f"message {message_id} not found")
            decision = session.scalars(
                select(DecisionRow).where(DecisionRow.message_id == message_id)
            ).first()
            faq = (decision.scores or {}).get("faq") if decision is not None else None
            return {
                "conversation_id": message.conversation_id,
                "role": message.role,
                "kind": decision.kind if decision is not None else None,
                "faq_id": faq.get("id") if isinstance(faq, dict) else None,
            }

    def has_feedback(self, message_id: int) -> bool:
        with self._sessions() as session:
            found = session.scalar(select(Feedback.id).where(Feedback.message_id == message_id))
            return found is not None

    def add_faq_verdict(self, message_id: int, verdict: str, author: str) -> int:
        """ "This FAQ answer was right/wrong" on a customer message the bot answered from the
        FAQ."""
        if verdict not in ("right", "wrong"):
            raise InvalidInputError(f"verdict: {verdict!r}; expected 'right' or 'wrong'")
        about = self.message(message_id)
        if about["kind"] != "faq":
            raise ConflictError(f"message {message_id} was not answered from the FAQ")
        with self._sessions.begin() as session:
            row = FaqVerdict(message_id=message_id, faq_id=about["faq_id"], verdict=verdict,
                             author=author, created_at=self.clock())  # fmt: skip
            session.add(row)
            session.flush()
            return row.id


__all__ = ["InboxStore", "token_hash"]
