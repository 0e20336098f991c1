"""The agent inbox's routes, ``/inbox/api/...``: behind an agent's login.

Every route but the login needs the session cookie (401 without it); every request that
changes something also needs the session's CSRF token in ``X-CSRF-Token`` (403).

    POST /inbox/api/login {"name", "password"}        -> {"agent", "csrf_token"} + the cookie
    POST /inbox/api/logout                             -> {"agent": null}
    GET  /inbox/api/me                                 -> {"agent", "csrf_token"}
    GET  /inbox/api/intents                            -> the intents an agent can relabel to
    GET  /inbox/api/conversations[?view=all]           -> the queue (handed-off conversations)
    GET  /inbox/api/conversations/{id}                 -> history, decisions, scores, handoffs
    POST /inbox/api/conversations/{id}/take            -> the agent joins (the customer sees it)
    POST /inbox/api/conversations/{id}/reply {"text"}  -> 201, the agent's message
    POST /inbox/api/conversations/{id}/give-back       -> the assistant answers again
    POST /inbox/api/conversations/{id}/resolve         -> closed (a new message reopens it)
    POST /inbox/api/messages/{id}/correction {"intent"}     -> "this should have been X"
    POST /inbox/api/messages/{id}/faq-verdict {"verdict"}   -> "this FAQ answer was right/wrong"
    GET  /inbox/api/events[?conversation=ID]           -> SSE: "queue", "conversation"
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import StreamingResponse

from launchml.assistant.api import ID_PATTERN, MAX_MESSAGE_CHARS, AssistantDep, notify
from launchml.assistant.web.auth import (
    NAME_PATTERN,
    SESSION_COOKIE,
    AgentDep,
    InboxDep,
    check_password,
    hash_password,
    needs_rehash,
)
from launchml.assistant.web.events import sse_response
from launchml.errors import ConflictError, InvalidInputError
from launchml.serve.errors import UnauthorizedError


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class ReplyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)


class CorrectionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    intent: str = Field(min_length=1, max_length=128)


class VerdictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    verdict: Literal["right", "wrong"]


def router() -> APIRouter:
    routes = APIRouter(prefix="/inbox/api", tags=["inbox"])

    @routes.post("/login")
    async def login(
        body: LoginRequest, request: Request, response: Response, inbox: InboxDep
    ) -> dict[str, Any]:
        """Check the name and password; set the session cookie, return the CSRF token."""
        client = request.client.host if request.client else "unknown"
        limits = request.app.state.limits
        limits["login_address"].check(client)
        limits["login"].check(f"{client}|{body.name}")
        stored = await run_in_threadpool(inbox.password_hash, body.name)
        if not await run_in_threadpool(check_password, stored, body.password):
            raise UnauthorizedError("wrong name or password")
        assert stored is not None
        if needs_rehash(stored):  # argon2's recommended parameters changed since it was set
            await run_in_threadpool(
                inbox.set_password_hash, body.name, hash_password(body.password)
            )
        web = request.app.state.web
        lifetime = timedelta(hours=web.session_hours)
        token, csrf = await run_in_threadpool(inbox.new_session, body.name, lifetime)
        response.set_cookie(
            SESSION_COOKIE, token, max_age=int(lifetime.total_seconds()), path="/",
            httponly=True, samesite="strict", secure=request.app.state.secure_cookies,
        )  # fmt: skip
        return {"agent": body.name, "csrf_token": csrf}

    @routes.post("/logout")
    async def logout(
        agent: AgentDep, request: Request, response: Response, inbox: InboxDep
    ) -> dict[str, Any]:
        """End this session (the cookie is cleared too)."""
        await run_in_threadpool(inbox.end_session, request.cookies[SESSION_COOKIE])
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
        return {"agent": None}

    @routes.get("/me")
    async def me(agent: AgentDep) -> dict[str, Any]:
        """Who is logged in, and the CSRF token to send with every change."""
        return {"agent": agent.name, "csrf_token": agent.csrf_token}

    @routes.get("/intents")
    async def intents(_agent: AgentDep, assistant: AssistantDep) -> dict[str, Any]:
        """The intents a message can be relabelled to, with their titles."""
        lang = assistant.project.lang
        return {
            "intents": [
                {"intent": i, "title": assistant.title(i, lang)} for i in assistant.intents.labels
            ]
        }

    @routes.get("/conversations")
    async def queue(
        _agent: AgentDep, inbox: InboxDep, view: Literal["queue", "all"] = "queue"
    ) -> dict[str, Any]:
        """Handed-off conversations, longest waiting first (``view=all``: every
        conversation, most recent first)."""
        return {"conversations": await run_in_threadpool(inbox.queue, view == "all")}

    @routes.get("/conversations/{conversation_id}")
    async def detail(conversation_id: str, _agent: AgentDep, inbox: InboxDep) -> dict[str, Any]:
        """Every message with the assistant's decision and scores, corrections, feedback,
        FAQ verdicts; the handoffs."""
        return await run_in_threadpool(inbox.detail, conversation_id)

    @routes.post("/conversations/{conversation_id}/take")
    async def take(
        conversation_id: str, agent: AgentDep, inbox: InboxDep, request: Request
    ) -> dict[str, Any]:
        """Join a handed-off conversation (the customer's widget says who joined)."""
        await run_in_threadpool(inbox.assign, conversation_id, agent.name)
        notify(request)
        return await run_in_threadpool(_state, inbox, conversation_id)

    @routes.post("/conversations/{conversation_id}/reply", status_code=201)
    async def reply(
        conversation_id: str,
        body: ReplyRequest,
        agent: AgentDep,
        inbox: InboxDep,
        assistant: AssistantDep,
        request: Request,
    ) -> dict[str, Any]:
        """Write to the customer (redacted like every message); joins the conversation."""
        status = await run_in_threadpool(inbox.status, conversation_id)
        if status["status"] not in ("waiting", "assigned"):
            raise ConflictError(
                f"conversation {conversation_id!r} is not handed off (it is {status['status']})"
            )
        if status["agent"] != agent.name:
            await run_in_threadpool(inbox.assign, conversation_id, agent.name)
        message_id = await run_in_threadpool(
            assistant.agent_reply, conversation_id, body.text, agent.name
        )
        notify(request)
        return {"message_id": message_id, **await run_in_threadpool(_state, inbox, conversation_id)}

    @routes.post("/conversations/{conversation_id}/give-back")
    async def give_back(
        conversation_id: str,
        agent: AgentDep,
        inbox: InboxDep,
        assistant: AssistantDep,
        request: Request,
    ) -> dict[str, Any]:
        """End the handoff: the assistant answers this conversation's next message."""
        await run_in_threadpool(assistant.give_back, conversation_id, agent.name)
        notify(request)
        return await run_in_threadpool(_state, inbox, conversation_id)

    @routes.post("/conversations/{conversation_id}/resolve")
    async def resolve(
        conversation_id: str, agent: AgentDep, inbox: InboxDep, request: Request
    ) -> dict[str, Any]:
        """Close the conversation (its handoff ends; a new customer message reopens it)."""
        await run_in_threadpool(inbox.resolve, conversation_id, agent.name)
        notify(request)
        return await run_in_threadpool(_state, inbox, conversation_id)

    @routes.post("/messages/{message_id}/correction", status_code=201)
    async def correction(
        message_id: int,
        body: CorrectionRequest,
        agent: AgentDep,
        inbox: InboxDep,
        assistant: AssistantDep,
        request: Request,
    ) -> dict[str, Any]:
        """ "This should have been intent X" on a customer message (the next retrain's data)."""
        labels = list(assistant.intents.labels)
        if body.intent not in labels:
            raise InvalidInputError(
                f"intent: {body.intent!r} is not an intent of this assistant ({', '.join(labels)})"
            )
        about = await run_in_threadpool(inbox.message, message_id)
        if about["role"] != "customer":
            raise ConflictError(f"message {message_id} is not a customer's message")
        row = await run_in_threadpool(
            inbox.store.add_correction, message_id, body.intent, agent.name
        )
        notify(request)
        return {"id": row, "message_id": message_id, "intent": body.intent, "author": agent.name}

    @routes.post("/messages/{message_id}/faq-verdict", status_code=201)
    async def faq_verdict(
        message_id: int, body: VerdictRequest, agent: AgentDep, inbox: InboxDep, request: Request
    ) -> dict[str, Any]:
        """ "This FAQ answer was right / wrong" on a customer message answered from the FAQ."""
        row = await run_in_threadpool(inbox.add_faq_verdict, message_id, body.verdict, agent.name)
        notify(request)
        return {"id": row, "message_id": message_id, "verdict": body.verdict,
                "author": agent.name}  # fmt: skip

    @routes.get("/events", response_class=StreamingResponse)
    async def events(
        request: Request,
        _agent: AgentDep,
        inbox: InboxDep,
        conversation: str | None = Query(None, pattern=ID_PATTERN),
    ) -> StreamingResponse:
        """Server-Sent Events: ``queue`` (the body of GET /conversations) whenever it changes;
        with ``?conversation=ID`` also ``conversation`` (the body of GET /conversations/ID)."""

        if conversation is not None:  # a 404 now rather than a broken stream
            await run_in_threadpool(inbox.status, conversation)

        async def snapshot() -> dict[str, Any]:
            found = {"queue": {"conversations": await run_in_threadpool(inbox.queue)}}
            if conversation is not None:
                found["conversation"] = await run_in_threadpool(inbox.detail, conversation)
            return found

        return sse_response(request.app.state.events.stream(request, snapshot))

    return routes


def _state(inbox: Any, conversation_id: str) -> dict[str, Any]:
    status = inbox.status(conversation_id)
    return {"conversation_id": conversation_id, "status": status["status"],
            "assigned_agent": status["agent"]}  # fmt: skip


def valid_agent_name(name: str) -> str:
    import re

    if not re.match(NAME_PATTERN, name):
        raise InvalidInputError(
            f"agent name {name!r}: use 1-64 letters, digits and . _ @ - (starting with a letter "
            "or digit)"
        )
    return name


__all__ = ["router", "valid_agent_name"]
