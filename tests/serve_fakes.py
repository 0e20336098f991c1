"""Test doubles and helpers for the server tests: fake predictors whose answers are known, a tiny
trained run, and a real uvicorn server on a free loopback port."""

from __future__ import annotations

import contextlib
import io
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image

REPO = Path(__file__).resolve().parents[1]


class FakeTextPredictor:
    """Two labels; ``pos`` gets 0.75 for a text containing "good", else 0.1. Records the size
    of every batch it is called with; ``gate`` (when set) holds each call until released."""

    kind: Literal["text", "image"] = "text"
    input_shape = None

    def __init__(self, name: str = "fake", fail_on: str | None = None) -> None:
        self.name = name
        self.labels = ["neg", "pos"]
        self.batches: list[int] = []
        self.fail_on = fail_on
        self.gate: threading.Event | None = None
        self.entered = threading.Event()

    def predict_proba(self, inputs: Any) -> np.ndarray:
        self.batches.append(len(inputs))
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(30), "test gate never opened"
        if self.fail_on is not None and self.fail_on in inputs:
            raise RuntimeError(f"model crashed on {self.fail_on!r}")
        pos = np.array([0.75 if "good" in text else 0.1 for text in inputs])
        return np.stack([1 - pos, pos], axis=1)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": "fake",
            "kind": self.kind,
            "labels": self.labels,
            "format": "run",
            "metrics": {"test": {"n": 4, "accuracy": 0.75}},
            "sha256": None,
        }


class FakeImagePredictor:
    """4x4 grayscale images; ``bright`` gets the image's mean pixel / 255."""

    name = "digits"
    kind: Literal["text", "image"] = "image"
    input_shape = (4, 4, 1)

    def __init__(self) -> None:
        self.labels = ["dark", "bright"]
        self.seen: list[np.ndarray] = []

    def predict_proba(self, inputs: Any) -> np.ndarray:
        assert inputs.dtype == np.uint8 and inputs.shape[1:] == self.input_shape
        self.seen.append(inputs)
        bright = inputs.reshape(len(inputs), -1).mean(axis=1) / 255.0
        return np.stack([1 - bright, bright], axis=1)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": "fake_cnn",
            "kind": "image",
            "labels": self.labels,
            "format": "bundle",
            "metrics": {},
            "sha256": "sha256:00",
        }


def png_bytes(
    value: int, size: tuple[int, int] = (4, 4), mode: str = "L", fmt: str = "PNG"
) -> bytes:
    buffer = io.BytesIO()
    color = value if mode == "L" else (value,) * len(mode)
    Image.new(mode, size, color).save(buffer, format=fmt)
    return buffer.getvalue()


def wait_ready(client: TestClient, seconds: float = 120.0) -> None:
    """Poll /readyz until the models are loaded (a run's first load imports torch)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if client.get("/readyz").status_code == 200:
            return
        time.sleep(0.05)
    raise AssertionError(f"not ready after {seconds} s: {client.get('/readyz').json()}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_server(app: FastAPI, **config: Any) -> Iterator[tuple[str, uvicorn.Server]]:
    """``app`` under a real uvicorn on 127.0.0.1 (a free port) in a thread: ``(base URL,
    server)``; stopped (gracefully) on exit."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **config)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}", server
    finally:
        server.should_exit = True
        thread.join(60)


def train_shop_run(out: Path) -> Path:
    """The README's demo run (TF-IDF on examples/shop), trained quietly."""
    from launchml.pipeline import train

    return train(REPO / "examples" / "shop" / "config.yaml", out=out, quiet=True).path
