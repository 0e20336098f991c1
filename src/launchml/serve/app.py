"""The FastAPI app: settings, models loaded in the lifespan, one router per resource.

Example::

    from launchml.serve import ServeSettings, create_app
    app = create_app(["runs/shop"], ServeSettings(max_wait_ms=1))   # run it with uvicorn
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

import launchml
from launchml.serve.errors import install_error_handlers
from launchml.serve.middleware import AccessLogMiddleware, BodyLimitMiddleware
from launchml.serve.models import ModelSource, name_models
from launchml.serve.routers import explain, ops, predict
from launchml.serve.routers import models as models_router
from launchml.serve.settings import ServeSettings
from launchml.serve.state import ServerState


def create_app(
    models: Sequence[ModelSource] | Mapping[str, ModelSource] | None = None,
    settings: ServeSettings | None = None,
    on_load_error: Callable[[BaseException], None] | None = None,
    load_before_serving: bool = False,
    require_models: bool = True,
) -> FastAPI:
    """An ASGI app that serves ``models`` over HTTP (``/v1/models/{name}/predict``, ...).

    Parameters
    ----------
    models : run or bundle directories, loaded :class:`~launchml.inference.Predictor` objects,
        or a ``{name: either}`` mapping; default ``settings.models``. A model's name is its
        mapping key, else ``settings.names`` (in order), else the Predictor's ``name`` or the
        directory's name.
    settings : a :class:`ServeSettings`; default: from the ``LAUNCHML_*`` environment.
    on_load_error : called with the exception when a model fails to load in the lifespan.
    load_before_serving : finish loading before the server accepts connections, instead of
        answering ``/healthz`` (and 503 elsewhere) meanwhile. Worker processes sharing one port
        use it, so that a connection never lands on a worker that is still loading.
    require_models : refuse to create an app without models; off for an app that adds routes
        of its own on this server (``launchml assistant serve``).

    Returns
    -------
    A FastAPI app. Its lifespan loads the models and starts their batchers: run it with uvicorn,
    or, mounted in another app, enter ``app.router.lifespan_context(app)`` from that app's
    lifespan (``examples/embed_serve.py``).

    Raises
    ------
    InvalidConfigError when the settings bind a non-loopback host without an API key.
    """
    settings = settings if settings is not None else ServeSettings()
    api_key = settings.check_exposure()
    chosen = models if models is not None else settings.models
    sources = name_models(chosen, names=settings.names) if chosen or require_models else {}
    state = ServerState(settings, sources, api_key, on_load_error)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Predictor objects are ready at once; directories load while /healthz already answers
        in_memory = not any(isinstance(s, str | Path) for s in sources.values())
        loading = asyncio.create_task(state.load())
        if in_memory or load_before_serving:
            await loading
        try:
            yield
        finally:
            if not loading.done():
                loading.cancel()
            await state.close()

    # FastAPIOffline: FastAPI whose /docs and /redoc pages use the Swagger UI and ReDoc files
    # shipped in the package instead of a CDN (launchml works offline)
    app = FastAPIOffline(
        title="launchml",
        version=launchml.__version__,
        description="Predictions from launchml runs and bundles. Errors are "
        '`{"error": {"code", "message", "field"}}`.',
        lifespan=lifespan,
    )
    app.state.launchml = state
    app.openapi = lambda: _openapi_with_model_names(app, list(sources))  # type: ignore[method-assign]
    install_error_handlers(app)
    app.include_router(predict.router)
    app.include_router(explain.router)
    app.include_router(models_router.router)
    app.include_router(ops.router)
    # added last = outermost: the access log sees every answer, the 413 of the body limit too
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(AccessLogMiddleware, metrics=state.metrics, enabled=settings.access_log)
    return app


def _openapi_with_model_names(app: FastAPI, names: list[str]) -> dict[str, Any]:
    """The OpenAPI schema, with the served model names as the choices of ``{name}`` (so that
    /docs offers them and schema-driven clients send real ones)."""
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi

        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        for item in schema.get("paths", {}).values():
            for operation in item.values():
                for parameter in operation.get("parameters", []):
                    if parameter.get("in") == "path" and parameter.get("name") == "name":
                        parameter["schema"]["enum"] = names
        app.openapi_schema = schema
    return app.openapi_schema


def app_from_env() -> FastAPI:
    """The app for ``uvicorn --factory launchml.serve.app:app_from_env``: everything from the
    ``LAUNCHML_*`` environment (how ``launchml serve --workers N`` starts each worker)."""
    return create_app(load_before_serving=True)


__all__ = ["app_from_env", "create_app"]
