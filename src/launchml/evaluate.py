"""Metrics of a model's predictions, computed with scikit-learn.

Rows whose true label the model never saw in training count as errors; they are also reported by
name, and ``accuracy_known`` gives the accuracy on the other rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from launchml.data.clean import clean_dataset
from launchml.errors import LaunchMLError


def classification_metrics(
    true_labels: list[str], proba: np.ndarray, labels: list[str]
) -> dict[str, Any]:
    """Metrics for predictions ``proba`` (columns in ``labels`` order) against ``true_labels``.

    Example::

        classification_metrics(["a", "b"], np.array([[0.9, 0.1], [0.2, 0.8]]), ["a", "b"])
        # {'n': 2, 'accuracy': 1.0, 'macro_f1': 1.0, ...}
    """
    predicted = [labels[i] for i in np.asarray(proba).argmax(axis=1)]
    known = set(labels)
    unseen: dict[str, int] = {}
    for label in true_labels:
        if label not in known:
            unseen[label] = unseen.get(label, 0) + 1
    present = sorted(set(true_labels) | set(predicted))
    precision, recall, f1, support = precision_recall_fscore_support(
        true_labels, predicted, labels=present, zero_division=0
    )
    known_rows = [i for i, label in enumerate(true_labels) if label in known]
    per_class = {
        label: {
            "precision": float(p),
            "recall": float(r),
            "f1": float(f),
            "support": int(s),
        }
        for label, p, r, f, s in zip(present, precision, recall, f1, support, strict=True)
    }
    return {
        "n": len(true_labels),
        "accuracy": float(accuracy_score(true_labels, predicted)),
        "macro_f1": float(
            f1_score(true_labels, predicted, labels=present, average="macro", zero_division=0)
        ),
        "weighted_f1": float(
            f1_score(true_labels, predicted, labels=present, average="weighted", zero_division=0)
        ),
        "accuracy_known": float(
            accuracy_score([true_labels[i] for i in known_rows], [predicted[i] for i in known_rows])
        )
        if known_rows
        else None,
        "unseen_labels": unseen,
        "per_class": per_class,
    }


def evaluate_run(run: Any, data_path: str | Path) -> tuple[dict[str, Any], list[str]]:
    """Evaluate a loaded :class:`launchml.runs.Run` on a labelled file or folder.

    The file is read with the run's own data settings (columns, quoting, image size) and cleaned
    like the training data, except that duplicates are kept: every given row is scored.
    Returns the metrics and notes (e.g. labels the model never saw).
    """
    from launchml.data.load import load_dataset, unseen_label_notes

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
        raise LaunchMLError(f"{data_path}: no rows to evaluate")
    if dataset.kind != run.kind:
        raise LaunchMLError(
            f"{data_path}: holds {dataset.kind}s but the run was trained on {run.kind}s"
        )
    notes += unseen_label_notes(dataset, run.labels, "evaluation")
    proba = run.model.predict_proba(dataset.inputs)
    return classification_metrics(dataset.labels, proba, run.labels), notes
