"""FastAPI dependencies: the app's state, its settings, the API key check, a model by name.

Routes take them as ``Annotated`` aliases (``state: StateDep``); tests swap any of them with
``app.dependency_overrides``. They are all ``async def``: FastAPI runs a plain ``def``
dependency on its thread pool, and those thread hops were most of the server's own CPU time per
request.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Path, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from launchml.serve.errors import ModelNotFoundError, NotReadyError, UnauthorizedError
from launchml.serve.models import NAME_PATTERN
from launchml.serve.settings import ServeSettings
from launchml.serve.state import LoadedModel, ServerState


async def get_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.launchml
    return state


StateDep = Annotated[ServerState, Depends(get_state)]


async def get_settings(state: StateDep) -> ServeSettings:
    return state.settings


SettingsDep = Annotated[ServeSettings, Depends(get_settings)]


# Declared (auto_error off: the check below decides) so that OpenAPI and /docs show the two
# ways to send the key, with an Authorize button.
_header_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="the API key")
_bearer_key = HTTPBearer(auto_error=False, description="Authorization: Bearer KEY")


async def require_api_key(
    state: StateDep,
    header: Annotated[str | None, Security(_header_key)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer_key)],
) -> None:
    """Pass when no key is configured, or the request carries it (constant-time comparison)."""
    if state.api_key is None:
        return
    given = header or (bearer.credentials.strip() if bearer is not None else None) or None
    if given is None or not hmac.compare_digest(given.encode(), state.api_key.encode()):
        raise UnauthorizedError(
            "missing or wrong API key; send 'Authorization: Bearer KEY' or 'X-API-Key: KEY'"
            if given is None
            else "wrong API key",
            headers={"WWW-Authenticate": "Bearer"},
        )


ApiKeyDep = Depends(require_api_key)


async def get_model(
    state: StateDep,
    name: Annotated[str, Path(description="the model's name (GET /v1/models lists them)")],
) -> LoadedModel:
    if state.status != "ready":
        raise NotReadyError(
            "the models failed to load; see GET /readyz"
            if state.status == "failed"
            else "the models are still loading; retry when GET /readyz says ready"
        )
    model = state.models.get(name)
    if model is None:
        shown = name if NAME_PATTERN.match(name) else "that name"
        raise ModelNotFoundError(
            f"no model named {shown!r}; served: {', '.join(state.models)}", field="name"
        )
    return model


ModelDep = Annotated[LoadedModel, Depends(get_model)]


__all__ = ["ApiKeyDep", "ModelDep", "SettingsDep", "StateDep", "get_model", "require_api_key"]
