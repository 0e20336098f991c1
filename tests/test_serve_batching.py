"""Dynamic batching: which requests share a model call (asserted on the batch sizes a fake
predictor sees), that a lone request never waits for a full batch, and that one bad request
fails alone."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

from launchml.serve.batching import DynamicBatcher
from launchml.serve.errors import OverloadedError
from tests.serve_fakes import FakeImagePredictor, FakeTextPredictor

LONG_WAIT_MS = 60_000.0  # longer than any test: a request that waited this long would time out


async def _wait_entered(fake: FakeTextPredictor) -> None:
    while not fake.entered.is_set():
        await asyncio.sleep(0.001)


def run(coroutine) -> object:
    return asyncio.run(asyncio.wait_for(coroutine, 30))


def test_requests_that_arrive_together_share_one_call() -> None:
    async def scenario() -> list[int]:
        fake = FakeTextPredictor()
        batcher = DynamicBatcher(fake, "fake", max_batch_size=32, max_wait_ms=50)
        batcher.start()
        texts = [["good"], ["bad", "good"], ["so-so"], ["good day"]]
        results = await asyncio.gather(*(batcher.predict(t) for t in texts))
        await batcher.stop()
        # each request gets its own rows back, in order
        for t, proba in zip(texts, results, strict=True):
            np.testing.assert_allclose(proba, fake.predict_proba(t))
        return fake.batches[:-4]  # (the reference calls above are appended at the end)

    assert run(scenario()) == [5]


def test_requests_queued_behind_a_running_call_leave_together() -> None:
    async def scenario() -> list[int]:
        fake = FakeTextPredictor()
        fake.gate = threading.Event()
        batcher = DynamicBatcher(fake, "fake", max_batch_size=4, max_wait_ms=0)
        batcher.start()
        first = asyncio.ensure_future(batcher.predict(["one"]))
        await _wait_entered(fake)  # the first call is running and holds the model
        rest = [asyncio.ensure_future(batcher.predict([f"t{i}"])) for i in range(6)]
        await asyncio.sleep(0.01)
        fake.gate.set()
        await asyncio.gather(first, *rest)
        await batcher.stop()
        return fake.batches

    # max_wait_ms=0 never waits for company, yet the six queued requests merge (4 fit a batch)
    assert run(scenario()) == [1, 4, 2]


def test_a_lone_request_does_not_wait_for_a_full_batch() -> None:
    async def scenario() -> list[int]:
        fake = FakeTextPredictor()
        batcher = DynamicBatcher(fake, "fake", max_batch_size=64, max_wait_ms=5)
        batcher.start()
        proba = await asyncio.wait_for(batcher.predict(["good"]), 10)
        assert proba.shape == (1, 2)
        await batcher.stop()
        return fake.batches

    assert run(scenario()) == [1]


def test_a_full_batch_leaves_without_waiting() -> None:
    async def scenario() -> list[int]:
        fake = FakeTextPredictor()
        # with an enormous max_wait a batch can only leave because it is full
        batcher = DynamicBatcher(fake, "fake", max_batch_size=3, max_wait_ms=LONG_WAIT_MS)
        batcher.start()
        await asyncio.wait_for(asyncio.gather(*(batcher.predict([f"t{i}"]) for i in range(6))), 10)
        await batcher.stop()
        return fake.batches

    assert run(scenario()) == [3, 3]


def test_a_request_larger_than_a_batch_runs_alone_and_whole() -> None:
    async def scenario() -> list[int]:
        fake = FakeTextPredictor()
        batcher = DynamicBatcher(fake, "fake", max_batch_size=2, max_wait_ms=0)
        batcher.start()
        big, small = await asyncio.gather(batcher.predict(["a"] * 5), batcher.predict(["b"]))
        assert big.shape == (5, 2) and small.shape == (1, 2)
        await batcher.stop()
        return fake.batches

    assert run(scenario()) == [5, 1]


def test_one_bad_request_fails_alone() -> None:
    async def scenario() -> tuple[list[object], list[int]]:
        fake = FakeTextPredictor(fail_on="boom")
        batcher = DynamicBatcher(fake, "fake", max_batch_size=8, max_wait_ms=50)
        batcher.start()
        results = await asyncio.gather(
            batcher.predict(["good"]), batcher.predict(["boom"]), batcher.predict(["x"]),
            return_exceptions=True,
        )  # fmt: skip
        await batcher.stop()
        return results, fake.batches

    results, batches = run(scenario())  # type: ignore[misc]
    assert isinstance(results[1], RuntimeError)
    np.testing.assert_allclose(results[0], [[0.25, 0.75]])
    np.testing.assert_allclose(results[2], [[0.9, 0.1]])
    assert batches == [3, 1, 1, 1]  # the shared call failed, then each request alone


def test_images_are_merged_into_one_array() -> None:
    async def scenario() -> list[tuple[int, ...]]:
        fake = FakeImagePredictor()
        batcher = DynamicBatcher(fake, "digits", max_batch_size=8, max_wait_ms=50)
        batcher.start()
        images = [np.full((n, 4, 4, 1), 255 * (n % 2), np.uint8) for n in (1, 2, 3)]
        results = await asyncio.gather(*(batcher.predict(i) for i in images))
        await batcher.stop()
        assert [r[:, 1].tolist() for r in results] == [[1.0], [0.0, 0.0], [1.0, 1.0, 1.0]]
        return [s.shape for s in fake.seen]

    assert run(scenario()) == [(6, 4, 4, 1)]


def test_a_cancelled_request_is_dropped_before_its_call() -> None:
    async def scenario() -> list[int]:
        fake = FakeTextPredictor()
        fake.gate = threading.Event()
        batcher = DynamicBatcher(fake, "fake", max_batch_size=8, max_wait_ms=0)
        batcher.start()
        first = asyncio.ensure_future(batcher.predict(["one"]))
        await _wait_entered(fake)
        gone = asyncio.ensure_future(batcher.predict(["client hung up", "x"]))
        kept = asyncio.ensure_future(batcher.predict(["kept"]))
        await asyncio.sleep(0.01)
        gone.cancel()
        fake.gate.set()
        await asyncio.gather(first, kept)
        await batcher.stop()
        return fake.batches

    assert run(scenario()) == [1, 1]


def test_stop_finishes_the_queued_requests() -> None:
    async def scenario() -> int:
        fake = FakeTextPredictor()
        fake.gate = threading.Event()
        batcher = DynamicBatcher(fake, "fake", max_batch_size=2, max_wait_ms=0)
        batcher.start()
        pending = [asyncio.ensure_future(batcher.predict([f"t{i}"])) for i in range(5)]
        await _wait_entered(fake)
        stopping = asyncio.ensure_future(batcher.stop())
        await asyncio.sleep(0.01)
        fake.gate.set()
        await stopping
        return sum(p.done() and not p.cancelled() and p.exception() is None for p in pending)

    assert run(scenario()) == 5


def test_a_full_queue_answers_overloaded() -> None:
    async def scenario() -> None:
        fake = FakeTextPredictor()
        fake.gate = threading.Event()
        batcher = DynamicBatcher(fake, "fake", max_batch_size=1, max_wait_ms=0, max_queue=3)
        batcher.start()
        first = asyncio.ensure_future(batcher.predict(["running"]))
        await _wait_entered(fake)
        queued = asyncio.ensure_future(batcher.predict(["a", "b"]))
        await asyncio.sleep(0)
        with pytest.raises(OverloadedError, match="2 inputs waiting \\(max_queue 3\\)"):
            await batcher.predict(["c", "d"])
        fake.gate.set()
        await asyncio.gather(first, queued)
        await batcher.stop()

    run(scenario())


def test_a_request_queued_too_long_is_answered_overloaded_without_a_call() -> None:
    async def scenario() -> list[int]:
        fake = FakeTextPredictor()
        fake.gate = threading.Event()
        batcher = DynamicBatcher(fake, "fake", max_wait_ms=0, max_queue_wait_s=0.05)
        batcher.start()
        first = asyncio.ensure_future(batcher.predict(["running"]))
        await _wait_entered(fake)
        stale = asyncio.ensure_future(batcher.predict(["waits behind a slow call"]))
        await asyncio.sleep(0.2)  # longer than max_queue_wait_s
        fake.gate.set()
        await first
        with pytest.raises(OverloadedError, match="waited more than 0.05 s"):
            await stale
        await batcher.stop()
        return fake.batches

    assert run(scenario()) == [1]
