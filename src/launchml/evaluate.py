"""Metrics of a model's predictions, computed with scikit-learn, and evaluation of a run.

Rows whose true label the model never saw in training count as errors; they are also reported by
name, and ``accuracy_known`` gives the accuracy on the other rows. Log loss and ROC-AUC need a
probability for the true class, which an unseen label does not have: they are computed over the
``n_known`` rows whose label the model knows. Classes without support (or never predicted) never
produce division-by-zero warnings: such figures are 0 (scikit-learn's ``zero_division=0``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    log_loss,
    precision_recall_fscore_support,
    roc_auc_score,
)

from launchml.calibration import DEFAULT_BINS, reliability
from launchml.data.clean import clean_dataset
from launchml.data.dataset import Dataset
from launchml.errors import InvalidInputError

TOP_CONFUSIONS = 10
TOP_K = 3


def classification_metrics(
    true_labels: list[str], proba: np.ndarray, labels: list[str]
) -> dict[str, Any]:
    """Metrics for predictions ``proba`` (columns in ``labels`` order) against ``true_labels``.

    Returns ``n``, ``accuracy``, ``balanced_accuracy``, precision / recall / F1 (``macro_*``,
    ``weighted_*``, ``micro_*``), ``per_class`` (support, precision, recall, F1), ``log_loss``,
    ``roc_auc`` (binary, or one-vs-rest macro over the classes present), ``ece`` and
    ``reliability``, ``confusion`` (counts and row-normalised; rows are true labels, columns
    predictions, over ``labels`` then any unseen labels), ``top_confusions``, ``unseen_labels``
    and ``accuracy_known``.

    Example::

        classification_metrics(["a", "b"], np.array([[0.9, 0.1], [0.2, 0.8]]), ["a", "b"])
        # {'n': 2, 'accuracy': 1.0, 'macro_f1': 1.0, ...}
    """
    proba = np.asarray(proba, dtype=np.float64)
    predicted_idx = proba.argmax(axis=1)
    predicted = [labels[i] for i in predicted_idx]
    index = {label: i for i, label in enumerate(labels)}
    unseen: dict[str, int] = {}
    for label in true_labels:
        if label not in index:
            unseen[label] = unseen.get(label, 0) + 1
    # The labels of the per-class table and the averages: every label that occurs (sklearn's
    # default); a class of the model that is neither in the data nor predicted has no figures.
    present = sorted(set(true_labels) | set(predicted))
    precision, recall, f1, support = precision_recall_fscore_support(
        true_labels, predicted, labels=present, zero_division=0
    )
    per_class = {
        label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for label, p, r, f, s in zip(present, precision, recall, f1, support, strict=True)
    }
    metrics: dict[str, Any] = {
        "n": len(true_labels),
        "n_known": len(true_labels) - sum(unseen.values()),
        "accuracy": float(accuracy_score(true_labels, predicted)),
        # mean recall over the classes that occur in the data (= sklearn.balanced_accuracy_score)
        "balanced_accuracy": float(np.mean(recall[support > 0])) if support.any() else 0.0,
    }
    for average in ("macro", "weighted", "micro"):
        p, r, f, _ = precision_recall_fscore_support(
            true_labels, predicted, labels=present, average=average, zero_division=0
        )
        metrics |= {f"{average}_precision": float(p), f"{average}_recall": float(r)}
        metrics[f"{average}_f1"] = float(f)

    known_rows = np.array([label in index for label in true_labels], dtype=bool)
    y_known = np.array([index[label] for label in true_labels if label in index], dtype=np.int64)
    metrics["accuracy_known"] = (
        float(np.mean(predicted_idx[known_rows] == y_known)) if len(y_known) else None
    )
    metrics |= _probability_metrics(y_known, proba[known_rows], len(labels))

    correct = np.array([t == p for t, p in zip(true_labels, predicted, strict=True)], dtype=bool)
    calibration = reliability(proba.max(axis=1), correct, DEFAULT_BINS)
    metrics["ece"] = calibration["ece"]
    metrics["reliability"] = calibration
    metrics["confusion"] = _confusion(true_labels, predicted, list(labels) + sorted(unseen))
    metrics["top_confusions"] = _top_confusions(metrics["confusion"])
    metrics["unseen_labels"] = unseen
    metrics["per_class"] = per_class
    return metrics


def _probability_metrics(y: np.ndarray, proba: np.ndarray, n_classes: int) -> dict[str, Any]:
    """Log loss and ROC-AUC over the rows with a known label (``None`` when undefined)."""
    out: dict[str, Any] = {"log_loss": None, "roc_auc": None, "roc_auc_average": None}
    if len(y) == 0:
        return out
    out["log_loss"] = float(log_loss(y, proba, labels=np.arange(n_classes)))
    classes = np.unique(y)
    if len(classes) < 2:
        return out  # AUC needs positives and negatives
    if n_classes == 2:
        out["roc_auc"] = float(roc_auc_score(y == 1, proba[:, 1]))
        out["roc_auc_average"] = "binary"
    else:
        # one-vs-rest, unweighted mean over the classes present (sklearn's multi_class="ovr"
        # needs every class present; a class without positives has no AUC)
        scores = [roc_auc_score(y == c, proba[:, c]) for c in classes]
        out["roc_auc"] = float(np.mean(scores))
        out["roc_auc_average"] = "ovr_macro"
    return out


def _confusion(true_labels: list[str], predicted: list[str], order: list[str]) -> dict[str, Any]:
    counts = confusion_matrix(true_labels, predicted, labels=order)
    totals = counts.sum(axis=1, keepdims=True)
    normalized = np.divide(
        counts, totals, out=np.zeros(counts.shape, dtype=np.float64), where=totals > 0
    )
    return {
        "labels": order,
        "counts": counts.tolist(),
        "normalized": np.round(normalized, 6).tolist(),
    }


def _top_confusions(confusion: dict[str, Any], top: int = TOP_CONFUSIONS) -> list[dict[str, Any]]:
    """The most frequent (true, predicted) mistakes, most frequent first."""
    labels, counts = confusion["labels"], np.asarray(confusion["counts"])
    cells = [
        (int(counts[i, j]), labels[i], labels[j])
        for i, j in zip(*np.nonzero(counts), strict=True)
        if i != j
    ]
    cells.sort(key=lambda c: (-c[0], c[1], c[2]))
    return [
        {
            "true": t,
            "predicted": p,
            "count": n,
            "share_of_true": n / int(counts[labels.index(t)].sum()),
        }
        for n, t, p in cells[:top]
    ]


def misclassified(
    data: Dataset, proba: np.ndarray, labels: list[str], top: int = TOP_K
) -> list[dict[str, Any]]:
    """The wrongly predicted rows, most confident first, each with its ``top`` predictions.

    ``index`` is the position in ``data``; ``row`` the source's row id (line number or file);
    ``input`` the text (``None`` for images).
    """
    order = np.argsort(-proba, axis=1, kind="stable")[:, :top]
    rows: list[dict[str, Any]] = []
    for i, true in enumerate(data.labels):
        best = int(order[i, 0])
        if labels[best] == true:
            continue
        rows.append(
            {
                "index": i,
                "row": data.rows[i] if data.rows else str(i),
                "input": data.inputs[i] if data.kind == "text" else None,
                "true": true,
                "predicted": labels[best],
                "confidence": float(proba[i, best]),
                "top": [
                    {"label": labels[j], "probability": round(float(proba[i, j]), 6)}
                    for j in order[i]
                ],
            }
        )
    rows.sort(key=lambda r: -r["confidence"])
    return rows


@dataclass
class Evaluation:
    """Everything one evaluation produced: the data, the probabilities and the figures."""

    data: Dataset
    proba: np.ndarray
    metrics: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    misclassified: list[dict[str, Any]] = field(default_factory=list)
    inference: dict[str, Any] | None = None


def load_eval_data(run: Any, data_path: str | Path) -> tuple[Dataset, list[str]]:
    """Read a labelled file or folder with the run's data settings, cleaned like training data
    except that duplicates are kept: every given row is scored."""
    from launchml.data.load import load_dataset

    data_config = run.config.data.model_copy(deep=True)
    data_config.clean.dedupe = False
    if (
        data_config.format != "auto"
        and Path(data_path).suffix.lower() != Path(data_config.train).suffix.lower()
    ):
        data_config.format = "auto"  # a different kind of file than training: detect it
    dataset = load_dataset(str(data_path), data_config, "test")
    dataset, notes = clean_dataset(dataset, data_config.clean)
    if len(dataset) == 0:
        raise InvalidInputError(f"{data_path}: no rows to evaluate")
    if dataset.kind != run.kind:
        raise InvalidInputError(
            f"{data_path}: holds {dataset.kind}s but the run was trained on {run.kind}s"
        )
    return dataset, notes


def evaluate_dataset(run: Any, data: Dataset, *, measure: bool = True) -> Evaluation:
    """Evaluate a loaded :class:`launchml.runs.Run` on an already loaded, cleaned dataset.

    With ``measure``, the inference figures (samples/s at batch size 1 and at
    ``inference.batch_size``, model size on disk, peak memory) are measured on the way.
    """
    from launchml.data.load import unseen_label_notes
    from launchml.profiling import measure_inference

    notes = unseen_label_notes(data, run.labels, "evaluation")
    if measure:
        proba, inference = measure_inference(run, data.inputs)
    else:
        proba, inference = run.model.predict_proba(data.inputs), None
    metrics = classification_metrics(data.labels, proba, run.labels)
    wrong = misclassified(data, proba, run.labels)
    return Evaluation(data, proba, metrics, notes, wrong, inference)


def evaluate_path(run: Any, data_path: str | Path, *, measure: bool = True) -> Evaluation:
    """:func:`evaluate_dataset` on a labelled file or folder (see :func:`load_eval_data`)."""
    data, notes = load_eval_data(run, data_path)
    evaluation = evaluate_dataset(run, data, measure=measure)
    evaluation.notes = notes + evaluation.notes
    return evaluation


def evaluate_run(run: Any, data_path: str | Path) -> tuple[dict[str, Any], list[str]]:
    """Evaluate a loaded :class:`launchml.runs.Run` on a labelled file or folder.

    The file is read with the run's own data settings (columns, quoting, image size) and cleaned
    like the training data, except that duplicates are kept: every given row is scored.
    Returns the metrics and notes (e.g. labels the model never saw).
    """
    evaluation = evaluate_path(run, data_path, measure=False)
    return evaluation.metrics, evaluation.notes


__all__ = [
    "Evaluation",
    "classification_metrics",
    "evaluate_dataset",
    "evaluate_path",
    "evaluate_run",
    "load_eval_data",
    "misclassified",
]
