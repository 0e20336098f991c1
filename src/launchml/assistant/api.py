"""The assistant over HTTP: ``POST /v1/chat`` and ``GET /v1/conversations/{id}``.

The routes are one :class:`fastapi.APIRouter` (:func:`router`) so that they can be mounted on
any app; :func:`create_app` is a small app of their own with the same rules as ``launchml
serve``: an API key is required when the server listens beyond loopback, request bodies and
messages have size limits, and every error is one JSON shape::

    {"error": {"code": "not_found", "message": "conversation 'x' not found", "field": null}}

Example::

    app = create_app(Assistant.load("runs/shop-assistant"))
    # POST /v1/chat {"conversation_id": "c1", "message": "where is my parcel?"}
    # -> {"conversation_id": "c1", "reply": "You can follow ...", "kind": "answer", ...}
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from launchml.assistant.runtime import Assistant
from launchml.errors import LaunchMLError

ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
MAX_MESSAGE_CHARS = 4000
MAX_BODY_BYTES = 64 * 1024


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


class ApiError(LaunchMLError):
    """An error about a request, naming the field at fault."""

    def __init__(self, message: str, status: int, code: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.error_code, self.field = status, code, field


def get_assistant(request: Request) -> Assistant:
    assistant: Assistant = request.app.state.assistant
    return assistant


AssistantDep = Annotated[Assistant, Depends(get_assistant)]


def require_api_key(request: Request) -> None:
    """Pass when the app has no key, or the request carries it (constant-time comparison)."""
    key: str | None = request.app.state.api_key
    if key is None:
        return
    given = request.headers.get("x-api-key")
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if not given and scheme.lower() == "bearer":
        given = token.strip()
    if not given or not hmac.compare_digest(given.encode(), key.encode()):
        raise ApiError(
            "missing or wrong API key; send 'Authorization: Bearer KEY'", 401, "unauthorized"
        )


def router() -> APIRouter:
    """The assistant's routes (they read the assistant from ``app.state.assistant``)."""
    routes = APIRouter(prefix="/v1", tags=["assistant"], dependencies=[Depends(require_api_key)])

    @routes.post("/chat", response_model=ChatResponse)
    def chat(body: ChatRequest, assistant: AssistantDep) -> dict[str, Any]:
        """Answer one customer message and record it (redacted) in the conversation."""
        reply = assistant.reply(body.conversation_id, body.message, body.language)
        return reply.to_json()

    @routes.get("/conversations/{conversation_id}")
    def conversation(conversation_id: str, assistant: AssistantDep) -> dict[str, Any]:
        """The conversation's (redacted) messages, oldest first, with each decision."""
        return assistant.conversation(conversation_id)

    return routes


def error_body(message: str, code: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}}


def add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LaunchMLError)
    async def _launchml(_request: Request, exc: LaunchMLError) -> JSONResponse:
        if isinstance(exc, ApiError):
            return JSONResponse(error_body(str(exc), exc.error_code, exc.field), exc.status)
        return JSONResponse(error_body(str(exc), exc.code), exc.http_status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        loc = [str(p) for p in first["loc"] if p != "body"]
        field = ".".join(loc) or None
        message = f"{field}: {first['msg']}" if field else first["msg"]
        return JSONResponse(error_body(message, "invalid_input", field), 422)


def create_app(assistant: Assistant, api_key: str | None = None) -> FastAPI:
    """A FastAPI app serving ``assistant``; ``api_key`` protects every route when set."""
    app = FastAPI(title=f"launchml assistant {assistant.name}", version="1")
    app.state.assistant = assistant
    app.state.api_key = api_key
    add_error_handlers(app)

    @app.middleware("http")
    async def limit_body(request: Request, call_next: Any) -> Any:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
            return JSONResponse(
                error_body(f"request body over {MAX_BODY_BYTES} bytes", "too_large"), 413
            )
        return await call_next(request)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(router())
    return app


__all__ = ["ChatRequest", "ChatResponse", "create_app", "router"]
