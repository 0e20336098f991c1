"""train(config) -> Run: the artifact's contents, round trip, atomicity, determinism."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

import launchml
from launchml.config import load_config
from launchml.errors import LaunchMLError
from launchml.models.tfidf_logreg import TfidfLogreg
from launchml.runs import Run, list_runs
from launchml.trainer import CHECKPOINT


def test_run_directory_holds_a_self_describing_artifact(text_config: Path, tmp_path: Path) -> None:
    run = launchml.train(text_config, out=tmp_path / "run")
    path = tmp_path / "run"
    assert run.path == path
    assert {p.name for p in path.iterdir()} == {
        "config.yaml", "labels.json", "model.skops", "metrics.json", "history.csv", "meta.json",
        "manifest.json",
    }  # fmt: skip
    saved = yaml.safe_load((path / "config.yaml").read_text())
    assert saved["model"]["type"] == "tfidf_logreg"
    assert Path(saved["data"]["train"]).is_absolute()
    assert json.loads((path / "labels.json").read_text()) == {
        "0": "change_address", "1": "order_status", "2": "refund",
    }  # fmt: skip
    meta = json.loads((path / "meta.json").read_text())
    data = (tmp_path / "train.csv").read_bytes(), (tmp_path / "test.csv").read_bytes()
    expected = hashlib.sha256()
    for name, content in zip(("train.csv", "test.csv"), data, strict=True):
        expected.update(name.encode())
        expected.update(content)
    assert meta["data_fingerprint"] == "sha256:" + expected.hexdigest()
    assert meta["seed"] == 0
    assert meta["launchml_version"] == launchml.__version__
    assert meta["packages"]["scikit-learn"]
    assert meta["timings"]["total_seconds"] >= meta["timings"]["fit_seconds"] > 0
    metrics = json.loads((path / "metrics.json").read_text())
    assert set(metrics) == {"val", "test"}
    assert metrics["test"]["n"] == 4
    with (path / "history.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["epoch"] == "1" and float(rows[0]["train_loss"]) > 0
    assert not list(tmp_path.glob("*.partial"))
    assert not any(p.suffix == ".pkl" or p.suffix == ".pickle" for p in path.rglob("*"))


def test_round_trip_gives_identical_predictions(text_config: Path, tmp_path: Path) -> None:
    run = launchml.train(text_config, out=tmp_path / "run")
    texts = ["where is my parcel", "i need a refund now", "new address", "hello?"]
    loaded = Run.load(tmp_path / "run")
    np.testing.assert_array_equal(run.predict_proba(texts), loaded.predict_proba(texts))
    assert loaded.predict(texts) == run.predict(texts)


def test_predict_mirrors_its_input(text_config: Path, tmp_path: Path) -> None:
    run = launchml.train(text_config, out=tmp_path / "run")
    one = run.predict("where is my order")
    assert one == "order_status"
    many = run.predict(["where is my order", "refund my purchase"])
    assert many == ["order_status", "refund"]
    single = run.predict_proba("where is my order")
    assert single.shape == (3,) and single.sum() == pytest.approx(1.0)
    assert run.labels[int(single.argmax())] == "order_status"
    assert run.predict_proba(["a", "b"]).shape == (2, 3)


def test_prediction_applies_the_training_cleaning(tmp_path: Path, intent_rows) -> None:
    from tests.conftest import write_csv

    write_csv(tmp_path / "train.csv", intent_rows)
    config = {
        "data": {"train": str(tmp_path / "train.csv"), "clean": {"lowercase": True}},
    }
    run = launchml.train(config, out=tmp_path / "run")
    np.testing.assert_allclose(
        run.predict_proba("WHERE IS MY ORDER"), run.predict_proba("where is my order")
    )


def test_same_seed_same_split_and_model(text_config: Path, tmp_path: Path) -> None:
    first = launchml.train(text_config, out=tmp_path / "a")
    second = launchml.train(text_config, out=tmp_path / "b")
    assert first.metrics == second.metrics
    assert first.meta["split_sizes"] == second.meta["split_sizes"] == {
        "train": 18, "val": 6, "test": 4,
    }  # fmt: skip


def test_a_crash_before_the_first_checkpoint_leaves_nothing_behind(
    text_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args, **kwargs):
        raise RuntimeError("power cut")

    monkeypatch.setattr(TfidfLogreg, "fit", explode)
    with pytest.raises(RuntimeError):
        launchml.train(text_config, out=tmp_path / "runs" / "crashed")
    assert list((tmp_path / "runs").iterdir()) == []  # rerunning is not blocked
    monkeypatch.undo()
    assert launchml.train(text_config, out=tmp_path / "runs" / "crashed").path.is_dir()


def test_a_crash_after_a_checkpoint_keeps_the_partial_run_for_resume(
    text_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args, **kwargs):
        raise RuntimeError("power cut")

    monkeypatch.setattr("launchml.pipeline.classification_metrics", explode)  # after fit
    overrides = ["model.type=mlp", "train.epochs=1", "train.threads=1"]
    config = load_config(text_config, overrides)
    with pytest.raises(RuntimeError):
        launchml.train(config, out=tmp_path / "runs" / "crashed")
    assert not (tmp_path / "runs" / "crashed").exists()
    partial = tmp_path / "runs" / "crashed.partial"
    assert (partial / "work" / CHECKPOINT).is_file() and not (partial / "meta.json").exists()
    assert list_runs(tmp_path / "runs") == []
    with pytest.raises(LaunchMLError, match="interrupted"):
        Run.load(tmp_path / "runs" / "crashed")
    with pytest.raises(LaunchMLError, match="--resume"):
        launchml.train(config, out=tmp_path / "runs" / "crashed")


def test_out_directory_must_not_exist(text_config: Path, tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    with pytest.raises(LaunchMLError, match="already exists"):
        launchml.train(text_config, out=tmp_path / "run")


def test_default_run_directory_is_under_runs(
    text_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    first = launchml.train(text_config)
    second = launchml.train(text_config)
    assert first.path.parent == second.path.parent == Path("runs")
    assert first.path != second.path
    assert first.path.name.endswith("tfidf_logreg")


def test_runs_list_shows_finished_runs_with_metrics(text_config: Path, tmp_path: Path) -> None:
    launchml.train(text_config, out=tmp_path / "runs" / "one")
    run = launchml.train(load_config(text_config, ["train.seed=1"]), out=tmp_path / "runs" / "two")
    rows = {row["run"]: row for row in list_runs(tmp_path / "runs")}
    assert set(rows) == {"one", "two"}
    assert rows["two"]["test_accuracy"] == run.metrics["test"]["accuracy"]
    assert rows["two"]["model"] == "tfidf_logreg"


def test_image_run_round_trip_with_npz(tmp_path: Path) -> None:
    """The run artifact works for images too (tfidf is text-only, so a small torch model)."""
    pytest.importorskip("launchml.models.mlp")
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 20)
    x = (rng.random((60, 6, 6)) * 60).astype(np.uint8)
    for i, label in enumerate(y):
        x[i, label * 2 : label * 2 + 2, :] = 250  # each class lights up its own rows
    np.savez(tmp_path / "digits.npz", x_train=x, y_train=y, x_test=x[::3], y_test=y[::3])
    config = {
        "data": {"train": str(tmp_path / "digits.npz"), "test": str(tmp_path / "digits.npz")},
        "model": {"type": "mlp"},
        "train": {"epochs": 30, "lr": 0.01},
    }
    run = launchml.train(config, out=tmp_path / "run")
    assert run.labels == ["0", "1", "2"]
    assert run.metrics["test"]["accuracy"] > 0.9
    loaded = Run.load(tmp_path / "run")
    np.testing.assert_allclose(loaded.predict_proba(x[:5]), run.predict_proba(x[:5]), atol=1e-6)
    assert loaded.predict(x[0]) == str(y[0])  # one image in -> one label out
