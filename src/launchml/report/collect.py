"""Everything a report shows, gathered from a run directory (and its data, when still there).

The run's own test split (else its validation split) is re-loaded with
:func:`launchml.data.load.load_splits` and scored again, which gives the probabilities behind the
reliability diagram, the ROC curve and the hardest examples. When the data files are gone the
report falls back to ``metrics.json`` and says so.
"""

from __future__ import annotations

import csv
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from launchml.errors import LaunchMLError
from launchml.evaluate import Evaluation, evaluate_dataset, evaluate_path
from launchml.exporter import read_exports
from launchml.profiling import environment
from launchml.runs import Run

HARDEST = 24
EXPLAINED = 6  # misclassified examples explained in the report


@dataclass
class ReportData:
    run: Run
    history: list[dict[str, Any]]
    metrics: dict[str, Any]  # the figures shown: a fresh evaluation, or metrics.json
    source: str  # which data the figures are about
    evaluation: Evaluation | None = None
    class_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    data_report: dict[str, Any] | None = None
    filters: np.ndarray | None = None
    environment: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what the report could not do, and why
    exports: list[dict[str, Any]] = field(default_factory=list)  # RUN/exports.json
    explanations: list[tuple[Any, dict[str, Any]]] = field(default_factory=list)  # (why, row)


def collect(run: Run, data_path: str | Path | None = None) -> ReportData:
    """Gather the report's contents for ``run``; ``data_path`` evaluates on another file."""
    notes: list[str] = []
    splits = None
    try:
        from launchml.data.load import load_splits

        splits = load_splits(run.config.data)
    except LaunchMLError as exc:
        notes.append(f"the run's data could not be re-loaded ({exc}); figures from metrics.json")
    class_counts: dict[str, dict[str, int]] = {}
    if splits is not None:
        for name in ("train", "val", "test"):
            data = getattr(splits, name)
            if data is not None:
                class_counts[name] = dict(Counter(data.labels))

    evaluation: Evaluation | None = None
    if data_path is not None:
        evaluation = evaluate_path(run, data_path)
        source = str(data_path)
    elif splits is not None and (splits.test or splits.val) is not None:
        split = "test" if splits.test is not None else "val"
        evaluation = evaluate_dataset(run, getattr(splits, split))
        source = f"{split} split ({getattr(splits, split).source})"
        _check_against_saved(run, split, evaluation, notes)
    else:
        split = "test" if "test" in run.metrics else "val"
        source = f"{split} split (metrics.json)"
    if evaluation is not None:
        metrics = evaluation.metrics
        notes.extend(evaluation.notes)
    else:
        metrics = run.metrics.get("test") or run.metrics.get("val") or {}

    explanations = explain_mistakes(run, evaluation, notes) if evaluation is not None else []
    return ReportData(
        run=run,
        explanations=explanations,
        history=read_history(run.path / "history.csv"),
        metrics=metrics,
        source=source,
        evaluation=evaluation,
        class_counts=class_counts,
        data_report=_data_report(run, notes),
        filters=first_conv_filters(run.model),
        environment=environment(),
        notes=notes,
        exports=read_exports(run.path),
    )


def _check_against_saved(run: Run, split: str, evaluation: Evaluation, notes: list[str]) -> None:
    saved = run.metrics.get(split, {}).get("accuracy")
    fresh = evaluation.metrics["accuracy"]
    if saved is not None and abs(saved - fresh) > 1e-9:
        notes.append(
            f"the {split} accuracy now is {fresh:.4f} but metrics.json says {saved:.4f}: "
            "the data files changed since training"
        )


def read_history(path: Path) -> list[dict[str, Any]]:
    """``history.csv`` as a list of rows (values as text; empty cells as ``None``)."""
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return [
            {k: (v if v != "" else None) for k, v in row.items()} for row in csv.DictReader(handle)
        ]


def _data_report(run: Run, notes: list[str]) -> dict[str, Any] | None:
    """The validation report of ``launchml data inspect`` for the run's data."""
    from launchml.data.inspect import inspect_data

    try:
        return inspect_data(run.config.data)
    except LaunchMLError as exc:
        notes.append(f"no data validation report ({exc})")
        return None


def first_conv_filters(model: Any) -> np.ndarray | None:
    """Weights ``(out, in, kh, kw)`` of the first ``nn.Conv2d`` the model holds, if any.

    Looks through every torch module among the model's attributes, so it needs no knowledge of a
    model type's attribute names (an ensemble shows its first member's); a model without torch
    (or without convolutions) gives ``None``.
    """
    torch = sys.modules.get("torch")
    if torch is None:  # the model would have imported it
        return None
    for value in vars(model).values():
        if isinstance(value, torch.nn.Module):
            for module in value.modules():
                if isinstance(module, torch.nn.Conv2d):
                    return module.weight.detach().cpu().float().numpy()
        elif isinstance(value, list) and value and hasattr(value[0], "predict_proba"):
            return first_conv_filters(value[0])  # an ensemble: its first member's filters
    return None


def explain_mistakes(
    run: Run, evaluation: Evaluation, notes: list[str], n: int = EXPLAINED
) -> list[tuple[Any, dict[str, Any]]]:
    """Explanations of the ``n`` misclassified rows given the lowest probability for their
    true label, each with its row of :func:`hardest_examples`: why the model said what it said."""
    from launchml.explain import explain_prepared

    rows = [
        r
        for r in hardest_examples(evaluation, run.labels, len(evaluation.data))
        if r["top"][0][0] != r["true"]
    ]
    rows = rows[:n]
    if not rows:
        return []
    index = np.array([r["index"] for r in rows])
    inputs = evaluation.data.inputs
    prepared = inputs[index] if isinstance(inputs, np.ndarray) else [inputs[i] for i in index]
    names = [str(r["input"]) if evaluation.data.kind == "text" else f"row {r['row']}" for r in rows]
    try:
        found = explain_prepared(run, prepared, names)
    except LaunchMLError as exc:
        notes.append(f"no explanations ({exc})")
        return []
    return list(zip(found, rows, strict=True))


def hardest_examples(evaluation: Evaluation, labels: list[str], n: int = HARDEST) -> list[dict]:
    """The ``n`` rows given the lowest probability for their true label (unseen labels: 0)."""
    index = {label: i for i, label in enumerate(labels)}
    proba = evaluation.proba
    p_true = np.array(
        [proba[i, index[t]] if t in index else 0.0 for i, t in enumerate(evaluation.data.labels)]
    )
    order = np.argsort(p_true, kind="stable")[:n]
    rows = []
    for i in order:
        top = np.argsort(-proba[i], kind="stable")[:3]
        rows.append(
            {
                "index": int(i),
                "row": evaluation.data.rows[i] if evaluation.data.rows else str(i),
                "input": evaluation.data.inputs[i],
                "true": evaluation.data.labels[i],
                "p_true": float(p_true[i]),
                "top": [(labels[j], float(proba[i, j])) for j in top],
            }
        )
    return rows
