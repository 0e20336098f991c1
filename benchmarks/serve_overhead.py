"""The server's own cost per request, without a model: launchml's app (with an instant fake
predictor of 77 labels) against a bare FastAPI endpoint that returns the same JSON.

Figure: the server process's CPU milliseconds per answered request (user + system, over 2,000
requests from 8 clients on loopback), a figure that other jobs on the machine disturb less than
rates do. Both servers run as their own process, one after the other, twice each.

    python benchmarks/serve_overhead.py            # (the server role: serve_overhead.py --serve)
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
import time
from typing import Any

import httpx
import numpy as np
from bench_common import load_average
from serve_http import cpu_seconds, free_port
from serve_load import closed_loop

from launchml.profiling import cpu_name

LABELS = [f"label_{i}" for i in range(77)]


class InstantPredictor:
    name = "m"
    kind = "text"
    input_shape = None
    labels = LABELS

    def predict_proba(self, inputs: Any) -> np.ndarray:
        return np.full((len(inputs), len(LABELS)), 1 / len(LABELS))

    def describe(self) -> dict[str, Any]:
        return {"name": "m", "type": "instant", "kind": "text", "labels": LABELS,
                "format": "run", "metrics": {}, "sha256": None}  # fmt: skip


def serve(which: str, port: int) -> None:
    import uvicorn
    from fastapi import FastAPI
    from pydantic import BaseModel

    if which == "launchml":
        from launchml.serve import ServeSettings, create_app

        app = create_app([InstantPredictor()], ServeSettings(access_log=False))
    else:
        app = FastAPI()

        class Query(BaseModel):
            texts: list[str]

        @app.post("/v1/models/m/predict")
        async def predict(query: Query) -> dict[str, Any]:
            p = 1 / len(LABELS)
            top = [{"label": label, "probability": p} for label in LABELS[:3]]
            one = {"label": LABELS[0], "probabilities": dict.fromkeys(LABELS, p), "top": top}
            return {"model": "m", "predictions": [one for _ in query.texts]}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def measure(which: str) -> dict[str, Any]:
    port = free_port()
    process = subprocess.Popen([sys.executable, __file__, "--serve", which, str(port)])
    url = f"http://127.0.0.1:{port}/v1/models/m/predict"
    body = [{"texts": ["where is my parcel?"]}]
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.post(url, json=body[0]).status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline, f"{which} did not start"
                time.sleep(0.1)
        asyncio.run(closed_loop(url, body, concurrency=8, requests=300, time_limit=60))
        before = cpu_seconds(process.pid)
        result = asyncio.run(closed_loop(url, body, concurrency=8, requests=2000, time_limit=120))
        used = cpu_seconds(process.pid) - before
    finally:
        process.terminate()
        process.wait(30)
    assert result.errors == 0, result.summary()
    return {"server": which, "cpu_ms_per_request": round(1000 * used / result.ok, 3)}


def main() -> None:
    if sys.argv[1:2] == ["--serve"]:
        serve(sys.argv[2], int(sys.argv[3]))
        return
    load_before = load_average()
    samples: dict[str, list[float]] = {"launchml": [], "bare-fastapi": []}
    for _ in range(2):
        for which in samples:
            sample = measure(which)
            print(sample, flush=True)
            samples[which].append(sample["cpu_ms_per_request"])
    print(
        json.dumps(
            {
                "benchmark": "serve_overhead",
                "date": dt.date.today().isoformat(),
                "machine": f"{cpu_name()}, {os.cpu_count()} cores",
                "cpu_ms_per_request": {k: min(v) for k, v in samples.items()},
                "samples": samples,
                "load_average_before": load_before,
                "load_average_after": load_average(),
            }
        )
    )


if __name__ == "__main__":
    main()
