"""Our metrics against a direct scikit-learn computation on the same predictions."""

from __future__ import annotations

import csv
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_recall_fscore_support,
    roc_auc_score,
)

from launchml.calibration import reliability
from launchml.data.dataset import Dataset
from launchml.evaluate import classification_metrics, misclassified
from tests.conftest import write_csv


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


# -- every figure against a direct scikit-learn computation -----------------------------------


@pytest.mark.parametrize(("seed", "k"), [(0, 5), (1, 5), (2, 2), (3, 12)])
def test_every_figure_matches_sklearn(seed: int, k: int) -> None:
    labels, truth, proba = random_case(seed, n=300, k=k)
    predicted = [labels[i] for i in proba.argmax(axis=1)]
    y = np.array([labels.index(t) for t in truth])
    m = classification_metrics(truth, proba, labels)

    assert m["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(truth, predicted))
    for average in ("macro", "weighted", "micro"):
        p, r, f, _ = precision_recall_fscore_support(
            truth, predicted, average=average, zero_division=0
        )
        assert (m[f"{average}_precision"], m[f"{average}_recall"], m[f"{average}_f1"]) == (
            pytest.approx((p, r, f))
        )
    assert m["log_loss"] == pytest.approx(log_loss(y, proba, labels=range(k)))
    if k == 2:
        assert m["roc_auc"] == pytest.approx(roc_auc_score(y, proba[:, 1]))
        assert m["roc_auc_average"] == "binary"
    else:
        expected = roc_auc_score(y, proba, multi_class="ovr", average="macro")
        assert m["roc_auc"] == pytest.approx(expected)
        assert m["roc_auc_average"] == "ovr_macro"

    counts = confusion_matrix(truth, predicted, labels=labels)
    assert m["confusion"]["labels"] == labels
    assert m["confusion"]["counts"] == counts.tolist()
    normalized = confusion_matrix(truth, predicted, labels=labels, normalize="true")
    assert np.allclose(m["confusion"]["normalized"], normalized, atol=1e-6)

    off_diagonal = counts - np.diag(np.diag(counts))
    top = m["top_confusions"][0]
    assert top["count"] == off_diagonal.max()
    assert counts[labels.index(top["true"]), labels.index(top["predicted"])] == top["count"]
    assert top["share_of_true"] == pytest.approx(
        top["count"] / counts[labels.index(top["true"])].sum()
    )
    assert [c["count"] for c in m["top_confusions"]] == sorted(
        (c["count"] for c in m["top_confusions"]), reverse=True
    )


@pytest.mark.parametrize("seed", [0, 1])
def test_calibration_matches_sklearn_calibration_curve(seed: int) -> None:
    labels, truth, proba = random_case(seed, n=500, k=4)
    confidence = proba.max(axis=1)
    correct = np.array([labels[i] == t for i, t in zip(proba.argmax(1), truth, strict=True)])
    m = classification_metrics(truth, proba, labels)
    rel = m["reliability"]
    prob_true, prob_pred = calibration_curve(correct, confidence, n_bins=rel["n_bins"])
    filled = [b for b in rel["bins"] if b["count"]]
    assert [b["accuracy"] for b in filled] == pytest.approx(prob_true)
    assert [b["confidence"] for b in filled] == pytest.approx(prob_pred)
    assert sum(b["count"] for b in rel["bins"]) == len(truth)
    # ECE by its definition, from sklearn's curve and a direct count per bin
    edges = np.linspace(0, 1, rel["n_bins"] + 1)
    per_bin = np.bincount(np.searchsorted(edges[1:-1], confidence), minlength=rel["n_bins"])
    weights = per_bin[per_bin > 0] / len(truth)
    assert m["ece"] == pytest.approx(float(np.sum(weights * np.abs(prob_true - prob_pred))))
    assert m["reliability"]["mce"] == pytest.approx(float(np.max(np.abs(prob_true - prob_pred))))


def test_reliability_by_hand() -> None:
    rel = reliability(np.array([0.9, 0.6, 1.0, 0.05]), np.array([1, 0, 1, 0]), n_bins=10)
    assert rel["ece"] == pytest.approx((0.1 + 0.6 + 0.0 + 0.05) / 4)
    assert [b["count"] for b in rel["bins"]] == [1, 0, 0, 0, 0, 1, 0, 0, 1, 1]


def test_unseen_labels_and_zero_support_leak_no_warnings() -> None:
    # 'c' is unknown to the model, 'd' is a model class absent from the data and never predicted,
    # 'b' is predicted but absent from the data (precision 0, recall undefined)
    labels = ["a", "b", "d"]
    truth = ["a", "a", "c", "c", "a"]
    proba = np.array(
        [[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.7, 0.2, 0.1]]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        m = classification_metrics(truth, proba, labels)
    assert m["unseen_labels"] == {"c": 2}
    assert m["n_known"] == 3
    predicted = ["a", "b", "a", "b", "a"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns here; we must not
        assert m["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(truth, predicted))
    assert "d" not in m["per_class"]
    assert m["per_class"]["b"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert m["confusion"]["labels"] == ["a", "b", "d", "c"]
    assert m["confusion"]["normalized"][2] == [0.0, 0.0, 0.0, 0.0]  # 'd': no support, no NaN
    assert m["log_loss"] == pytest.approx(log_loss([0, 0, 0], proba[[0, 1, 4]], labels=[0, 1, 2]))
    assert m["roc_auc"] is None  # one class among the known rows: AUC undefined, not an error
    assert {"true": "c", "predicted": "b", "count": 1, "share_of_true": 0.5} in m["top_confusions"]


def test_misclassified_rows_with_top3() -> None:
    data = Dataset(["x", "y", "z"], ["a", "b", "a"], "text", "mem", ["line 2", "line 3", "line 4"])
    proba = np.array([[0.7, 0.2, 0.1], [0.6, 0.3, 0.1], [0.1, 0.3, 0.6]])
    rows = misclassified(data, proba, ["a", "b", "c"])
    assert [r["row"] for r in rows] == ["line 3", "line 4"]  # most confident mistake first
    assert rows[0]["top"] == [
        {"label": "a", "probability": 0.6},
        {"label": "b", "probability": 0.3},
        {"label": "c", "probability": 0.1},
    ]
    assert rows[1]["input"] == "z" and rows[1]["predicted"] == "c"


# -- launchml evaluate ----------------------------------------------------------------------------


def test_evaluate_command_reports_everything(cli, text_config: Path, tmp_path: Path) -> None:
    assert cli("train", text_config, "--out", tmp_path / "run", "-q").code == 0
    data = write_csv(
        tmp_path / "eval.csv",
        [("where is my parcel", "order_status"), ("refund it", "refund"), ("hello", "greeting")],
    )
    result = cli("evaluate", tmp_path / "run", "--data", data, "--json", "--out", tmp_path / "ev")
    assert result.code == 0, result.err
    assert "'greeting'" in result.err  # the unseen label, by name
    report = json.loads(result.out)
    assert report["unseen_labels"] == {"greeting": 1}
    assert report["n"] == 3 and report["accuracy"] <= 2 / 3
    inference = report["inference"]
    assert inference["batched_samples_per_s"] > 0 and inference["single_samples_per_s"] > 0
    assert inference["model_size_bytes"] > 0 and inference["peak_rss_mb"] > 0
    assert any(r["true"] == "greeting" for r in report["misclassified"])
    saved = json.loads((tmp_path / "ev" / "metrics.json").read_text(encoding="utf-8"))
    assert saved["accuracy"] == report["accuracy"] and "misclassified" not in saved
    with (tmp_path / "ev" / "misclassified.csv").open(encoding="utf-8") as handle:
        wrong = list(csv.DictReader(handle))
    assert len(wrong) == len(report["misclassified"])
    assert {"row", "input", "true", "predicted", "confidence", "top1"} <= set(wrong[0])

    text = cli("evaluate", tmp_path / "run", "--data", data)
    assert text.code == 0
    for phrase in ("balanced accuracy", "ROC-AUC", "ECE", "samples/s at batch size 1", "micro"):
        assert phrase in text.out


def test_evaluate_out_must_be_a_directory(cli, text_config: Path, tmp_path: Path) -> None:
    cli("train", text_config, "--out", tmp_path / "run", "-q")
    (tmp_path / "file").write_text("x", encoding="utf-8")
    result = cli(
        "evaluate", tmp_path / "run", "--data", tmp_path / "test.csv", "--out", tmp_path / "file"
    )
    assert result.code == 2 and "not a directory" in result.err
    into_run = cli(
        "evaluate", tmp_path / "run", "--data", tmp_path / "test.csv", "--out", tmp_path / "run"
    )
    assert into_run.code == 2 and "is a run directory" in into_run.err
