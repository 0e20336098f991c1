"""Temperature scaling (Guo et al., 2017): one number T so that softmax(logits / T) is calibrated.

T is fitted on validation data by minimising the negative log-likelihood of the true classes;
it never changes which class is on top, only how sure the model says it is. A model without
logits (TF-IDF + logistic regression) is scaled through its log-probabilities, which are its
logits up to a constant per row.

Example::

    T = fit_temperature(val_logits, val_y)            # e.g. 0.62 for an under-confident head
    proba = softmax_t(test_logits, T)
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax

from launchml.calibration import reliability

T_MIN, T_MAX = 0.01, 100.0


def softmax_t(logits: np.ndarray, temperature: float) -> np.ndarray:
    """Row-wise softmax of ``logits / temperature``."""
    return np.exp(log_softmax(np.asarray(logits, dtype=np.float64) / temperature, axis=1))


def nll(logits: np.ndarray, y: np.ndarray, temperature: float) -> float:
    """Mean negative log-likelihood of the classes ``y`` under ``softmax(logits / T)``."""
    logp = log_softmax(np.asarray(logits, dtype=np.float64) / temperature, axis=1)
    return float(-logp[np.arange(len(y)), y].mean())


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The T in [0.01, 100] that minimises the validation NLL (1.0 when there is no data).

    The NLL is convex in 1/T, so a bounded scalar search over log T finds the minimum.
    """
    y = np.asarray(y, dtype=np.int64)
    if len(y) == 0:
        return 1.0
    result = minimize_scalar(
        lambda log_t: nll(logits, y, float(np.exp(log_t))),
        bounds=(np.log(T_MIN), np.log(T_MAX)),
        method="bounded",
        options={"xatol": 1e-5},
    )
    return float(np.exp(result.x))


def ece(proba: np.ndarray, y: np.ndarray) -> float:
    """Expected calibration error of the top-label confidences (15 equal-width bins)."""
    proba = np.asarray(proba)
    if len(proba) == 0:
        return 0.0
    correct = proba.argmax(axis=1) == np.asarray(y)
    return float(reliability(proba.max(axis=1), correct)["ece"])


def logits_from_proba(proba: np.ndarray) -> np.ndarray:
    """Log-probabilities as logits, for models that only give probabilities."""
    return np.log(np.clip(np.asarray(proba, dtype=np.float64), 1e-12, None))


__all__ = ["ece", "fit_temperature", "logits_from_proba", "nll", "softmax_t"]
