"""``launchml export RUN``: a run as a bundle that runs without torch (:mod:`launchml.runtime`).

The export reads top to bottom:

1. the guard's data: the run's validation split (else test), or ``data``;
2. each member (one, or an ensemble's) to an ONNX graph (:mod:`~launchml.exporter.graphs`;
   a transformer through ONNX Runtime's transformer optimisations), its tokenizer beside it;
   ``tfidf_logreg`` through skl2onnx or as its skops file (:mod:`~launchml.exporter.sklearn_model`);
3. the fp32 guard: the bundle, loaded by the runtime itself, must give the torch model's scores;
4. ``quantize="int8"``: dynamic int8 quantisation, and the int8 guard: at most ``max_drop``
   accuracy points lost;
5. latency and size before and after, into ``manifest.json`` (with the sha256 of every file);
   the bundle is built in a temporary directory and renamed to ``out`` only when it passed, so a
   refused export leaves nothing behind. The run records the export in ``RUN/exports.json``
   (the report's "Export" section).

Example::

    result = export("runs/shop", quantize="int8")     # runs/shop/bundles/onnx-int8
    result.figures["accuracy"]                        # {"torch": 0.93, "onnx_int8": 0.93, ...}
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from launchml.errors import ConflictError, InvalidInputError
from launchml.exporter.guard import (
    GuardData,
    accuracy,
    check_agreement,
    check_drop,
    directory_bytes,
    guard_data,
    latency_ms,
    load_average,
)
from launchml.manifest import MANIFEST, write_manifest

EXPORTS_RECORD = "exports.json"
FORMATS = ("onnx",)
QUANTIZE = ("int8", "none")


@dataclass
class ExportResult:
    """Where the bundle is, what the guard measured, and notes (e.g. "served from skops")."""

    path: Path
    figures: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def export(
    run: Any,
    *,
    format: str = "onnx",
    quantize: str = "int8",
    out: str | Path | None = None,
    data: str | Path | None = None,
    max_drop: float = 0.5,
    optimize: bool = True,
    log: Callable[[str], None] | None = None,
) -> ExportResult:
    """Export a finished run (a :class:`launchml.runs.Run` or its directory) as a bundle.

    Parameters
    ----------
    format: ``onnx`` (the only one).
    quantize: ``int8`` (dynamic quantisation, checked against ``max_drop``) or ``none`` (fp32).
    out: the bundle directory to create (default ``RUN/bundles/<format>-<quantize>``).
    data: labelled data for the guard instead of the run's validation split.
    max_drop: the most accuracy points (percent) int8 may lose against the torch model.
    optimize: run ONNX Runtime's transformer optimisations before quantising (transformers).
    """
    from launchml.runs import Run

    run = run if isinstance(run, Run) else Run.load(run)
    if format not in FORMATS:
        raise InvalidInputError(f"--format: expected one of {', '.join(FORMATS)}, got {format!r}")
    if quantize not in QUANTIZE:
        raise InvalidInputError(f"--quantize: expected int8 or none, got {quantize!r}")
    if not 0 <= max_drop <= 100:
        raise InvalidInputError(f"--max-drop: expected 0 to 100 accuracy points, got {max_drop}")
    target = Path(out) if out is not None else run.path / "bundles" / f"{format}-{quantize}"
    if target.exists():
        raise ConflictError(f"{target}: already exists; choose another --out or remove it")
    say = log or (lambda _line: None)
    guard = guard_data(run, data)
    say(f"guard data: {guard.source} ({len(guard.labels)} examples)")
    work = target.with_name(f".{target.name}.partial-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    try:
        work.mkdir(parents=True)
        result = _build(run, work, guard, quantize, max_drop, optimize, say)
        os.rename(work, target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    result.path = target
    _record(run, target, result.figures)
    return result


def _build(
    run: Any,
    work: Path,
    guard: GuardData,
    quantize: str,
    max_drop: float,
    optimize: bool,
    say: Callable[[str], None],
) -> ExportResult:
    import torch

    from launchml.exporter.members import export_members, quantize_members, torch_scores
    from launchml.runtime.bundle import load_bundle

    members = list(getattr(run.model, "members_", [run.model]))
    sources = (
        [run.path / f"member{i}" for i in range(len(members))] if len(members) > 1 else [run.path]
    )
    notes: list[str] = []
    entries, optimizer_stats = export_members(members, sources, work, guard, optimize, notes, say)
    threads = torch.get_num_threads()  # the bundle is timed with torch's thread count

    _write_bundle(run, work, entries, "none", {})
    bundle = load_bundle(work, threads=threads)
    say("fp32 guard: comparing the graph's scores with the torch model's")
    fp32 = check_agreement(torch_scores(members, guard.inputs), bundle.member_scores(guard.inputs))
    torch_proba = run.model.predict_proba(guard.inputs)
    fp32_proba = bundle.proba_prepared(guard.inputs)
    figures: dict[str, Any] = {
        "data": {"source": guard.source, "n": len(guard.labels)},
        "exporter": "torch.onnx.export(dynamo=False), opset 17",
        "fp32": {**fp32, "same_predictions": _same(torch_proba, fp32_proba)},
        "accuracy": {
            "torch": accuracy(torch_proba, guard.labels, run.labels),
            "onnx_fp32": accuracy(fp32_proba, guard.labels, run.labels),
        },
    }
    if optimizer_stats:
        figures["transformer_optimizer"] = optimizer_stats
    final_proba = fp32_proba
    if quantize == "int8":
        if quantize_members(entries, work, guard, say):
            _write_bundle(run, work, entries, "int8", {})
            bundle = load_bundle(work, threads=threads)
            final_proba = bundle.proba_prepared(guard.inputs)
            after = accuracy(final_proba, guard.labels, run.labels)
            figures["accuracy"]["onnx_int8"] = after
            before = figures["accuracy"]["torch"]
            figures["int8"] = {
                "same_predictions": _same(torch_proba, final_proba),
                "max_abs_proba_diff": float(np.abs(final_proba - torch_proba).max(initial=0.0)),
                "drop_points": round((before - after) * 100.0, 4),
                "max_drop": max_drop,
            }
            check_drop(before, after, max_drop, "the int8 bundle")
        else:
            notes.append("int8 does not apply to this model (nothing to quantise): kept fp32")
    final = "onnx_int8" if "onnx_int8" in figures["accuracy"] else "onnx_fp32"
    say("timing single predictions: torch, then the bundle")
    figures["latency_ms"] = {
        "torch": latency_ms(run.model.predict_proba, guard.inputs),
        "bundle": latency_ms(bundle.proba_prepared, guard.inputs),
        "threads": threads,
        "load_average_1m": load_average(),
    }
    from launchml.profiling import model_size_bytes

    figures["size_bytes"] = {
        "run_model": model_size_bytes(run.path),
        "bundle": directory_bytes(work, skip=(MANIFEST,)),
    }
    figures["notes"] = notes
    quantized = "int8" if final == "onnx_int8" else "none"
    metrics = {guard.source: {"n": len(guard.labels), "accuracy": figures["accuracy"][final]}}
    _write_bundle(run, work, entries, quantized, metrics)
    from launchml.runtime.bundle import FORMAT, FORMAT_VERSION

    write_manifest(
        work,
        {
            "kind": "bundle",
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "source_run": str(run.path.resolve()),
            "figures": figures,
        },
    )
    return ExportResult(work, figures, notes)


def _write_bundle(
    run: Any, work: Path, entries: list[dict[str, Any]], quantize: str, metrics: dict[str, Any]
) -> None:
    from launchml import __version__
    from launchml.runs import write_json
    from launchml.runtime.bundle import BUNDLE_FILE, FORMAT, FORMAT_VERSION

    spec = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "name": run.name,
        "model_type": run.config.model.type,
        "kind": run.kind,
        "labels": list(run.labels),
        "text_column": run.config.data.text_column,  # the column batch scoring reads
        "input_shape": list(run.input_shape) if run.input_shape else None,
        "clean": run.config.data.clean.model_dump(mode="json"),
        # data.pii: redact: the runtime redacts what it predicts on, as the training texts were
        "pii": run.config.data.pii.model_dump(mode="json", exclude={"mode"})
        if run.config.data.pii.mode == "redact"
        else None,
        "batch_size": run.config.inference.batch_size,
        "threads": run.config.inference.threads,
        "quantize": quantize,
        "combine": "mean_probability" if len(entries) > 1 else None,
        "members": entries,
        "metrics": metrics,
        "launchml_version": __version__,
    }
    write_json(work / "labels.json", {str(i): label for i, label in enumerate(run.labels)})
    write_json(work / BUNDLE_FILE, spec)
    write_manifest(work, {"kind": "bundle"})  # the runtime verifies it; rewritten at the end


def _same(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(np.asarray(a).argmax(axis=1) == np.asarray(b).argmax(axis=1)))


def _record(run: Any, bundle: Path, figures: dict[str, Any]) -> None:
    """Add the export to ``RUN/exports.json`` (the report's "Export" section); a run directory
    that cannot be written to just goes without the record."""
    from launchml.runs import write_json

    path = run.path / EXPORTS_RECORD
    try:
        records = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []
        if not isinstance(records, list):
            records = []
        records.append(
            {
                "bundle": str(bundle.resolve()),
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "figures": figures,
            }
        )
        write_json(path, records)
    except (OSError, ValueError):
        pass


def read_exports(run_dir: Path) -> list[dict[str, Any]]:
    """The exports recorded in ``RUN/exports.json`` (``[]`` without one)."""
    path = Path(run_dir) / EXPORTS_RECORD
    try:
        records = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []
    except (OSError, ValueError):
        return []
    return [r for r in records if isinstance(r, dict)] if isinstance(records, list) else []


__all__ = ["EXPORTS_RECORD", "ExportResult", "export", "read_exports"]
