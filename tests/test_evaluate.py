"""Our metrics against a direct scikit-learn computation on the same predictions."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from launchml.evaluate import classification_metrics


def random_case(seed: int, n: int = 200, k: int = 5):
    rng = np.random.default_rng(seed)
    labels = [f"class_{i}" for i in range(k)]
    truth_idx = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), truth_idx] += rng.uniform(0, 2.5, n)  # mostly right, not always
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return labels, [labels[i] for i in truth_idx], proba


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_match_sklearn(seed: int) -> None:
    labels, truth, proba = random_case(seed)
    predicted = [labels[i] for i in proba.argmax(axis=1)]
    metrics = classification_metrics(truth, proba, labels)

    assert metrics["n"] == len(truth)
    assert metrics["accuracy"] == pytest.approx(accuracy_score(truth, predicted))
    assert metrics["macro_f1"] == pytest.approx(f1_score(truth, predicted, average="macro"))
    assert metrics["weighted_f1"] == pytest.approx(f1_score(truth, predicted, average="weighted"))
    p, r, f, s = precision_recall_fscore_support(truth, predicted, labels=labels, zero_division=0)
    for i, label in enumerate(labels):
        row = metrics["per_class"][label]
        assert (row["precision"], row["recall"], row["f1"], row["support"]) == pytest.approx(
            (p[i], r[i], f[i], s[i])
        )


def test_unseen_labels_count_as_errors_and_are_reported() -> None:
    labels = ["a", "b"]
    truth = ["a", "b", "c", "c"]
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    metrics = classification_metrics(truth, proba, labels)
    assert metrics["accuracy"] == 0.5
    assert metrics["accuracy_known"] == 1.0
    assert metrics["unseen_labels"] == {"c": 2}
    assert metrics["per_class"]["c"]["recall"] == 0.0


def test_a_class_never_predicted_gives_no_warning(recwarn: pytest.WarningsRecorder) -> None:
    metrics = classification_metrics(["a", "b", "b"], np.array([[0.9, 0.1]] * 3), ["a", "b"])
    assert metrics["per_class"]["b"]["precision"] == 0.0
    assert metrics["per_class"]["b"]["recall"] == 0.0
    assert not [w for w in recwarn if "zero_division" in str(w.message).lower()]
