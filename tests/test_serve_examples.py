"""The documentation's serving examples, run as written: the README tour's step 7 (serve the demo
run, send it one request) and examples/embed_serve.py (the server inside another FastAPI app)."""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
import time
from pathlib import Path

import httpx
import numpy as np
from fastapi.testclient import TestClient

from launchml.runs import Run
from tests.serve_fakes import REPO, free_port
from tests.test_serve_http import _serve, _stop, _wait_ready


def _tour_step() -> tuple[list[str], str, dict, dict]:
    """The README tour's "Serve it over HTTP" step: the command, the curl URL and body, the
    answer."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    step = readme[readme.index(". Serve it over HTTP.**") :]
    commands = re.search(r"```bash\n(.*?)```", step, re.S).group(1)  # type: ignore[union-attr]
    answer = re.search(r"```json\n(.*?)```", step, re.S).group(1)  # type: ignore[union-attr]
    lines = commands.replace("\\\n", " ").splitlines()
    serve = shlex.split(lines[0], comments=True)
    curl = shlex.split(lines[1])
    url = next(a for a in curl if a.startswith("http://"))
    body = json.loads(curl[curl.index("-d") + 1])
    return serve, url, body, json.loads(answer)


def test_readme_tour_serves_the_demo_run_and_answers_one_request(shop_run: Path) -> None:
    serve, url, body, shown = _tour_step()
    assert serve[:2] == [".venv/bin/launchml", "serve"] and serve[2] == "runs/shop"
    assert url == "http://127.0.0.1:8000/v1/models/shop/predict"
    port = free_port()  # the README's 8000 may be taken on a test machine
    process = _serve([str(shop_run), *serve[3:], "--port", str(port)])
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, process)
        response = httpx.post(url.replace(":8000", f":{port}"), json=body)
    finally:
        out, err = _stop(process)
    assert response.status_code == 200
    answer = response.json()
    # the README shows the real answer of the demo run, rounded
    got, expected = answer["predictions"][0], shown["predictions"][0]
    assert answer["model"] == shown["model"] == "shop"
    assert got["label"] == expected["label"]
    assert [(t["label"], round(t["probability"], 4)) for t in got["top"]] == [
        (t["label"], t["probability"]) for t in expected["top"]
    ]
    assert (
        round(got["probabilities"]["cancel_order"], 4) == expected["probabilities"]["cancel_order"]
    )
    assert len(got["probabilities"]) == 12
    assert f"serving {shop_run} at {base}" in err and "API key off: loopback only" in err
    access = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [(a["method"], a["path"], a["status"]) for a in access if a["route"] != "/readyz"] == [
        ("POST", "/v1/models/shop/predict", 200)
    ]


def test_embed_example_mounts_the_server_in_another_app(shop_run: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "embed_serve", REPO / "examples" / "embed_serve.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    texts = ["where is my parcel?", "refund please"]
    with TestClient(module.build_app(shop_run)) as client:
        assert client.get("/hello").json() == {"hello": "shop"}
        deadline = time.monotonic() + 120
        while client.get("/ml/readyz").status_code != 200:
            assert time.monotonic() < deadline, client.get("/ml/readyz").json()
            time.sleep(0.05)
        response = client.post("/ml/v1/models/intents/predict", json={"texts": texts, "top_k": 1})
    run = Run.load(shop_run)
    proba = np.round(run.predict_proba(texts), 6)
    assert response.json() == {
        "model": "intents",
        "predictions": [
            {
                "label": run.labels[int(row.argmax())],
                "probabilities": dict(zip(run.labels, row.tolist(), strict=True)),
                "top": [{"label": run.labels[int(row.argmax())], "probability": float(row.max())}],
            }
            for row in proba
        ],
    }


def test_launchml_serve_help_lists_the_flags(cli) -> None:
    result = cli("serve", "--help")
    assert result.code == 0
    for flag in ("--host", "--port", "--workers", "--name", "--api-key-file", "--max-wait-ms"):
        assert flag in result.out
