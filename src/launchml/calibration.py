"""Calibration of top-label confidences: the reliability curve and expected calibration error.

A model is calibrated when, of all predictions made with confidence 0.8, 80% are right. The
predictions are put into ``n_bins`` equal-width bins of their top probability; for each bin the
reliability curve gives the mean confidence and the accuracy. ECE is the mean gap between the two,
weighted by how many predictions fall in each bin (Guo et al., 2017).

The bins are assigned exactly as scikit-learn's ``calibration_curve(strategy="uniform")`` does,
so the curve can be checked against it: top-label calibration is the binary calibration of
"the prediction was right" against "the top probability".
"""

from __future__ import annotations

from typing import Any

import numpy as np

DEFAULT_BINS = 15


def reliability(
    confidence: np.ndarray, correct: np.ndarray, n_bins: int = DEFAULT_BINS
) -> dict[str, Any]:
    """Reliability curve and calibration errors of top-label predictions.

    Parameters
    ----------
    confidence: the probability of the predicted class, one per prediction.
    correct: whether each prediction was right (booleans or 0/1).
    n_bins: equal-width bins over [0, 1].

    Returns
    -------
    ``{"ece", "mce", "n_bins", "bins": [{"lower", "upper", "count", "confidence", "accuracy"}]}``;
    ``confidence`` and ``accuracy`` are ``None`` for empty bins, which count for nothing.

    Example::

        reliability(np.array([0.9, 0.6]), np.array([True, False]), n_bins=10)["ece"]  # 0.35
    """
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bin_ids = np.searchsorted(edges[1:-1], confidence)  # as sklearn.calibration_curve
    totals = np.bincount(bin_ids, minlength=n_bins)
    conf_sums = np.bincount(bin_ids, weights=confidence, minlength=n_bins)
    right_sums = np.bincount(bin_ids, weights=correct, minlength=n_bins)
    bins = []
    ece = 0.0
    mce = 0.0
    n = max(len(confidence), 1)
    for i in range(n_bins):
        count = int(totals[i])
        mean_conf = float(conf_sums[i] / count) if count else None
        accuracy = float(right_sums[i] / count) if count else None
        if count:
            gap = abs(accuracy - mean_conf)  # type: ignore[operator]
            ece += gap * count / n
            mce = max(mce, gap)
        bins.append(
            {
                "lower": float(edges[i]),
                "upper": float(edges[i + 1]),
                "count": count,
                "confidence": mean_conf,
                "accuracy": accuracy,
            }
        )
    return {"ece": float(ece), "mce": float(mce), "n_bins": n_bins, "bins": bins}
