"""Running the assistant's app under uvicorn: ``launchml assistant serve``'s engine.

One process (``workers`` must be 1): the rate limits live in its memory, and its live streams
are woken by its own writes (they also poll the store, so a second server on the same
PostgreSQL store is seen too, a few seconds late). A chat body is small, so the body limit
defaults to 64 KiB here unless ``LAUNCHML_MAX_BODY_BYTES`` says otherwise.

Example::

    serve_assistant("runs/shop-assistant", settings_from(port=8080))
"""

from __future__ import annotations

import logging
import logging.config
from pathlib import Path
from typing import Any

import uvicorn

from launchml.assistant.admin_api import AdminSettings
from launchml.assistant.web.events import Events
from launchml.errors import InvalidConfigError
from launchml.serve.server import log_config
from launchml.serve.settings import ServeSettings, is_loopback

CHAT_BODY_BYTES = 64 * 1024


def assistant_settings(settings: ServeSettings) -> ServeSettings:
    """``settings`` with the assistant's defaults for what they leave unset."""
    if settings.workers != 1:
        raise InvalidConfigError(
            f"LAUNCHML_WORKERS={settings.workers}: launchml assistant serve runs one process "
            "(run more servers on one PostgreSQL store instead)"
        )
    if "max_body_bytes" not in settings.model_fields_set:
        settings = settings.model_copy(update={"max_body_bytes": CHAT_BODY_BYTES})
    return settings


def serve_assistant(
    run: str | Path,
    settings: ServeSettings,
    store_url: str | None,
    admin: AdminSettings | None = None,
) -> None:
    """Load the assistant run and serve it until interrupted."""
    from launchml.assistant.runtime import Assistant
    from launchml.assistant.web.app import create_app

    settings = assistant_settings(settings)
    key = settings.check_exposure()  # before the (slow) load
    admin_key = (admin or AdminSettings()).resolved_admin_key()
    assistant = Assistant.load(run, store_url=store_url)
    try:
        app = create_app(assistant, settings, admin_key=admin_key)
        logging.config.dictConfig(log_config())
        host = f"[{settings.host}]" if ":" in settings.host else settings.host
        url = f"http://{host}:{settings.port}"
        auth = (
            "required" if key else ("off: loopback only" if is_loopback(settings.host) else "off")
        )
        logging.getLogger("launchml.serve").info(
            "serving %s: widget %s/, inbox %s/inbox, API %s/v1/chat (API key %s)",
            assistant.name, url, url, url, auth,
        )  # fmt: skip
        config = uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            access_log=False,
            log_config=log_config(),
            timeout_graceful_shutdown=int(settings.graceful_timeout_s),
        )
        StreamingServer(config, app.state.events).run()
    finally:
        assistant.close()


class StreamingServer(uvicorn.Server):
    """uvicorn, ending the live streams when asked to stop: otherwise a graceful shutdown
    would wait for every open widget and inbox page (their streams never end by themselves)."""

    def __init__(self, config: uvicorn.Config, events: Events) -> None:
        super().__init__(config)
        self.events = events

    def handle_exit(self, sig: int, frame: Any) -> None:
        self.events.close()
        super().handle_exit(sig, frame)


__all__ = ["StreamingServer", "assistant_settings", "serve_assistant"]
