"""Running the app under uvicorn: ``launchml serve``'s engine.

One worker runs the app object in this process; ``workers > 1`` starts uvicorn's worker
processes on the import-string factory :func:`launchml.serve.app.app_from_env`, with the
settings handed over as ``LAUNCHML_*`` environment variables and Prometheus' multiprocess mode
so that ``/metrics`` counts every worker. SIGINT/SIGTERM stop accepting connections, let the
requests in flight finish (up to ``graceful_timeout_s``), then stop the batchers.

Example::

    serve(settings_from(models=["runs/shop"], port=8080))
"""

from __future__ import annotations

import json
import logging
import logging.config
import os
import tempfile
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError

from launchml.errors import DamagedArtifactError, InvalidConfigError, LaunchMLError
from launchml.serve.models import artifact_format, name_models
from launchml.serve.settings import ServeSettings, is_loopback

ENV_PREFIX = "LAUNCHML_"


def settings_from(**flags: Any) -> ServeSettings:
    """:class:`ServeSettings` from the flags that were given (None = not given) over the
    environment; a bad value is one error line naming the flag or the variable."""
    given = {key: value for key, value in flags.items() if value is not None}
    try:
        return ServeSettings(**given)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = str(error["loc"][0]) if error["loc"] else ""
        where = f"--{key.replace('_', '-')}" if key in given else f"{ENV_PREFIX}{key.upper()}"
        raise InvalidConfigError(f"{where if key else 'settings'}: {error['msg']}") from None


def serve(settings: ServeSettings) -> None:
    """Check the settings and the model directories, then serve until interrupted."""
    import uvicorn

    key = settings.check_exposure()
    formats = [artifact_format(Path(path)) for path in settings.models]
    name_models(settings.models, settings.names)
    if settings.device is not None and "run" in formats:  # a GPU that is not there: refuse now
        from launchml.devices import resolve_device

        resolve_device(settings.device, "--device")
    common: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "access_log": False,  # ours is the JSON line of launchml.access
        "log_config": log_config(),
        "timeout_graceful_shutdown": settings.graceful_timeout_s,
    }
    logging.config.dictConfig(log_config())
    _announce(settings, key is not None)
    if settings.workers > 1:
        _serve_workers(settings, common)
        return

    from launchml.serve.app import create_app

    failures: list[BaseException] = []
    server: uvicorn.Server | None = None

    def stop_on_load_error(exc: BaseException) -> None:
        failures.append(exc)
        if server is not None:
            server.should_exit = True

    app = create_app(settings=settings, on_load_error=stop_on_load_error)
    server = uvicorn.Server(uvicorn.Config(app, **common))
    server.run()
    if failures:
        failure = failures[0]
        raise (
            failure
            if isinstance(failure, LaunchMLError)
            else DamagedArtifactError(f"a model failed to load: {failure}")
        )


def _serve_workers(settings: ServeSettings, common: dict[str, Any]) -> None:
    import uvicorn

    with tempfile.TemporaryDirectory(prefix="launchml-metrics-") as metrics_dir:
        os.environ.update(settings_env(settings))
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        uvicorn.run(
            "launchml.serve.app:app_from_env", factory=True, workers=settings.workers, **common
        )


def settings_env(settings: ServeSettings) -> dict[str, str]:
    """The settings as ``LAUNCHML_*`` variables that :class:`ServeSettings` reads back."""
    env = {}
    for key in ServeSettings.model_fields:
        value = getattr(settings, key)
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, list):
            value = json.dumps(value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        env[ENV_PREFIX + key.upper()] = str(value)
    return env


def _announce(settings: ServeSettings, has_key: bool) -> None:
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    url = f"http://{host}:{settings.port}"
    if has_key:
        auth = "required (Authorization: Bearer KEY)"
    else:
        auth = "off: loopback only" if is_loopback(settings.host) else "off"
    logging.getLogger("launchml.serve").info(
        "serving %s at %s (docs %s/docs; API key %s)", ", ".join(settings.models), url, url, auth
    )


def log_config() -> dict[str, Any]:
    """uvicorn's logging plus ours: access lines (JSON) on stdout, the rest on stderr."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"format": "%(levelname)s: %(message)s"},
            "line": {"format": "%(message)s"},
        },
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"},
            "access": {"class": "logging.StreamHandler", "formatter": "line", "stream": "ext://sys.stdout"},
        },
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": "INFO"},
            "launchml.serve": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
            "launchml.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
        },
    }  # fmt: skip


__all__ = ["log_config", "serve", "settings_env", "settings_from"]
