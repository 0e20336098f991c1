"""A bounded HTTP load generator (async httpx) for loopback servers: benchmarks and tests use it.

Two shapes of load, each bounded by a request count *and* a time limit, so a loop always ends:

- :func:`open_loop` sends at a fixed rate (request i leaves at ``i / rate`` seconds) whatever
  the answers do, and measures each latency from the request's *scheduled* time, so a server
  that falls behind is charged for the queue it builds (no coordinated omission);
- :func:`closed_loop` keeps ``concurrency`` requests in flight, each client sending its next
  request when the last one is answered.

Both return a :class:`LoadResult`: the count of answers by status, errors (transport errors,
non-2xx, answers the ``check`` rejects, requests unfinished at the time limit), latencies.

Example::

    result = asyncio.run(open_loop("http://127.0.0.1:8000/v1/models/shop/predict",
                                   bodies=[{"texts": ["hi"]}], rate=50, requests=500))
    result.summary()   # {"sent": 500, "ok": 500, "errors": 0, "p50_ms": ..., "p99_ms": ...}
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np

Check = Callable[[dict[str, Any], dict[str, Any]], bool]


@dataclass
class LoadResult:
    """What a load run saw."""

    sent: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests
    seconds: float = 0.0
    offered_rate: float | None = None

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def errors(self) -> int:
        return self.sent - self.ok

    def percentile_ms(self, q: float) -> float | None:
        return float(np.percentile(self.latencies, q) * 1000) if self.latencies else None

    def summary(self) -> dict[str, Any]:
        def ms(q: float) -> float | None:
            value = self.percentile_ms(q)
            return round(value, 2) if value is not None else None

        return {
            "offered_rps": self.offered_rate,
            "sent": self.sent,
            "ok": self.ok,
            "errors": self.errors,
            "achieved_rps": round(self.ok / self.seconds, 1) if self.seconds else None,
            "p50_ms": ms(50),
            "p90_ms": ms(90),
            "p99_ms": ms(99),
            "max_ms": ms(100),
            "statuses": dict(self.statuses),
            "first_failures": self.failures[:3],
        }


async def _send(
    client: httpx.AsyncClient,
    url: str,
    body: dict[str, Any],
    started: float,
    result: LoadResult,
    check: Check | None,
) -> None:
    try:
        response = await client.post(url, json=body)
    except httpx.HTTPError as exc:
        result.statuses[type(exc).__name__] += 1
        result.failures.append(f"{type(exc).__name__}: {exc}")
        return
    result.statuses[str(response.status_code)] += 1
    if response.status_code != 200:
        result.failures.append(f"{response.status_code}: {response.text[:200]}")
        return
    if check is not None and not check(body, response.json()):
        result.failures.append(f"check failed: {response.text[:200]}")
        return
    result.latencies.append(time.perf_counter() - started)


def _client(connections: int, headers: dict[str, str] | None, timeout: float) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(limits=limits, headers=headers, timeout=timeout)


async def open_loop(
    url: str,
    bodies: Sequence[dict[str, Any]],
    rate: float,
    requests: int,
    time_limit: float = 120.0,
    headers: dict[str, str] | None = None,
    check: Check | None = None,
    connections: int = 256,
    timeout: float = 30.0,
) -> LoadResult:
    """``requests`` POSTs at ``rate`` per second (bodies in turn); stops at ``time_limit``."""
    result = LoadResult(offered_rate=rate)
    async with _client(connections, headers, timeout) as client:
        start = time.perf_counter()
        tasks = []
        for i in range(requests):
            scheduled = start + i / rate
            if scheduled - start > time_limit:
                break
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            result.sent += 1
            body = bodies[i % len(bodies)]
            tasks.append(asyncio.create_task(_send(client, url, body, scheduled, result, check)))
        await _finish(tasks, start + time_limit, result)
        result.seconds = time.perf_counter() - start
    return result


async def closed_loop(
    url: str,
    bodies: Sequence[dict[str, Any]],
    concurrency: int,
    requests: int,
    time_limit: float = 120.0,
    headers: dict[str, str] | None = None,
    check: Check | None = None,
    timeout: float = 30.0,
) -> LoadResult:
    """``requests`` POSTs by ``concurrency`` clients, back to back; stops at ``time_limit``."""
    result = LoadResult()
    counter = iter(range(requests))
    async with _client(concurrency, headers, timeout) as client:
        start = time.perf_counter()
        deadline = start + time_limit

        async def worker() -> None:
            for i in counter:
                if time.perf_counter() > deadline:
                    return
                result.sent += 1
                now = time.perf_counter()
                await _send(client, url, bodies[i % len(bodies)], now, result, check)

        tasks = [asyncio.create_task(worker()) for _ in range(concurrency)]
        await _finish(tasks, deadline, result)
        result.seconds = time.perf_counter() - start
    return result


async def _finish(tasks: list[asyncio.Task[None]], deadline: float, result: LoadResult) -> None:
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=max(0.0, deadline - time.perf_counter()) + 1)
    for task in pending:
        task.cancel()
    if pending:
        result.statuses["unfinished"] += len(pending)
        result.failures.append(f"{len(pending)} unfinished at the time limit")
        await asyncio.gather(*pending, return_exceptions=True)
