"""The app of ``launchml assistant serve``: the server of ``launchml serve`` plus the assistant.

It is :func:`launchml.serve.create_app` (no models of its own): the same settings
(``LAUNCHML_*``), the API key required off loopback, body limits, Prometheus metrics, the
access log and the one JSON error shape. On it, three audiences with three kinds of access:

- ``/v1/chat``, ``/v1/conversations/{id}``: the machine API (:mod:`launchml.assistant.api`)
  for the team's own backend, behind the API key (when one is set: always off loopback).
- ``/`` , ``/widget.js``, ``/widget/v1/*``: the customer's chat widget
  (:mod:`~launchml.assistant.web.widget_api`): public, each call scoped to one conversation by
  the token the server issued for it, rate-limited; other sites may call it when listed in
  ``LAUNCHML_ASSISTANT_WIDGET_ORIGINS`` (CORS, without cookies).
- ``/inbox``, ``/inbox/api/*``: the agents (:mod:`~launchml.assistant.web.inbox_api`), behind
  a login: session cookie and CSRF token; ``/inbox/analytics`` and ``/inbox/api/analytics``
  (:mod:`launchml.assistant.analytics_api`) behind the same login.
- ``POST /admin/reload`` (:mod:`launchml.assistant.admin_api`): switch to another run, with
  the admin key (a key of its own; without one the route answers 403).
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from launchml.assistant import api
from launchml.assistant.admin_api import admin_router
from launchml.assistant.analytics_api import analytics_router
from launchml.assistant.inbox_store import InboxStore
from launchml.assistant.runtime import Assistant
from launchml.assistant.web import inbox_api, pages, widget_api
from launchml.assistant.web.auth import TOKEN_HEADER, current_agent
from launchml.assistant.web.events import Events
from launchml.assistant.web.ratelimit import RateLimiter
from launchml.assistant.web.settings import WebSettings
from launchml.serve import ServeSettings
from launchml.serve import create_app as create_server
from launchml.serve.settings import is_loopback


def create_app(
    assistant: Assistant,
    settings: ServeSettings | None = None,
    web: WebSettings | None = None,
    admin_key: str | None = None,
) -> FastAPI:
    """The assistant's ASGI app.

    Parameters
    ----------
    assistant : a loaded :class:`~launchml.assistant.Assistant` (the caller closes it).
    settings : the server's settings; default: from the ``LAUNCHML_*`` environment.
    web : the widget's and inbox's settings; default: from ``LAUNCHML_ASSISTANT_*``.
    admin_key : the key of ``POST /admin/reload`` (None: the admin routes answer 403).

    Raises
    ------
    InvalidConfigError when the settings bind a non-loopback host without an API key.
    """
    settings = settings if settings is not None else ServeSettings()
    web = web if web is not None else WebSettings()
    app = create_server({}, settings, require_models=False)
    app.title = f"launchml assistant {assistant.name}"
    app.description = (
        "The customer-service assistant: the machine API (/v1, API key), the chat widget's "
        "routes (/widget/v1, a conversation token) and the agent inbox (/inbox/api, login). "
        'Errors are `{"error": {"code", "message", "field"}}`.'
    )
    app.state.assistant = assistant
    app.state.inbox = InboxStore(assistant.store)
    app.state.web = web
    app.state.events = Events(poll_s=web.poll_s, max_s=web.stream_s)
    app.state.secure_cookies = (
        web.secure_cookies if web.secure_cookies is not None else not is_loopback(settings.host)
    )
    app.state.limits = {
        "conversations": RateLimiter(web.conversations_per_minute, web.burst, "new conversations"),
        "messages": RateLimiter(web.messages_per_minute, web.burst, "messages"),
        "login": RateLimiter(web.logins_per_minute, 5, "login attempts"),
        "login_address": RateLimiter(web.logins_per_minute * 6, 30, "login attempts"),
    }
    app.include_router(api.router())
    app.include_router(widget_api.router())
    app.include_router(inbox_api.router())
    app.include_router(analytics_router(current_agent))
    app.state.admin_key = admin_key
    app.include_router(admin_router())
    app.include_router(pages.router())
    if web.widget_origins:
        app.add_middleware(WidgetCors, origins=web.widget_origins)
    return app


class WidgetCors:
    """CORS for the widget's routes only: listed sites may call ``/widget/v1`` (no cookies
    are involved: the conversation token is a header); every other route stays same-origin."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", TOKEN_HEADER],
            allow_credentials=False,
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope.get("path", "")).startswith("/widget/v1/"):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


__all__ = ["create_app"]
