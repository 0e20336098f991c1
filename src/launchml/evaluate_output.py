"""How ``launchml evaluate`` shows and saves an :class:`~launchml.evaluate.Evaluation`."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from launchml.errors import ConflictError
from launchml.evaluate import Evaluation
from launchml.outputs import check_output_dir
from launchml.profiling import busy_machine_note
from launchml.runs import write_json

METRICS_FILE = "metrics.json"
MISCLASSIFIED_FILE = "misclassified.csv"


def evaluation_json(evaluation: Evaluation) -> dict[str, Any]:
    """The metrics (top level, as ``classification_metrics`` returns them) plus ``inference``,
    ``notes`` and ``misclassified``."""
    return evaluation.metrics | {
        "inference": evaluation.inference,
        "notes": evaluation.notes,
        "misclassified": evaluation.misclassified,
    }


def check_evaluation_out(out: Path) -> None:
    """``out`` can take an evaluation: a writable (or creatable) directory that is not a run."""
    check_output_dir(out, "--out")
    if (out / "meta.json").is_file():
        raise ConflictError(
            f"{out}: is a run directory, whose metrics.json holds the training-time figures; "
            "choose another --out"
        )


def write_evaluation(evaluation: Evaluation, out: Path) -> list[Path]:
    """Write ``metrics.json`` (everything but the examples) and ``misclassified.csv`` in ``out``."""
    check_evaluation_out(out)
    out.mkdir(parents=True, exist_ok=True)
    summary = evaluation_json(evaluation)
    summary.pop("misclassified")
    metrics_path = out / METRICS_FILE
    write_json(metrics_path, summary)
    wrong_path = out / MISCLASSIFIED_FILE
    partial = wrong_path.with_name(wrong_path.name + ".tmp")  # renamed when complete
    with partial.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["row", "input", "true", "predicted", "confidence", "top1", "top2", "top3"])
        for r in evaluation.misclassified:
            tops = [f"{t['label']}:{t['probability']:.4f}" for t in r["top"]]
            writer.writerow(
                [r["row"], r["input"] if r["input"] is not None else "", r["true"], r["predicted"],
                 f"{r['confidence']:.6f}", *tops, *[""] * (3 - len(tops))]
            )  # fmt: skip
    partial.replace(wrong_path)
    return [metrics_path, wrong_path]


def _f(value: Any, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def format_evaluation(evaluation: Evaluation, examples: int = 10) -> str:
    """A terminal summary: headline figures, averages, confusions, calibration, speed, classes."""
    m = evaluation.metrics
    lines = [
        f"n {m['n']}  accuracy {m['accuracy']:.4f}  macro-F1 {m['macro_f1']:.4f}  "
        f"weighted-F1 {m['weighted_f1']:.4f}",
        f"balanced accuracy {m['balanced_accuracy']:.4f}  log loss {_f(m['log_loss'])}  "
        f"ROC-AUC {_f(m['roc_auc'])}"
        + (f" ({m['roc_auc_average']})" if m["roc_auc_average"] else "")
        + f"  ECE {m['ece']:.4f}",
        f"{'average':<10} {'precision':>9} {'recall':>7} {'f1':>7}",
    ]
    for avg in ("macro", "weighted", "micro"):
        lines.append(
            f"{avg:<10} {m[f'{avg}_precision']:>9.4f} {m[f'{avg}_recall']:>7.4f} "
            f"{m[f'{avg}_f1']:>7.4f}"
        )
    if m["unseen_labels"]:
        unseen = ", ".join(f"'{k}' ({v})" for k, v in m["unseen_labels"].items())
        lines.append(f"labels never seen in training (counted as errors): {unseen}")
        lines.append(f"accuracy on the other rows: {_f(m['accuracy_known'])}")
    if m["top_confusions"]:
        lines.append("most frequent confusions (true -> predicted):")
        for c in m["top_confusions"][:5]:
            lines.append(f"  {c['true']} -> {c['predicted']}: {c['count']}")
    inference = evaluation.inference
    if inference:
        lines.append(
            f"inference: {_f(inference['single_samples_per_s'], 1)} samples/s at batch size 1 "
            f"(median {_f(inference['single_latency_ms_p50'], 2)} ms), "
            f"{_f(inference['batched_samples_per_s'], 1)} samples/s at batch size "
            f"{inference['batch_size']}; model {inference['model_size_bytes'] / 1e6:.2f} MB on "
            f"disk; peak memory {inference['peak_rss_mb']:.0f} MB"
        )
        busy = busy_machine_note(inference)
        if busy:
            lines.append(f"note: {busy}")
    lines.append(f"{'class':<30} {'precision':>9} {'recall':>7} {'f1':>7} {'support':>8}")
    for label, row in m["per_class"].items():
        lines.append(
            f"{label:<30} {row['precision']:>9.3f} {row['recall']:>7.3f} "
            f"{row['f1']:>7.3f} {row['support']:>8}"
        )
    if evaluation.misclassified and examples:
        lines.append(f"most confident mistakes ({len(evaluation.misclassified)} in all):")
        for r in evaluation.misclassified[:examples]:
            shown = r["input"] if r["input"] is not None else f"row {r['row']}"
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            tops = ", ".join(f"{t['label']} {t['probability']:.2f}" for t in r["top"])
            lines.append(f"  [{r['true']}] {shown!r}: {tops}")
    return "\n".join(lines)
