"""Dynamic batching: concurrent requests to one model share one model call.

Each model has one :class:`DynamicBatcher`: requests queue their inputs and await a future; a
single task takes the oldest request and adds the requests behind it, in order, until the batch
holds ``max_batch_size`` inputs or the oldest request has waited ``max_wait_ms``, then runs the
model on a worker thread (the event loop keeps accepting requests meanwhile) and hands each
request its rows. While one batch computes, new requests queue up and leave together as soon as
it ends, so under load batches grow by themselves; a lone request is never held longer than
``max_wait_ms``, and one that already waited that long behind a running batch leaves with the
next call at once. A request still queued after ``max_queue_wait_s`` (the server is far behind)
is answered 503 without being computed.

Example::

    batcher = DynamicBatcher(predictor, "shop", max_batch_size=32, max_wait_ms=2)
    batcher.start()
    proba = await batcher.predict(["where is my parcel"])      # (1, n_labels)
    await batcher.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from launchml.errors import LaunchMLError
from launchml.inference import Predictor
from launchml.serve.errors import OverloadedError
from launchml.serve.metrics import ServeMetrics

log = logging.getLogger("launchml.serve")


@dataclass
class _Request:
    inputs: list[str] | np.ndarray
    future: asyncio.Future[np.ndarray]
    enqueued: float
    size: int = field(init=False)

    def __post_init__(self) -> None:
        self.size = len(self.inputs)


class DynamicBatcher:
    """Merges concurrent ``predict`` calls for one predictor into batched model calls."""

    def __init__(
        self,
        predictor: Predictor,
        name: str,
        max_batch_size: int = 32,
        max_wait_ms: float = 2.0,
        max_queue: int = 4096,
        metrics: ServeMetrics | None = None,
        max_queue_wait_s: float = 10.0,
        thread_setup: Callable[[], None] | None = None,
    ) -> None:
        self.predictor = predictor
        self.name = name
        self.max_batch_size = max_batch_size
        self.max_wait = max_wait_ms / 1000.0
        self.max_queue = max_queue
        self.max_queue_wait = max_queue_wait_s
        self.metrics = metrics
        self._queue: deque[_Request] = deque()
        self._queued_inputs = 0
        self._arrived = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._busy = False  # a batch is being computed
        # one thread per model: its calls run one after another, each using the library's
        # own intra-op threads (torch / ONNX Runtime), instead of fighting over the cores
        # (thread_setup runs in that thread first: e.g. torch's thread count is per thread)
        self._executor = ThreadPoolExecutor(
            1, thread_name_prefix=f"launchml-{name}", initializer=thread_setup
        )

    def start(self) -> None:
        """Start the batching task on the running event loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        """Finish every queued request, then stop the task and the worker thread."""
        while (self._queue or self._busy) and self._task is not None and not self._task.done():
            await asyncio.sleep(0.005)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._executor.shutdown(wait=True)

    async def predict(self, inputs: list[str] | np.ndarray) -> np.ndarray:
        """Probabilities ``(len(inputs), n_labels)`` for one request's inputs."""
        if self._task is None:
            raise RuntimeError("DynamicBatcher.predict before start()")
        if self._queued_inputs + len(inputs) > self.max_queue:
            raise OverloadedError(
                f"model {self.name!r} has {self._queued_inputs} inputs waiting (max_queue "
                f"{self.max_queue}); retry shortly"
            )
        loop = asyncio.get_running_loop()
        request = _Request(inputs, loop.create_future(), loop.time())
        self._queue.append(request)
        self._set_depth(request.size)
        self._arrived.set()
        return await request.future

    async def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(*args)`` on the model's own thread, between batches, never alongside one
        (an explanation hooks into the model's layers while it runs)."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    # -- the batching task ---------------------------------------------------------------------

    async def _loop(self) -> None:
        while True:
            if not self._queue:
                self._arrived.clear()
                await self._arrived.wait()
                continue
            batch = await self._collect()
            if batch:
                self._busy = True
                try:
                    await self._run(batch)
                finally:
                    self._busy = False

    async def _collect(self) -> list[_Request]:
        loop = asyncio.get_running_loop()
        batch: list[_Request] = []
        size = 0
        deadline = self._queue[0].enqueued + self.max_wait
        while True:
            while self._queue and (not batch or size + self._queue[0].size <= self.max_batch_size):
                request = self._queue.popleft()
                self._set_depth(-request.size)
                if request.future.done():  # its handler was cancelled while it waited
                    continue
                if loop.time() - request.enqueued > self.max_queue_wait:
                    # the server is behind: answer 503 at once rather than compute an answer
                    # that its client has most likely stopped waiting for
                    request.future.set_exception(
                        OverloadedError(
                            f"model {self.name!r} is overloaded: the request waited more than "
                            f"{self.max_queue_wait:g} s (max_queue_wait_s); retry shortly"
                        )
                    )
                    continue
                batch.append(request)
                size += request.size
            remaining = deadline - loop.time()
            if self._queue or size >= self.max_batch_size or remaining <= 0:
                return batch  # full (the next request does not fit), or waited long enough
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except TimeoutError:
                return batch

    async def _run(self, batch: list[_Request]) -> None:
        try:
            proba = await self._call([request.inputs for request in batch])
        except Exception as exc:
            if len(batch) == 1:
                _fail(batch[0], exc)
                return
            # one request's input may have broken the shared call: retry each alone, so that
            # only that request fails
            for request in batch:
                try:
                    _answer(request, await self._call([request.inputs]))
                except Exception as single_exc:
                    _fail(request, single_exc)
            return
        start = 0
        for request in batch:
            _answer(request, proba[start : start + request.size])
            start += request.size

    async def _call(self, parts: list[list[str] | np.ndarray]) -> np.ndarray:
        merged: Any
        if isinstance(parts[0], np.ndarray):
            merged = parts[0] if len(parts) == 1 else np.concatenate(parts)
        else:
            merged = [text for part in parts for text in part]
        loop = asyncio.get_running_loop()
        started = loop.time()
        proba = await loop.run_in_executor(self._executor, self.predictor.predict_proba, merged)
        proba = np.asarray(proba, dtype=np.float64).reshape(len(merged), -1)
        if self.metrics is not None:
            self.metrics.batch_size.labels(self.name).observe(len(merged))
            self.metrics.predict_seconds.labels(self.name).observe(loop.time() - started)
        return proba

    def _set_depth(self, change: int) -> None:
        self._queued_inputs += change
        if self.metrics is not None:
            self.metrics.queue_depth.labels(self.name).set(self._queued_inputs)


def _answer(request: _Request, proba: np.ndarray) -> None:
    if not request.future.done():
        request.future.set_result(proba)


def _fail(request: _Request, exc: Exception) -> None:
    if not isinstance(exc, LaunchMLError):
        log.error("model call failed", exc_info=exc)
    if not request.future.done():
        request.future.set_exception(exc)


__all__ = ["DynamicBatcher"]
