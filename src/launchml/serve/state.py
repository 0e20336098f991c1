"""What one app holds while it runs: settings, the API key, metrics, and the loaded models.

Models given as paths load in the app's lifespan on a worker thread, so that ``/healthz``
answers at once and ``/readyz`` turns ready when every model is loaded; Predictor objects are
ready as they are. Each loaded model gets its :class:`DynamicBatcher`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal

from launchml.errors import LaunchMLError
from launchml.inference import Predictor
from launchml.serve.batching import DynamicBatcher
from launchml.serve.metrics import ServeMetrics
from launchml.serve.models import ModelSource, load_predictor, set_model_threads
from launchml.serve.settings import ServeSettings

log = logging.getLogger("launchml.serve")

Status = Literal["loading", "ready", "failed"]


@dataclass
class LoadedModel:
    name: str
    predictor: Predictor
    batcher: DynamicBatcher
    info: dict[str, Any]


class ServerState:
    """The app's models and their status; ``app.state.launchml`` holds one."""

    def __init__(
        self,
        settings: ServeSettings,
        sources: dict[str, ModelSource],
        api_key: str | None,
        on_load_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.settings = settings
        self.sources = sources
        self.api_key = api_key
        self.metrics = ServeMetrics()
        self.models: dict[str, LoadedModel] = {}
        self.status: Status = "loading"
        self.error: str | None = None
        self.on_load_error = on_load_error

    async def load(self) -> None:
        """Load every model (paths on a worker thread), start their batchers, turn ready."""
        try:
            for name, source in self.sources.items():
                if isinstance(source, str | Path):
                    log.info("loading %s from %s", name, source)
                    predictor = await asyncio.to_thread(
                        load_predictor, source, self.settings.threads, self.settings.device
                    )
                else:
                    predictor = source
                self._add(name, predictor)
        except Exception as exc:
            self.status = "failed"
            self.error = str(exc) if isinstance(exc, LaunchMLError) else "a model failed to load"
            log.error(
                "loading the models failed: %s", exc, exc_info=not isinstance(exc, LaunchMLError)
            )
            if self.on_load_error is not None:
                self.on_load_error(exc)
            return
        self.status = "ready"
        log.info("ready: %s", ", ".join(self.models))

    def _add(self, name: str, predictor: Predictor) -> None:
        settings = self.settings
        batcher = DynamicBatcher(
            predictor,
            name,
            max_batch_size=settings.max_batch_size,
            max_wait_ms=settings.max_wait_ms,
            max_queue=settings.max_queue,
            max_queue_wait_s=settings.max_queue_wait_s,
            thread_setup=partial(set_model_threads, settings.threads),
            metrics=self.metrics,
        )
        batcher.start()
        info = {**predictor.describe(), "name": name}
        shape = predictor.input_shape
        info["input_shape"] = list(shape) if shape is not None else None
        self.models[name] = LoadedModel(name, predictor, batcher, info)

    async def close(self) -> None:
        """Finish queued requests and stop every batcher."""
        for model in self.models.values():
            await model.batcher.stop()
        self.models.clear()
        self.status = "loading"


__all__ = ["LoadedModel", "ServerState"]
