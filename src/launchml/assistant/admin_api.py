"""``POST /admin/reload``: switch the server to another assistant run without downtime.

The admin key is a setting of its own, separate from the API key (a client allowed to chat must
not be able to swap the model): ``LAUNCHML_ADMIN_KEY`` or ``--admin-key-file FILE`` (its first
line; see :class:`AdminSettings`). The app holds it in ``app.state.admin_key``; without one the
admin routes answer 403 (disabled), and a request without the right key 401::

    app.state.admin_key = AdminSettings().resolved_admin_key()   # None: admin routes off
    app.include_router(admin_router())

    POST /admin/reload  {"run": "runs/shop-assistant-2"}    # or no body: reload the same run
    Authorization: Bearer ADMIN_KEY                          # or X-Admin-Key: ADMIN_KEY

The new run is loaded completely (files verified against its manifest, models read, one message
scored) on a worker thread while the old one keeps answering; only then is
``app.state.assistant`` replaced, in one assignment. Requests that started before keep the
assistant they were given and finish on it; the new one takes over the old one's conversation
store and per-conversation locks, so conversations carry on where they were. A run that fails to
load is refused with a JSON error and the old one keeps serving.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from launchml.errors import InvalidConfigError, LaunchMLError, NotFoundError

log = logging.getLogger("launchml.assistant")
MIN_KEY_CHARS = 16


class AdminSettings(BaseSettings):
    """The admin key: ``admin_key`` (``LAUNCHML_ADMIN_KEY``) or ``admin_key_file``
    (``LAUNCHML_ADMIN_KEY_FILE``, ``--admin-key-file``: its first line)."""

    model_config = SettingsConfigDict(env_prefix="LAUNCHML_", extra="ignore")

    admin_key: SecretStr | None = Field(None, description="the admin key itself")
    admin_key_file: Path | None = Field(None, description="a file whose first line is the key")

    def resolved_admin_key(self) -> str | None:
        """The key, or None when neither setting is given (the admin routes are then off)."""
        if self.admin_key is not None:
            key, source = self.admin_key.get_secret_value().strip(), "LAUNCHML_ADMIN_KEY"
        elif self.admin_key_file is not None:
            if not self.admin_key_file.is_file():
                raise NotFoundError(f"{self.admin_key_file}: admin key file not found")
            lines = self.admin_key_file.read_text(encoding="utf-8").splitlines()
            key, source = (lines[0].strip() if lines else ""), str(self.admin_key_file)
        else:
            return None
        if len(key) < MIN_KEY_CHARS:
            raise InvalidConfigError(
                f"{source}: the admin key is {len(key)} characters; use at least {MIN_KEY_CHARS} "
                "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        return key


class AdminUnauthorizedError(LaunchMLError):
    http_status = 401
    code = "unauthorized"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.headers = {"WWW-Authenticate": "Bearer"}


class AdminDisabledError(LaunchMLError):
    http_status = 403
    code = "forbidden"


class ReloadRefusedError(LaunchMLError):
    """The new run could not be loaded; the old one is still serving."""

    http_status = 422
    code = "reload_refused"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.field = "run"


class ReloadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    run: str | None = Field(
        None, min_length=1, max_length=4096,
        description="the assistant run directory to serve (default: the one served now)",
    )  # fmt: skip


def require_admin_key(request: Request) -> None:
    """Pass when the request carries ``app.state.admin_key`` (constant-time comparison)."""
    key: str | None = getattr(request.app.state, "admin_key", None)
    if key is None:
        raise AdminDisabledError(
            "the admin API is off; start the server with --admin-key-file FILE or "
            "LAUNCHML_ADMIN_KEY to use it"
        )
    given = request.headers.get("x-admin-key")
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if not given and scheme.lower() == "bearer":
        given = token.strip()
    if not given:
        raise AdminUnauthorizedError(
            "missing admin key; send 'X-Admin-Key: KEY' or 'Authorization: Bearer KEY'"
        )
    if not hmac.compare_digest(given.encode(), key.encode()):
        raise AdminUnauthorizedError("wrong admin key")


def load_ready(path: Path, store_url: str | None) -> Any:
    """An assistant loaded from ``path`` and proven to answer (one message scored)."""
    from launchml.assistant.runtime import Assistant

    assistant = Assistant.load(path, store_url=store_url)
    assistant.score(["hello"])
    return assistant


def admin_router() -> APIRouter:
    """``POST /admin/reload`` (see the module docstring); reads ``app.state.admin_key`` and
    swaps ``app.state.assistant``."""
    routes = APIRouter(tags=["admin"])
    guard = asyncio.Lock()  # one reload at a time

    @routes.post("/admin/reload")
    async def reload(
        request: Request,
        body: Annotated[ReloadRequest | None, Body()] = None,
    ) -> dict[str, Any]:
        """Load an assistant run completely, then serve it instead of the current one."""
        require_admin_key(request)
        async with guard:
            old = request.app.state.assistant
            path = Path(body.run) if body is not None and body.run else Path(old.path)
            try:
                new = await asyncio.to_thread(load_ready, path, old.store_url)
            except LaunchMLError as exc:
                raise ReloadRefusedError(
                    f"{path}: not loaded ({exc}); still serving {old.path}"
                ) from None
            except Exception:
                log.exception("reloading %s failed", path)
                raise ReloadRefusedError(
                    f"{path}: not loaded (an unexpected error; see the server log); still "
                    f"serving {old.path}"
                ) from None
            new.take_over(old)
            request.app.state.assistant = new  # one assignment: every new request sees it
        log.info("reloaded: now serving %s (was %s)", new.path, old.path)
        evaluation = getattr(new, "evaluation", {}) or {}
        return {
            "status": "reloaded",
            "run": str(new.path),
            "name": new.name,
            "previous": str(old.path),
            "intent_accuracy": (evaluation.get("intent") or {}).get("accuracy"),
        }

    return routes


__all__ = ["AdminSettings", "admin_router", "require_admin_key"]
