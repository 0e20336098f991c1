"""The accuracy guard of ``launchml export``: the exported model against the torch model.

On the run's validation split (else its test split, or ``--data FILE``):

- **fp32**: every member's ONNX scores must agree with the torch model's to
  ``|onnx - torch| <= ATOL + RTOL * |torch|`` (logits; probabilities for a scikit-learn member),
  on every example. The torch reference runs in float32 (a bf16 run is compared with its fp32
  self: the graph computes in fp32).
- **int8**: quantisation changes the numbers by design, so it is judged by what it costs: the
  bundle's accuracy may be at most ``max_drop`` points (percent) below the torch model's.

Plus the figures a user needs to decide: prediction agreement, accuracy before and after,
single-example latency (p50/p99) of torch and of the bundle, and sizes on disk.

Example::

    data = guard_data(run, None)                 # the validation split, cleaned as in training
    check_agreement(torch_scores, onnx_scores)   # raises ExportRefusedError when they differ
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from launchml.errors import InvalidInputError, LaunchMLError

#: fp32 agreement: |onnx - torch| <= ATOL + RTOL * |torch| for every score
ATOL = 1e-4
RTOL = 1e-3
LATENCY_MAX = 100
LATENCY_MIN = 10
LATENCY_BUDGET_S = 3.0
WARMUP = 3
#: images that calibrate static int8 quantisation (activation ranges)
CALIBRATION_SIZE = 256


class ExportRefusedError(LaunchMLError):
    """The exported model does not predict as the run does: nothing was written."""

    http_status = 422
    code = "export_refused"


@dataclass
class GuardData:
    """Prepared inputs (cleaned texts or uint8 images) with their true labels."""

    inputs: list[str] | np.ndarray
    labels: list[str]
    source: str  # "val", "test" or the file given
    #: images that set static int8 quantisation's activation ranges: a seeded sample of the
    #: training split (not the images the guard then judges), None for text runs
    calibration: np.ndarray | None = None


def guard_data(run: Any, data: str | Path | None) -> GuardData:
    """The examples the guard scores: ``data`` (a labelled file or folder, read with the run's
    settings), else the run's validation split, else its test split."""
    if data is not None:
        from launchml.evaluate import load_eval_data

        dataset, _notes = load_eval_data(run, data)
        return GuardData(
            dataset.inputs, dataset.labels, str(data), calibration_sample(dataset.inputs)
        )
    from launchml.data.load import load_splits

    try:
        splits = load_splits(run.config.data)
    except LaunchMLError as exc:
        raise InvalidInputError(
            f"the run's validation data cannot be read ({exc}); give labelled data with --data FILE"
        ) from None
    for name in ("val", "test"):
        split = getattr(splits, name)
        if split is not None and len(split):
            return GuardData(
                split.inputs, split.labels, name, calibration_sample(splits.train.inputs)
            )
    raise InvalidInputError(
        f"{run.path}: the run has no validation or test split to check the export on; "
        "give labelled data with --data FILE"
    )


def calibration_sample(inputs: list[str] | np.ndarray) -> np.ndarray | None:
    """Up to CALIBRATION_SIZE images, a seeded random sample; None for texts."""
    if not isinstance(inputs, np.ndarray) or len(inputs) == 0:
        return None
    rng = np.random.default_rng(0)
    keep = np.sort(rng.choice(len(inputs), size=min(CALIBRATION_SIZE, len(inputs)), replace=False))
    return inputs[keep]


def accuracy(proba: np.ndarray, labels: list[str], names: list[str]) -> float:
    predicted = [names[i] for i in np.asarray(proba).argmax(axis=1)]
    return float(np.mean([p == t for p, t in zip(predicted, labels, strict=True)]))


def check_agreement(reference: list[np.ndarray], exported: list[np.ndarray]) -> dict[str, Any]:
    """fp32: each member's scores within tolerance of the torch model's, else refuse."""
    worst = 0.0
    for i, (ref, got) in enumerate(zip(reference, exported, strict=True)):
        ref, got = np.asarray(ref, dtype=np.float64), np.asarray(got, dtype=np.float64)
        if ref.shape != got.shape:
            raise ExportRefusedError(
                f"export refused: member {i}'s graph gives scores of shape {got.shape}, the torch "
                f"model {ref.shape}; nothing was written"
            )
        excess = np.abs(got - ref) - (ATOL + RTOL * np.abs(ref))
        worst = max(worst, float(np.abs(got - ref).max(initial=0.0)))
        if (excess > 0).any():
            row = int(np.argwhere(excess > 0)[0][0])
            raise ExportRefusedError(
                f"export refused: the fp32 graph's scores differ from the torch model's by up to "
                f"{float(np.abs(got - ref).max()):.3g} (allowed {ATOL:g} + {RTOL:g}*|score|; "
                f"first at example {row}, member {i}); nothing was written"
            )
    return {"max_abs_diff": worst, "tolerance": f"|onnx - torch| <= {ATOL:g} + {RTOL:g}*|torch|"}


def check_drop(before: float, after: float, max_drop: float, what: str) -> None:
    """int8: at most ``max_drop`` accuracy points lost, else refuse."""
    drop = (before - after) * 100.0
    if drop > max_drop + 1e-9:
        raise ExportRefusedError(
            f"export refused: {what} scores {after:.4f} against the torch model's {before:.4f} "
            f"({drop:.2f} points lower; --max-drop {max_drop:g}); nothing was written "
            "(try --quantize none)"
        )


def latency_ms(predict: Callable[[Any], Any], inputs: list[str] | np.ndarray) -> dict[str, Any]:
    """p50/p99 of single-example predictions over the first inputs (at most ``LATENCY_MAX``, or
    ``LATENCY_BUDGET_S`` seconds once ``LATENCY_MIN`` are timed; after ``WARMUP`` calls)."""
    n = len(inputs)
    for i in range(min(n, WARMUP)):
        predict(inputs[i : i + 1])
    times = []
    end = time.perf_counter() + LATENCY_BUDGET_S
    for i in range(min(n, LATENCY_MAX)):
        started = time.perf_counter()
        predict(inputs[i : i + 1])
        times.append((time.perf_counter() - started) * 1000.0)
        if time.perf_counter() > end and len(times) >= LATENCY_MIN:
            break
    if not times:
        return {"p50": None, "p99": None, "n": 0}
    return {
        "p50": round(float(np.percentile(times, 50)), 3),
        "p99": round(float(np.percentile(times, 99)), 3),
        "n": len(times),
    }


def directory_bytes(directory: Path, skip: tuple[str, ...] = ()) -> int:
    return sum(
        p.stat().st_size
        for p in Path(directory).rglob("*")
        if p.is_file() and p.relative_to(directory).parts[0] not in skip
    )


def load_average() -> float | None:
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None


__all__ = [
    "ATOL",
    "RTOL",
    "ExportRefusedError",
    "GuardData",
    "accuracy",
    "check_agreement",
    "check_drop",
    "directory_bytes",
    "guard_data",
    "latency_ms",
]
