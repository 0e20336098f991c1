"""Two plain ASGI middlewares: the body-size limit, and the access log with request metrics.

Plain ASGI (not ``BaseHTTPMiddleware``) so that a request body is never buffered twice and the
limit holds for chunked uploads too: the byte count is checked on the ``Content-Length`` header
first and then on every chunk as the app reads it.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from launchml.serve.errors import INTERNAL_MESSAGE, TooLargeError, error_body
from launchml.serve.metrics import ServeMetrics

access_log = logging.getLogger("launchml.access")
log = logging.getLogger("launchml.serve")


class BodyLimitMiddleware:
    """Answer 413 to a body over ``max_bytes`` (``{"error": {"field": "body", ...}}``)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            error = self._error()
            await _send_json(send, 413, error_body(error.code, str(error), "body", self.max_bytes))
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise self._error()
            return message

        await self.app(scope, limited_receive, send)

    def _error(self) -> TooLargeError:
        return TooLargeError(
            f"the request body is larger than {self.max_bytes} bytes (max_body_bytes)",
            field="body",
            limit=self.max_bytes,
        )


class AccessLogMiddleware:
    """One JSON line per request on ``launchml.access``; request counts and latency metrics.

    It is the outermost layer, so it also turns an exception that escaped everything else into
    a generic JSON 500 (the traceback goes to the server log only).
    """

    def __init__(self, app: ASGIApp, metrics: ServeMetrics, enabled: bool = True) -> None:
        self.app = app
        self.metrics = metrics
        self.enabled = enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        response_started = False

        async def recording_send(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = int(message["status"])
                response_started = True
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        except Exception:
            log.exception("unhandled error in %s %s", scope.get("method"), scope.get("path"))
            status = 500
            if not response_started:
                await _send_json(send, 500, error_body("internal", INTERNAL_MESSAGE))
        finally:
            seconds = time.perf_counter() - started
            route = _route_template(scope)
            method = str(scope.get("method", ""))
            self.metrics.requests.labels(route, method, str(status)).inc()
            self.metrics.latency.labels(route).observe(seconds)
            if self.enabled:
                access_log.info(
                    json.dumps(
                        {
                            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                            "client": _client(scope),
                            "method": method,
                            "path": scope.get("path", ""),
                            "route": route,
                            "status": status,
                            "ms": round(seconds * 1000, 3),
                        },
                        ensure_ascii=False,
                    )
                )


def _route_template(scope: Scope) -> str:
    # the route's template (/v1/models/{name}/predict), not the raw path, keeps the metric's
    # label set small whatever clients send
    route = scope.get("route")
    path = getattr(route, "path", None)
    return (scope.get("root_path", "") + path) if isinstance(path, str) else "unmatched"


def _client(scope: Scope) -> str | None:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def _send_json(send: Send, status: int, body: Any) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


__all__ = ["AccessLogMiddleware", "BodyLimitMiddleware"]
