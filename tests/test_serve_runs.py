"""Serving real runs: a TF-IDF text run and a tiny MLP image run answer over HTTP exactly what
``Run.predict_proba`` says; bundles are loaded by the bundle runtime and never import torch."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from launchml.errors import InvalidConfigError, InvalidInputError, NotFoundError
from launchml.pipeline import train
from launchml.runs import Run
from launchml.serve import ServeSettings, create_app, load_predictor
from tests.serve_fakes import REPO, FakeTextPredictor, wait_ready


def test_a_text_run_answers_what_the_run_predicts(shop_run: Path) -> None:
    run = Run.load(shop_run)
    texts = ["where is my parcel?", "I want my money back", "pAsSwOrD reset please"]
    with TestClient(create_app([shop_run])) as client:
        wait_ready(client)
        body = client.post("/v1/models/shop/predict", json={"texts": texts, "top_k": 2}).json()
        info = client.get("/v1/models/shop").json()
    expected = np.round(run.predict_proba(texts), 6)
    for prediction, row in zip(body["predictions"], expected, strict=True):
        assert list(prediction["probabilities"]) == run.labels
        assert list(prediction["probabilities"].values()) == pytest.approx(row.tolist(), abs=1e-9)
        assert prediction["label"] == run.labels[int(row.argmax())]
        assert [t["label"] for t in prediction["top"]] == [
            run.labels[i] for i in np.argsort(-row, kind="stable")[:2]
        ]
    facts = run.describe()
    assert info == {**facts, "name": "shop", "input_shape": None}
    assert info["type"] == "tfidf_logreg" and info["format"] == "run"


@pytest.fixture(scope="module")
def image_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLP on 8x8 grayscale PNGs: dark vs bright, 12 of each."""
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for label, base in (("dark", 40), ("bright", 210)):
        (root / "train" / label).mkdir(parents=True)
        for i in range(12):
            pixels = np.clip(base + rng.normal(0, 25, (8, 8)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels, "L").save(root / "train" / label / f"{i}.png")
    config = {
        "data": {"train": str(root / "train"), "split": {"val": 0.25, "seed": 0}},
        "model": {"type": "mlp", "mlp": {"hidden": [8]}},
        "train": {"epochs": 3, "batch_size": 8},
    }
    return train(config, out=root / "run").path


def test_an_image_run_answers_uploads_like_the_run_reads_files(
    image_run: Path, tmp_path: Path
) -> None:
    run = Run.load(image_run)
    rng = np.random.default_rng(1)
    # a 16x16 RGB JPEG and an 8x8 PNG: the server converts and resizes like training did
    files = []
    for i, (size, mode, fmt) in enumerate([((16, 16), "RGB", "JPEG"), ((8, 8), "L", "PNG")]):
        shape = (*size, 3) if mode == "RGB" else size
        path = tmp_path / f"{i}.{fmt.lower()}"
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(path, fmt)
        files.append(path)
    expected = np.round(run.predict_proba([str(p) for p in files]), 6)
    with TestClient(create_app([image_run])) as client:
        wait_ready(client)
        upload = client.post(
            "/v1/models/run/predict",
            files=[("images", (p.name, p.read_bytes())) for p in files],
        ).json()
        as_json = client.post(
            "/v1/models/run/predict",
            json={"images": [base64.b64encode(p.read_bytes()).decode() for p in files]},
        ).json()
        info = client.get("/v1/models/run").json()
    assert upload == as_json
    got = [list(p["probabilities"].values()) for p in upload["predictions"]]
    np.testing.assert_allclose(got, expected, atol=1e-9)
    assert info["kind"] == "image" and info["input_shape"] == [8, 8, 1]


def test_the_server_device_setting_reaches_the_runs(image_run: Path) -> None:
    """``--device`` / ``LAUNCHML_DEVICE``: runs load there (a GPU that is absent is refused
    with one line, before the server starts), a malformed value names the flag."""
    from launchml.serve.server import serve, settings_from

    with TestClient(create_app([image_run], ServeSettings(device="cpu"))) as client:
        wait_ready(client)
        info = client.get("/v1/models/run").json()
    assert info["kind"] == "image"
    with pytest.raises(
        InvalidConfigError, match="--device: .*expected auto, cpu, cuda or cuda:N, got 'gpu'"
    ):
        settings_from(models=[str(image_run)], device="gpu")
    if torch_has_cuda():
        return
    with pytest.raises(InvalidConfigError, match="--device: cuda but torch sees no CUDA GPU"):
        serve(settings_from(models=[str(image_run)], device="cuda"))
    with TestClient(create_app([image_run], ServeSettings(device="cuda:0"))) as client:
        deadline = time.monotonic() + 120
        while client.get("/readyz").json()["status"] == "loading" and time.monotonic() < deadline:
            time.sleep(0.05)
        ready = client.get("/readyz")
    assert ready.status_code == 503
    assert "device: cuda:0 but torch sees no CUDA GPU" in ready.json()["error"]


def torch_has_cuda() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def test_what_cannot_be_served_is_named(tmp_path: Path, shop_run: Path) -> None:
    with pytest.raises(NotFoundError, match="no such run or bundle directory"):
        load_predictor(tmp_path / "absent")
    with pytest.raises(InvalidInputError, match="not a directory"):
        load_predictor(shop_run / "meta.json")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInputError, match=r"neither a launchml run \(no meta.json\)"):
        load_predictor(tmp_path / "empty")
    (tmp_path / "x.partial").mkdir()
    with pytest.raises(InvalidInputError, match="an interrupted run"):
        load_predictor(tmp_path / "x.partial")


def test_a_bundle_without_the_runtime_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "bundle.json").write_text("{}", encoding="utf-8")
    monkeypatch.setitem(sys.modules, "launchml.runtime", None)  # as if it were not installed
    with pytest.raises(InvalidConfigError, match="the bundle runtime is not installed"):
        load_predictor(tmp_path / "b")


# A stand-in for launchml.runtime (the torch-free bundle runtime) in a process where importing
# torch fails: serving a bundle must not need torch or the training code.
NO_TORCH_SCRIPT = """
import json, sys, time, types
sys.modules["torch"] = None  # `import torch` now raises ImportError
sys.path.insert(0, sys.argv[2])
from serve_fakes import FakeTextPredictor
runtime = types.ModuleType("launchml.runtime")
runtime.load_bundle = lambda path, threads=None: FakeTextPredictor(name="bundle")
sys.modules["launchml.runtime"] = runtime
from fastapi.testclient import TestClient
from launchml.serve import create_app
with TestClient(create_app([sys.argv[1]])) as client:
    for _ in range(500):
        if client.get("/readyz").status_code == 200:
            break
        time.sleep(0.01)
    answer = client.post("/v1/models/b/predict", json={"texts": ["good"]}).json()
print(json.dumps({"label": answer["predictions"][0]["label"],
                  "training_code": sorted(m for m in ("launchml.runs", "launchml.trainer",
                                          "launchml.models") if m in sys.modules)}))
"""


def test_serving_a_bundle_never_imports_torch(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "bundle.json").write_text("{}", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", NO_TORCH_SCRIPT, str(tmp_path / "b"), str(REPO / "tests")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {
        "label": "pos",
        "training_code": [],
    }


def test_threads_apply_in_the_thread_that_predicts() -> None:
    import torch

    class Probe(FakeTextPredictor):
        threads: int | None = None

        def predict_proba(self, inputs: object) -> np.ndarray:
            self.threads = torch.get_num_threads()  # torch keeps this per thread
            return super().predict_proba(inputs)

    probe = Probe()
    with TestClient(create_app([probe], ServeSettings(threads=1))) as client:
        assert client.post("/v1/models/fake/predict", json={"texts": ["a"]}).status_code == 200
    assert probe.threads == 1
