"""Every error the server answers with is one JSON shape; no stack trace ever leaves it.

``{"error": {"code": "too_large", "message": "...", "field": "texts[3]", "limit": 10000}}``:
``code`` is machine-readable (:mod:`launchml.errors`' codes plus the HTTP ones below),
``message`` one sentence for a person, ``field`` the request field at fault (or null) and
``limit`` the limit that was exceeded (only on limit errors). Unexpected exceptions answer 500
with a generic message and are logged with their traceback on the server.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from launchml.errors import InvalidInputError, LaunchMLError, NotFoundError

log = logging.getLogger("launchml.serve")

INTERNAL_MESSAGE = "internal server error; the server log has the details"
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    503: "unavailable",
}


class ServeError(LaunchMLError):
    """An error about one request, naming the field at fault and the limit it broke."""

    def __init__(
        self,
        message: str,
        field: str | None = None,
        limit: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.field = field
        self.limit = limit
        self.headers = headers


class InvalidRequestError(ServeError, InvalidInputError):
    """The request's content cannot be used (422)."""


class ModelNotFoundError(ServeError, NotFoundError):
    """No model of that name is served (404)."""


class LimitError(ServeError):
    """Too many inputs or too long a text (422), with the limit."""

    http_status = 422
    code = "too_large"


class TooLargeError(ServeError):
    """A body or an image over its byte limit (413)."""

    http_status = 413
    code = "too_large"


class UnsupportedMediaError(ServeError):
    http_status = 415
    code = "unsupported_media_type"


class NotExplainableError(ServeError):
    """The model cannot be explained (an exported bundle has no gradients): 422."""

    http_status = 422
    code = "not_explainable"


class UnauthorizedError(ServeError):
    http_status = 401
    code = "unauthorized"


class NotReadyError(ServeError):
    """The models are still loading (or failed to load)."""

    http_status = 503
    code = "not_ready"


class OverloadedError(ServeError):
    """The model's queue is full: the client should retry later."""

    http_status = 503
    code = "overloaded"


def error_body(
    code: str, message: str, field: str | None = None, limit: int | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message, "field": field}
    if limit is not None:
        error["limit"] = limit
    return {"error": error}


def error_response(exc: LaunchMLError) -> JSONResponse:
    """The JSON answer for a user-facing error."""
    field = getattr(exc, "field", None)
    limit = getattr(exc, "limit", None)
    headers = getattr(exc, "headers", None)
    return JSONResponse(
        error_body(exc.code, str(exc), field, limit), exc.http_status, headers=headers
    )


def validation_error_response(errors: list[Any], where: str = "") -> JSONResponse:
    """A 422 for pydantic/FastAPI validation errors: the first field and every message."""
    parts, fields = [], []
    for error in errors:
        loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "path", "query")]
        field = _dotted(loc)
        fields.append(field)
        parts.append(f"{field}: {error.get('msg', 'invalid')}" if field else error.get("msg", ""))
    message = "; ".join(parts) or "invalid request"
    return JSONResponse(
        error_body("invalid_input", where + message, fields[0] if fields else None), 422
    )


def _dotted(loc: list[str]) -> str | None:
    text = ""
    for part in loc:
        text += f"[{part}]" if part.isdigit() else (f".{part}" if text else part)
    return text or None


def install_error_handlers(app: FastAPI) -> None:
    """Map every error the app can raise to the one JSON shape."""

    async def launchml_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, LaunchMLError)
        if exc.http_status >= 500 and not isinstance(exc, ServeError):
            log.error("request failed: %s", exc)
        return error_response(exc)

    async def request_validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError | ValidationError)
        return validation_error_response(list(exc.errors()))

    async def http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        code = HTTP_CODES.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        if exc.status_code == 404 and message == "Not Found":
            message = "no such path; see /docs for the endpoints"
        return JSONResponse(error_body(code, message), exc.status_code, headers=exc.headers)

    app.add_exception_handler(LaunchMLError, launchml_error)
    app.add_exception_handler(RequestValidationError, request_validation)
    app.add_exception_handler(ValidationError, request_validation)
    app.add_exception_handler(HTTPException, http_error)


__all__ = [
    "INTERNAL_MESSAGE",
    "InvalidRequestError",
    "LimitError",
    "ModelNotFoundError",
    "NotExplainableError",
    "NotReadyError",
    "OverloadedError",
    "ServeError",
    "TooLargeError",
    "UnauthorizedError",
    "UnsupportedMediaError",
    "error_body",
    "install_error_handlers",
]
