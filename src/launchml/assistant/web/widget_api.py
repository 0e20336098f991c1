"""The chat widget's routes, ``/widget/v1/...``: public, but each one scoped to one conversation.

A customer's browser starts a conversation and gets a token (256 random bits, only its hash is
stored); every other route needs that token in ``X-Conversation-Token`` and only ever sees
that conversation, and only what a customer may see: the messages and whether a person has
joined, never the assistant's scores. The routes are rate-limited (new conversations per
client address, messages per conversation) and need no API key, so a team's site can embed
the widget even when the server's ``/v1`` API is behind one.

    POST /widget/v1/conversations {"language": "de"}   -> 201 {"token", "conversation"}
    GET  /widget/v1/conversation                       -> the conversation
    POST /widget/v1/messages {"message": "..."}        -> {"kind", "conversation"}
    POST /widget/v1/feedback {"message_id", "rating"}  -> 201 (thumbs up 1 / down -1)
    GET  /widget/v1/events                             -> SSE: "conversation" on every change
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import StreamingResponse

from launchml.assistant.api import MAX_MESSAGE_CHARS, AssistantDep, notify
from launchml.assistant.runtime import Assistant
from launchml.assistant.web.auth import CustomerDep, InboxDep
from launchml.assistant.web.events import sse_response
from launchml.errors import ConflictError, NotFoundError

Language = Field(None, pattern=r"^[a-z]{2}$", description="ISO 639-1, optional")


class StartRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    language: str | None = Language


class MessageRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message_id: int
    rating: Literal[1, -1] = Field(description="1 helpful, -1 not")


def customer_view(assistant: Assistant, inbox: Any, conversation_id: str) -> dict[str, Any]:
    """The conversation as its customer sees it (blocking: run it on a worker thread)."""
    history = assistant.conversation(conversation_id)
    status = inbox.status(conversation_id)
    project = assistant.project
    language = history["language"] or project.lang
    agent = status["agent"]
    messages, answered = [], False
    for m in history["messages"]:
        decision = m["decision"]
        if m["role"] == "customer":
            answered = decision is not None and decision["kind"] in ("answer", "faq")
        messages.append(
            {
                "id": m["id"],
                "role": m["role"],
                "text": m["text"],
                "author": m["author"] if m["role"] == "agent" else None,
                "created_at": m["created_at"],
                # thumbs up/down on the assistant's answers (not on "did you mean", handoff)
                "rateable": m["role"] == "bot" and answered,
            }
        )
    return {
        "status": status["status"],
        "agent": agent,
        "notice": project.message("agent_joined", language).format(agent=agent) if agent else None,
        "language": language,
        "greeting": project.message("greeting", language),
        "messages": messages,
        "options": [
            {"intent": o, "title": assistant.title(o, language)} for o in status["options"]
        ],
    }


def router() -> APIRouter:
    routes = APIRouter(prefix="/widget/v1", tags=["widget"])

    @routes.post("/conversations", status_code=201)
    async def start(
        body: StartRequest, request: Request, assistant: AssistantDep, inbox: InboxDep
    ) -> dict[str, Any]:
        """Start a conversation; the token in the answer is the only way back into it."""
        request.app.state.limits["conversations"].check(_client(request))
        languages = assistant.project.languages
        language = body.language if body.language in languages else None
        cid, token = await run_in_threadpool(inbox.new_customer_conversation, language)
        view = await run_in_threadpool(customer_view, assistant, inbox, cid)
        return {"token": token, "conversation": view}

    @routes.get("/conversation")
    async def conversation(
        cid: CustomerDep, assistant: AssistantDep, inbox: InboxDep
    ) -> dict[str, Any]:
        """The customer's own conversation."""
        return await run_in_threadpool(customer_view, assistant, inbox, cid)

    @routes.post("/messages")
    async def message(
        body: MessageRequest,
        request: Request,
        cid: CustomerDep,
        assistant: AssistantDep,
        inbox: InboxDep,
    ) -> dict[str, Any]:
        """One customer message; the answer holds the bot's reply (none while a person has
        the conversation: the agent's reply arrives on the event stream)."""
        request.app.state.limits["messages"].check(cid)
        reply = await run_in_threadpool(assistant.reply, cid, body.message, None)
        notify(request)
        view = await run_in_threadpool(customer_view, assistant, inbox, cid)
        return {"kind": reply.kind, "conversation": view}

    @routes.post("/feedback", status_code=201)
    async def feedback(
        body: FeedbackRequest,
        request: Request,
        cid: CustomerDep,
        assistant: AssistantDep,
        inbox: InboxDep,
    ) -> dict[str, Any]:
        """Thumbs up (1) or down (-1) on one of the bot's answers, once per answer."""
        request.app.state.limits["messages"].check(cid)
        seen = await run_in_threadpool(customer_view, assistant, inbox, cid)
        found = [m for m in seen["messages"] if m["id"] == body.message_id]
        if not found or found[0]["role"] != "bot":
            raise NotFoundError(f"message_id: no answer {body.message_id} in this conversation")
        if not found[0]["rateable"]:
            raise ConflictError(f"message_id: {body.message_id} is not one of the answers")
        if await run_in_threadpool(inbox.has_feedback, body.message_id):
            raise ConflictError(f"message_id: answer {body.message_id} is rated already")
        await run_in_threadpool(inbox.store.add_feedback, body.message_id, body.rating)
        notify(request)
        return {"message_id": body.message_id, "rating": body.rating}

    @routes.get("/events", response_class=StreamingResponse)
    async def events(
        request: Request, cid: CustomerDep, assistant: AssistantDep, inbox: InboxDep
    ) -> StreamingResponse:
        """Server-Sent Events: ``conversation`` (the same body as GET /conversation) whenever
        it changes, e.g. when an agent joins or replies."""

        async def snapshot() -> dict[str, Any]:
            view = await run_in_threadpool(customer_view, assistant, inbox, cid)
            return {"conversation": view}

        return sse_response(request.app.state.events.stream(request, snapshot))

    return routes


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


__all__ = ["customer_view", "router"]
