"""Class 1 of the bad inputs: a damaged or incomplete run directory.

A copied run missing a file, a truncated download, a hand-edited file: every command that loads
a run (predict, evaluate, report, compare, runs list) says which file is wrong and what to do,
and "modified after training" when the run's manifest shows it. Each row copies a freshly
trained run, damages it, and runs one command.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import yaml

import launchml
from launchml.errors import DamagedArtifactError, NotFoundError
from launchml.manifest import MANIFEST
from launchml.runs import Run, check_run_dir
from tests.bad_input import Row, check_row, good_csv

MODELS = {
    "tfidf": {"type": "tfidf_logreg"},
    "mlp": {"type": "mlp", "mlp": {"hidden": [16]}},
    "ensemble": {"type": "ensemble", "ensemble": {"member": "mlp", "size": 2}},
    "transformer": {"type": "transformer", "transformer": {"body": "frozen"}},
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One finished run per model type (1 epoch on 24 texts), to be copied and damaged."""
    root = tmp_path_factory.mktemp("trained")
    train = good_csv(root)
    for name, model in MODELS.items():
        if name == "transformer":
            model = {**model, "transformer": {**model["transformer"], "cache_dir": str(root)}}
        config = {
            "data": {"train": str(train), "split": {"val": 0.25, "seed": 0}},
            "model": model,
            "train": {"epochs": 1, "threads": 1, "batch_size": 8},
        }
        launchml.train(config, out=root / name)
    return root


# -- damages: each takes the copied run directory -------------------------------------------


def remove(name: str, keep_manifest: bool = True) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        target = run / name
        shutil.rmtree(target) if target.is_dir() else target.unlink()
        if not keep_manifest:
            (run / MANIFEST).unlink()

    return damage


def without_manifest(damage: Callable[[Path], None]) -> Callable[[Path], None]:
    """The same damage to a run with no manifest (copied from an older launchml, or the
    manifest lost too): the file-by-file checks must find it on their own."""

    def both(run: Path) -> None:
        (run / MANIFEST).unlink()
        damage(run)

    return both


def write(name: str, content: bytes) -> Callable[[Path], None]:
    return lambda run: (run / name).write_bytes(content)


def truncate(name: str) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        data = (run / name).read_bytes()
        (run / name).write_bytes(data[: len(data) // 2])

    return damage


def edit_yaml(key: str, value: object) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        config = yaml.safe_load((run / "config.yaml").read_text())
        section, _, field = key.partition(".")
        config[section][field] = value
        (run / "config.yaml").write_text(yaml.safe_dump(config))

    return damage


def edit_json(name: str, change: Callable[[dict], object]) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        data = json.loads((run / name).read_text())
        change(data)
        (run / name).write_text(json.dumps(data))

    return damage


def drop_last_label(labels: dict) -> None:
    labels.pop(str(len(labels) - 1))


def wrong_shaped_weights(run: Path) -> None:
    from safetensors.numpy import load_file, save_file

    tensors = load_file(run / "weights.safetensors")
    tensors = {key: np.zeros((2, *value.shape[1:]), value.dtype) for key, value in tensors.items()}
    save_file(tensors, run / "weights.safetensors")


# -- the commands ------------------------------------------------------------------------------


def case(model: str, damage: Callable[[Path], None], command: str = "predict"):
    def make(tmp: Path, trained: Path) -> list[str]:
        run = tmp / "run"
        shutil.copytree(trained / model, run)
        damage(run)
        data = good_csv(tmp, "data.csv")
        return {
            "predict": ["predict", str(run), "where is my order"],
            "evaluate": ["evaluate", str(run), "--data", str(data), "--out", str(tmp / "eval")],
            "report": ["report", str(run), "--out", str(tmp / "report.html")],
            "compare": ["compare", str(run)],
        }[command]

    return make


TABLE: dict[str, Row] = {
    "labels.json missing": Row(case("tfidf", remove("labels.json")), ["labels.json", "missing"]),
    "labels.json not JSON": Row(
        case("tfidf", without_manifest(write("labels.json", b"{")), "evaluate"),
        ["labels.json", "not valid JSON"],
    ),
    "labels.json edited": Row(
        case("tfidf", edit_json("labels.json", lambda d: d.update({"0": "other"}))),
        ["labels.json", "modified after training"],
    ),
    "fewer labels than outputs (skops)": Row(
        case("tfidf", without_manifest(edit_json("labels.json", drop_last_label))),
        ["model.skops", "3 classes but labels.json names 2"],
    ),
    "model.skops truncated": Row(
        case("tfidf", without_manifest(truncate("model.skops")), "report"),
        ["model.skops", "truncated"],
    ),
    "model.skops not a skops file": Row(
        case("tfidf", without_manifest(write("model.skops", b"hello")), "compare"),
        ["model.skops", "not a readable skops file"],
    ),
    "model.skops missing": Row(case("tfidf", remove("model.skops")), ["model.skops", "missing"]),
    "config.yaml not YAML": Row(
        case("tfidf", without_manifest(write("config.yaml", b"data: [\n"))),
        ["config.yaml", "not valid YAML"],
    ),
    "config.yaml names another model type": Row(
        case("tfidf", without_manifest(edit_yaml("model.type", "mlp"))),
        ["config.yaml", "model.type 'mlp'", "saved model is a 'tfidf_logreg'"],
    ),
    "config.yaml edited": Row(
        case("mlp", edit_yaml("train.epochs", 7), "evaluate"),
        ["config.yaml", "modified after training"],
    ),
    "weights truncated": Row(
        case("mlp", without_manifest(truncate("weights.safetensors")), "evaluate"),
        ["weights.safetensors", "truncated"],
    ),
    "weights missing": Row(
        case("mlp", remove("weights.safetensors")), ["weights.safetensors", "missing"]
    ),
    "weights of the wrong shape": Row(
        case("mlp", without_manifest(wrong_shaped_weights)),
        ["model files cannot be loaded", "size mismatch"],
    ),
    "fewer labels than outputs (torch)": Row(
        case("mlp", without_manifest(edit_json("labels.json", drop_last_label)), "report"),
        ["labels.json", "names 2 labels but the model has 3 outputs"],
    ),
    "model.json names another type": Row(
        case("mlp", without_manifest(edit_json("model.json", lambda d: d.update(type="cnn")))),
        ["config.yaml", "model.type 'mlp'", "saved model is a 'cnn'"],
    ),
    "vocab.json missing": Row(
        case("mlp", without_manifest(remove("vocab.json"))), ["vocab.json", "missing"]
    ),
    "metrics.json not an object": Row(
        case("mlp", without_manifest(write("metrics.json", b"[]"))),
        ["metrics.json", "expected a JSON object"],
    ),
    "meta.json missing": Row(case("mlp", remove("meta.json")), ["meta.json", "missing"]),
    "manifest not JSON": Row(
        case("mlp", write(MANIFEST, b"{")), [MANIFEST, "not a launchml manifest"]
    ),
    "ensemble member missing": Row(
        case("ensemble", without_manifest(remove("member1"))), ["member1", "missing"]
    ),
    "ensemble.json promises more members": Row(
        case("ensemble", without_manifest(edit_json("ensemble.json", lambda d: d.update(size=3)))),
        ["member2", "missing"],
    ),
    "encoder weights truncated": Row(
        case("transformer", without_manifest(truncate("encoder/model.safetensors"))),
        ["encoder/model.safetensors", "truncated"],
    ),
    "encoder tokenizer missing": Row(
        case("transformer", without_manifest(remove("encoder/tokenizer.json"))),
        ["encoder", "neither tokenizer.json nor vocab.txt"],
    ),
    "head missing": Row(
        case("transformer", remove("head.safetensors"), "evaluate"),
        ["head.safetensors", "missing"],
    ),
}


@pytest.mark.parametrize("name", list(TABLE))
def test_damaged_run_gives_one_clear_line(name: str, trained: Path, tmp_path: Path, cli) -> None:
    row = TABLE[name]
    row = dataclasses.replace(row, make=functools.partial(row.make, trained=trained))
    check_row(row, tmp_path, cli)
    assert not (tmp_path / "eval").exists() and not (tmp_path / "report.html").exists()


def test_a_run_path_that_is_not_a_run(trained: Path, tmp_path: Path, cli) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    for path, fragment in (
        (tmp_path / "notes.txt", "is a file, not a run directory"),
        (tmp_path, "not a launchml run directory"),
        (tmp_path / "nope", "run directory not found"),
    ):
        result = cli("predict", path, "hello")
        assert result.code == 2 and fragment in result.err, result.err
        with pytest.raises(NotFoundError, match=fragment):
            check_run_dir(path)


def test_check_run_dir_passes_whole_runs_and_names_damage(trained: Path, tmp_path: Path) -> None:
    for name in MODELS:
        check_run_dir(trained / name)  # every freshly trained run is whole
    shutil.copytree(trained / "mlp", tmp_path / "run")
    (tmp_path / "run" / "history.csv").write_text("edited\n")
    with pytest.raises(DamagedArtifactError, match="history.csv: modified after training"):
        check_run_dir(tmp_path / "run")
    check_run_dir(tmp_path / "run", digests=False)  # present and parseable is all it checks


def test_a_run_without_manifest_still_loads(trained: Path, tmp_path: Path) -> None:
    shutil.copytree(trained / "tfidf", tmp_path / "run")
    (tmp_path / "run" / MANIFEST).unlink()  # as runs from before manifests were written
    assert Run.load(tmp_path / "run").predict("where is my order") in {
        "order_status", "refund", "change_address",
    }  # fmt: skip


def test_runs_list_skips_and_names_a_damaged_run(trained: Path, tmp_path: Path, cli) -> None:
    shutil.copytree(trained / "tfidf", tmp_path / "good")
    shutil.copytree(trained / "mlp", tmp_path / "broken")
    (tmp_path / "broken" / "labels.json").write_text("{")
    (tmp_path / "broken.partial").mkdir()  # an interrupted run: not listed, not a warning
    result = cli("runs", "list", tmp_path)
    assert result.code == 0, result.err
    assert "good" in result.out and "broken" not in result.out
    warnings = result.err.strip().splitlines()
    assert len(warnings) == 1, result.err
    assert warnings[0].startswith("warning: skipped a damaged run: ")
    assert "broken/labels.json: not valid JSON" in warnings[0]
