"""``launchml export`` and the torch-free runtime: every exportable model type's bundle against
the torch run it came from (same predictions, scores within the stated tolerance), the accuracy
guard refusing a broken export (and leaving nothing on disk), manifest verification, the CLI,
and a bundle predicting in a Python process where torch, transformers and scikit-learn cannot
be imported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import launchml
from launchml.errors import ConflictError, DamagedArtifactError
from launchml.exporter import export, read_exports
from launchml.exporter.guard import ATOL, RTOL, ExportRefusedError
from launchml.runtime import load_bundle
from tests.conftest import INTENTS, write_csv
from tests.test_models_contract import tiny_images
from tests.test_transformer import tiny_bert_dir

PROBES = [
    "where is my order",
    "Refund please!!",
    "i moved, new address",
    "totally unknown words zzz qqq",
    "change the address of order 123 please " * 8,
]


def _text_files(root: Path) -> dict[str, Any]:
    rows = [(text, label) for label, texts in INTENTS.items() for text in texts]
    train = write_csv(root / "train.csv", rows)
    return {"train": str(train), "split": {"val": 0.25, "seed": 0}}


def _image_files(root: Path) -> dict[str, Any]:
    images, y = tiny_images(60, seed=0)
    path = root / "images.npz"
    np.savez(path, x_train=images, y_train=y)
    return {"train": str(path), "split": {"val": 0.25, "seed": 0}}


# fmt: off
MODELS: dict[str, tuple[str, dict[str, Any]]] = {
    "mlp-text": ("text", {"type": "mlp", "mlp": {"hidden": [16]}}),
    "lstm-word": (
        "text",
        {"type": "lstm", "lstm": {"tokenizer": "word", "hidden_size": 8, "embedding_dim": 8}},
    ),
    "lstm-wordpiece": (
        "text",
        {
            "type": "lstm",
            "lstm": {"tokenizer": "BERT", "hidden_size": 8, "embedding_dim": 8,
                     "pooling": "max_mean", "layers": 2, "max_length": 12},
        },
    ),
    "textcnn": ("text", {"type": "textcnn", "textcnn": {"filters": 4, "embedding_dim": 8}}),
    "transformer": (
        "text", {"type": "transformer", "transformer": {"body": "finetune", "precision": "fp32"}}
    ),
    "tfidf": ("text", {"type": "tfidf_logreg"}),
    "cnn": ("image", {"type": "cnn", "cnn": {"widths": [4, 8], "dense": 8, "batch_norm": True}}),
    "mlp-image": ("image", {"type": "mlp", "mlp": {"hidden": [16]}}),
    "ensemble": (
        "text",
        {"type": "ensemble", "ensemble": {"member": "lstm", "size": 2},
         "lstm": {"tokenizer": "word", "hidden_size": 8, "embedding_dim": 8}},
    ),
}
# fmt: on


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("export")
    tiny_bert_dir(root / "bert")
    return root


def _train(workspace: Path, key: str) -> launchml.Run:
    run_dir = workspace / "runs" / key
    if run_dir.is_dir():
        return launchml.Run.load(run_dir)
    kind, model = MODELS.get(key) or MODELS[key.replace("-trained", "-text")]
    model = json.loads(json.dumps(model).replace('"BERT"', json.dumps(str(workspace / "bert"))))
    if model["type"] == "transformer":
        model["transformer"].update(pretrained=str(workspace / "bert"), pooling="mean",
                                    cache_dir=str(workspace / "cache"), max_length=16)  # fmt: skip
    files = _text_files(workspace) if kind == "text" else _image_files(workspace)
    train = {"epochs": 2, "batch_size": 8, "lr": 3e-3, "threads": 1}
    if key == "mlp-trained":  # trained until it is right on its training texts
        train.update(epochs=40, lr=2e-2, early_stopping={"patience": None})
    config = {"data": files, "model": model, "train": train}
    return launchml.train(config, out=run_dir, quiet=True)


def _probes(run: launchml.Run) -> Any:
    if run.kind == "text":
        return PROBES
    images, _ = tiny_images(7, seed=5)
    return images


@pytest.mark.parametrize("key", list(MODELS))
def test_an_fp32_bundle_predicts_as_the_run(key: str, workspace: Path) -> None:
    run = _train(workspace, key)
    result = export(run, quantize="none", out=workspace / "bundles" / f"{key}-fp32")
    bundle = load_bundle(result.path)
    inputs = _probes(run)
    expected = run.predict_proba(inputs)
    got = bundle.predict_proba(inputs)
    assert bundle.predict(inputs) == run.predict(inputs)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert result.figures["fp32"]["max_abs_diff"] <= ATOL + RTOL * 10
    assert result.figures["accuracy"]["onnx_fp32"] == result.figures["accuracy"]["torch"]
    facts = bundle.describe()
    assert (facts["format"], facts["type"], facts["labels"]) == ("bundle", run.config.model.type,
                                                                 run.labels)  # fmt: skip
    assert facts["sha256"].startswith("sha256:")
    manifest = json.loads((result.path / "manifest.json").read_text(encoding="utf-8"))
    assert "bundle.json" in manifest["files"] and manifest["figures"]["data"]["source"] == "val"
    if key == "tfidf":  # char_wb n-grams do not convert: said plainly, served from skops
        assert any("served from skops" in note for note in result.notes)
        assert (result.path / "model.skops").is_file()
    else:
        assert all(m["runtime"] == "onnx" for m in json.loads(
            (result.path / "bundle.json").read_text(encoding="utf-8"))["members"])  # fmt: skip


@pytest.mark.parametrize("key", ["transformer", "lstm-word", "cnn"])
def test_int8_bundles_are_quantised_and_measured(key: str, workspace: Path) -> None:
    run = _train(workspace, key)
    fp32 = workspace / "bundles" / f"{key}-fp32"
    if not fp32.is_dir():
        export(run, quantize="none", out=fp32)
    result = export(run, quantize="int8", out=workspace / "bundles" / f"{key}-int8", max_drop=100)
    figures = result.figures
    assert set(figures["accuracy"]) == {"torch", "onnx_fp32", "onnx_int8"}
    assert figures["int8"]["drop_points"] == pytest.approx(
        (figures["accuracy"]["torch"] - figures["accuracy"]["onnx_int8"]) * 100, abs=1e-3
    )
    assert figures["latency_ms"]["bundle"]["p50"] > 0 and figures["size_bytes"]["bundle"] > 0
    bundle = load_bundle(result.path)
    spec = json.loads((result.path / "bundle.json").read_text(encoding="utf-8"))
    assert spec["quantize"] == "int8"
    graph = result.path / "model.onnx"
    if key != "lstm-word":  # that LSTM is so small that per-channel scales outweigh the saving
        assert graph.stat().st_size < (fp32 / "model.onnx").stat().st_size
    proba = bundle.predict_proba(_probes(run))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert [r["bundle"] for r in read_exports(run.path)][-1] == str(result.path.resolve())
    import onnx

    model = onnx.load(str(graph))
    ops = {node.op_type for node in model.graph.node}
    assert any(w.data_type == onnx.TensorProto.INT8 for w in model.graph.initializer)
    if key == "cnn":  # static: int8 convolutions between Quantize/DequantizeLinear pairs
        assert {"QuantizeLinear", "DequantizeLinear", "Conv"} <= ops and "ConvInteger" not in ops
    else:  # dynamic: activations quantised per call
        assert "DynamicQuantizeLinear" in ops or "DynamicQuantizeLSTM" in ops


def test_image_calibration_is_a_sample_of_the_training_split(workspace: Path) -> None:
    from launchml.data.load import load_splits
    from launchml.exporter.guard import guard_data

    run = _train(workspace, "cnn")
    guard = guard_data(run, None)
    splits = load_splits(run.config.data)
    assert guard.source == "val" and guard.calibration is not None
    assert len(guard.calibration) == min(256, len(splits.train))
    train = {image.tobytes() for image in splits.train.inputs}
    assert all(image.tobytes() in train for image in guard.calibration)
    assert guard_data(_train(workspace, "transformer"), None).calibration is None


def _perturbing_quantizer(source: Path, target: Path) -> None:
    """A 'quantiser' whose graph negates the logits: every prediction the torch model got right
    (the highest logit) becomes the lowest, so a model right on most examples is now wrong."""
    import onnx
    from onnx import helper

    model = onnx.load(str(source))
    graph = model.graph
    old = graph.output[0].name
    for node in graph.node:
        node.output[:] = [f"{o}_raw" if o == old else o for o in node.output]
    graph.node.append(helper.make_node("Neg", [f"{old}_raw"], [old]))
    onnx.save(model, str(target))


def test_the_guard_refuses_a_broken_export_and_writes_nothing(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = _train(workspace, "mlp-trained")
    seen = workspace / "train.csv"  # the training texts: the model is right on most of them
    target = workspace / "refused" / "bundle"
    from launchml.exporter import graphs, members
    from launchml.exporter.guard import accuracy, guard_data

    guard = guard_data(run, seen)
    assert accuracy(run.model.predict_proba(guard.inputs), guard.labels, run.labels) > 0.5
    monkeypatch.setattr(members, "quantize_int8", _perturbing_quantizer)
    before = sorted(p.name for p in run.path.iterdir())
    with pytest.raises(ExportRefusedError, match=r"refused: the int8 bundle scores .* lower"):
        export(run, quantize="int8", out=target, data=seen, max_drop=0.5)
    assert not target.parent.exists() or list(target.parent.iterdir()) == []

    # a graph whose fp32 scores differ from torch's fails the fp32 check (before quantising)
    real_export = graphs.export_member

    def broken_export(model: Any, path: Path) -> dict[str, Any]:
        entry = real_export(model, path)
        _perturbing_quantizer(path, path)
        return entry

    monkeypatch.setattr(members, "export_member", broken_export)
    with pytest.raises(ExportRefusedError, match="fp32 graph's scores differ"):
        export(run, quantize="none", out=target, data=seen)
    assert not target.parent.exists() or list(target.parent.iterdir()) == []
    assert sorted(p.name for p in run.path.iterdir()) == before  # no record of a refused export


def test_the_manifest_catches_an_edited_bundle_file(workspace: Path, tmp_path: Path) -> None:
    import shutil

    source = workspace / "bundles" / "lstm-word-fp32"
    if not source.is_dir():
        export(_train(workspace, "lstm-word"), quantize="none", out=source)
    for name in ("vocab.json", "model.onnx", "bundle.json"):
        copy = tmp_path / name
        shutil.copytree(source, copy)
        with (copy / name).open("ab") as handle:
            handle.write(b" ")
        with pytest.raises(DamagedArtifactError, match=f"modified: {name}"):
            load_bundle(copy)
    shutil.copytree(source, tmp_path / "gone")
    (tmp_path / "gone" / "vocab.json").unlink()
    with pytest.raises(DamagedArtifactError, match="missing: vocab.json"):
        load_bundle(tmp_path / "gone")


def test_export_from_the_command_line(workspace: Path, cli: Any) -> None:
    run = _train(workspace, "mlp-text")
    out = workspace / "cli-bundle"
    result = cli("export", run.path, "--quantize", "none", "--out", out)
    assert result.code == 0, result.err
    lines = result.out.strip().splitlines()
    assert lines[-1] == str(out) and any(line.startswith("accuracy: torch") for line in lines)
    again = cli("export", run.path, "--quantize", "none", "--out", out)
    assert again.code == 2
    assert again.err.strip() == f"error: {out}: already exists; choose another --out or remove it"
    with pytest.raises(ConflictError):
        export(run, quantize="none", out=out)
    from launchml.report import build_report

    html = build_report(run.path, out=workspace / "report.html").read_text(encoding="utf-8")
    section = html[html.index('<section id="export">') :]
    assert str(out.resolve()) in section and "fp32" in section and 'href="#export"' in html
    bad = cli("export", run.path, "--quantize", "int4")
    assert bad.code == 2
    assert bad.err.strip() == "error: --quantize: expected int8 or none, got 'int4'"


BLOCKER = """
import importlib.abc, sys
class _Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"torch", "transformers", "sklearn", "scipy", "skops"}:
            raise ImportError(f"{name} is blocked in this test")
        return None
sys.meta_path.insert(0, _Blocked())
"""

RUNTIME_SCRIPT = """
import json, sys
import numpy as np
from launchml.runtime import load_bundle
cases = json.loads(sys.argv[1])
out = {}
for case in cases:
    bundle = load_bundle(case["bundle"])
    inputs = case["texts"] if case["texts"] is not None else np.array(case["images"], np.uint8)
    out[case["bundle"]] = {"labels": bundle.predict(inputs),
                           "proba": bundle.predict_proba(inputs).tolist()}
heavy = [m for m in ("torch", "transformers", "sklearn") if m in sys.modules]
print(json.dumps({"results": out, "heavy": heavy}))
"""


def test_bundles_predict_without_torch_transformers_or_sklearn(workspace: Path) -> None:
    cases, expected = [], {}
    for key in ("transformer", "lstm-wordpiece", "cnn", "ensemble"):
        run = _train(workspace, key)
        bundle = workspace / "bundles" / f"{key}-fp32"
        if not bundle.is_dir():
            export(run, quantize="none", out=bundle)
        inputs = _probes(run)
        texts = inputs if run.kind == "text" else None
        images = None if run.kind == "text" else np.asarray(inputs).tolist()
        cases.append({"bundle": str(bundle), "texts": texts, "images": images})
        expected[str(bundle)] = (run.predict(inputs), run.predict_proba(inputs))
    done = subprocess.run(
        [sys.executable, "-c", BLOCKER + RUNTIME_SCRIPT, json.dumps(cases)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["heavy"] == []
    for bundle, (labels, proba) in expected.items():
        assert report["results"][bundle]["labels"] == labels
        np.testing.assert_allclose(report["results"][bundle]["proba"], proba, atol=1e-5)
