"""The assistant's machine API: ``POST /v1/chat`` and ``GET /v1/conversations/{id}``.

One :class:`fastapi.APIRouter` (:func:`router`), mounted by
:func:`launchml.assistant.web.create_app` on the server of ``launchml serve``: it shares that
server's API key (required off loopback), body limits, metrics and its one JSON error shape::

    {"error": {"code": "not_found", "message": "conversation 'x' not found", "field": null}}

The routes read the assistant from ``app.state.assistant``. A customer's browser never calls
them (the widget has routes of its own, scoped to one conversation): with an API key these are
for the team's own backend.

Example::

    # POST /v1/chat {"conversation_id": "c1", "message": "where is my parcel?"}
    # -> {"conversation_id": "c1", "reply": "You can follow ...", "kind": "answer", ...}
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from launchml.assistant.runtime import Assistant
from launchml.serve.deps import ApiKeyDep

ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
MAX_MESSAGE_CHARS = 4000


class ChatRequest(BaseModel):
    """One customer message; no ``conversation_id`` starts a new conversation."""

    model_config = ConfigDict(extra="forbid")

    conversation_id: str | None = Field(None, pattern=ID_PATTERN)
    message: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)
    language: str | None = Field(None, pattern=r"^[a-z]{2}$", description="ISO 639-1, optional")


class Candidate(BaseModel):
    intent: str
    confidence: float


class FaqHit(BaseModel):
    id: int
    question: str
    similarity: float


class ChatResponse(BaseModel):
    conversation_id: str
    message_id: int
    reply: str | None = Field(description="null while a person has the conversation")
    kind: Literal["answer", "faq", "clarify", "handoff"]
    reason: str
    intent: str | None
    confidence: float | None
    language: str
    candidates: list[Candidate]
    options: list[str]
    faq: FaqHit | None
    handed_off: bool


async def get_assistant(request: Request) -> Assistant:
    assistant: Assistant = request.app.state.assistant
    return assistant


AssistantDep = Annotated[Assistant, Depends(get_assistant)]


def notify(request: Request) -> None:
    """Wake the live streams (widget, inbox) after a write, when the app has them."""
    events = getattr(request.app.state, "events", None)
    if events is not None:
        events.notify()


def router() -> APIRouter:
    """The assistant's machine routes, behind the server's API key."""
    routes = APIRouter(prefix="/v1", tags=["assistant"], dependencies=[ApiKeyDep])

    @routes.post("/chat", response_model=ChatResponse)
    async def chat(body: ChatRequest, assistant: AssistantDep, request: Request) -> dict[str, Any]:
        """Answer one customer message and record it (redacted) in the conversation."""
        reply = await run_in_threadpool(
            assistant.reply, body.conversation_id, body.message, body.language
        )
        notify(request)
        return reply.to_json()

    @routes.get("/conversations/{conversation_id}")
    async def conversation(conversation_id: str, assistant: AssistantDep) -> dict[str, Any]:
        """The conversation's (redacted) messages, oldest first, with each decision."""
        return await run_in_threadpool(assistant.conversation, conversation_id)

    return routes


__all__ = ["ChatRequest", "ChatResponse", "router"]
