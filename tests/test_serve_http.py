"""The server for real: uvicorn on a free 127.0.0.1 port. A bounded load test (the benchmark's
own load generator) asserting correctness only, graceful shutdown with a request in flight, and
``launchml serve`` from the command line (one worker and several)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from benchmarks.serve_load import closed_loop, open_loop

from launchml.runs import Run
from launchml.serve import ServeSettings, create_app
from tests.serve_fakes import FakeTextPredictor, free_port, running_server

KEY = "s3cret-key-for-tests-only"


def test_bounded_load_on_loopback_has_no_errors(shop_run: Path) -> None:
    run = Run.load(shop_run)
    texts = ["where is my parcel", "refund please", "change my address", "cancel my order"]
    expected = {text: run.predict(text) for text in texts}

    def check(body: dict, answer: dict) -> bool:
        return [p["label"] for p in answer["predictions"]] == [expected[t] for t in body["texts"]]

    app = create_app({"shop": run}, ServeSettings(max_wait_ms=2))
    with running_server(app) as (base, _):
        url = f"{base}/v1/models/shop/predict"
        bodies = [{"texts": [t]} for t in texts] + [{"texts": texts}]
        closed = asyncio.run(closed_loop(url, bodies, concurrency=8, requests=300, time_limit=60))
        opened = asyncio.run(open_loop(url, bodies, rate=100, requests=200, time_limit=60))
        metrics = httpx.get(f"{base}/metrics").text
    for result in (closed, opened):
        assert result.summary()["errors"] == 0, result.summary()
        assert result.ok == result.sent
    assert closed.sent == 300 and opened.sent == 200
    assert 'launchml_batch_size_count{model="shop"}' in metrics


def test_graceful_shutdown_finishes_the_request_in_flight() -> None:
    fake = FakeTextPredictor()
    fake.gate = threading.Event()
    with running_server(create_app([fake])) as (base, server):
        answer: dict = {}

        def client() -> None:
            response = httpx.post(f"{base}/v1/models/fake/predict", json={"texts": ["good"]})
            answer.update(status=response.status_code, body=response.json())

        thread = threading.Thread(target=client)
        thread.start()
        assert fake.entered.wait(30)  # the request is inside the model
        server.should_exit = True  # what SIGINT/SIGTERM do
        time.sleep(0.2)
        fake.gate.set()
        thread.join(30)
    assert answer["status"] == 200
    assert answer["body"]["predictions"][0]["label"] == "pos"


def _serve(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "launchml.cli", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def _wait_ready(base: str, process: subprocess.Popen[str], seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1]
        try:
            if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise AssertionError(f"not ready after {seconds} s: {process.communicate()[1]}")


def _stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    process.send_signal(signal.SIGINT)
    try:
        out, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        raise AssertionError(f"did not stop on SIGINT: {err}") from None
    # uvicorn finishes its graceful shutdown, then re-raises the signal: 130 is "ended by SIGINT"
    assert process.returncode in (0, 130, -signal.SIGINT), err
    assert "Application shutdown complete" in err
    return out, err


@pytest.mark.slow
def test_cli_with_two_workers_and_an_api_key(shop_run: Path, tmp_path: Path) -> None:
    """(One worker: the README tour's test in tests/test_serve_examples.py.)"""
    port = free_port()
    key_file = tmp_path / "key"
    key_file.write_text(KEY, encoding="utf-8")
    args = [str(shop_run), "--port", str(port), "--workers", "2", "--name", "intents"]
    process = _serve([*args, "--api-key-file", str(key_file)])
    base = f"http://127.0.0.1:{port}"
    url = f"{base}/v1/models/intents/predict"
    try:
        _wait_ready(base, process)
        assert httpx.post(url, json={"texts": ["hi"]}).status_code == 401
        # a new connection each time, so both workers answer some
        for _ in range(20):
            response = httpx.post(
                url, json={"texts": ["refund please"]}, headers={"X-API-Key": KEY}
            )
            assert response.status_code == 200
            assert response.json()["model"] == "intents"
        metrics = httpx.get(f"{base}/metrics", headers={"X-API-Key": KEY}).text
    finally:
        out, err = _stop(process)
    route = 'route="/v1/models/{name}/predict"'
    # Prometheus' multiprocess mode adds up both workers' counts
    assert f'launchml_requests_total{{method="POST",{route},status="200"}} 20.0' in metrics
    assert f'launchml_requests_total{{method="POST",{route},status="401"}} 1.0' in metrics
    assert "API key required" in err
    access = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    statuses = [a["status"] for a in access if a["route"] == "/v1/models/{name}/predict"]
    assert statuses == [401] + [200] * 20
    assert len({line.split("[")[1].split("]")[0] for line in err.splitlines()
                if "Started server process" in line}) == 2  # fmt: skip


def test_cli_refuses_what_is_unsafe_or_wrong(cli, shop_run: Path, tmp_path: Path) -> None:
    exposed = cli("serve", shop_run, "--host", "0.0.0.0")
    assert exposed.code == 2
    assert exposed.err == (
        "error: host '0.0.0.0' is reachable from other machines, so an API key is required: "
        "set LAUNCHML_API_KEY or --api-key-file FILE, or bind --host 127.0.0.1\n"
    )
    missing = cli("serve", tmp_path / "nope")
    assert missing.err == f"error: {tmp_path / 'nope'}: no such run or bundle directory\n"
    bad_flag = cli("serve", shop_run, "--max-batch-size", "0")
    assert bad_flag.err == "error: --max-batch-size: Input should be greater than or equal to 1\n"
    names = cli("serve", shop_run, "--name", "a", "--name", "b")
    assert names.code == 2 and "2 names for 1 models" in names.err


def test_cli_names_a_bad_environment_variable(
    cli, shop_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAUNCHML_MAX_WAIT_MS", "soon")
    result = cli("serve", shop_run)
    assert result.code == 2
    assert result.err == (
        "error: LAUNCHML_MAX_WAIT_MS: Input should be a valid number, unable to parse string as "
        "a number\n"
    )
