"""Activations, their derivatives, and losses with their gradients — plain NumPy.

Conventions (shared by the whole :mod:`launchml.reference` package):

- Rows are examples: a batch ``A`` has shape ``(m, n_units)``.
- Every loss is a *mean*, exactly as PyTorch's default ``reduction="mean"``:

  - ``mse``: mean over every element, ``mean((A - Y) ** 2)`` (with one output unit this is the
    mean over rows);
  - ``bce``: binary cross-entropy, mean over every element of
    ``-(Y log A + (1 - Y) log(1 - A))``;
  - ``cce``: categorical cross-entropy, mean over rows of ``-sum_k Y_k log A_k`` (``Y`` one-hot
    or class probabilities, ``A`` a softmax output).

  The ``1/m`` (or ``1/(m*k)``) of that mean is part of ``dL/dA``, so the weight gradients are the
  gradients of the mean loss and no extra division happens later.
"""

from __future__ import annotations

import numpy as np

ACTIVATIONS = ("sigmoid", "relu", "tanh", "identity", "softmax")
LOSSES = ("mse", "bce", "cce")
LOSS_NAMES = {
    "mse": "mean squared error",
    "bce": "binary cross-entropy",
    "cce": "categorical cross-entropy",
}
# Output activation each loss accepts. bce and cce take logs of the output, so the output must be a
# probability; anything else would produce log(negative) or log(>1) for some inputs.
LOSS_OUTPUTS = {
    "mse": ("identity", "sigmoid", "relu", "tanh", "softmax"),
    "bce": ("sigmoid",),
    "cce": ("softmax",),
}
# Pairs whose dL/dZ simplifies to (A - Y) / N. Using the simplified form is what textbooks show, and
# it stays finite when a sigmoid/softmax saturates (dL/dA alone would divide by ~0 there).
FUSED = {
    ("sigmoid", "bce"): "sigmoid + binary cross-entropy",
    ("softmax", "cce"): "softmax + categorical cross-entropy",
}

# Clip probabilities inside log() so a saturated output gives a large finite loss, not inf.
_LOG_EPS = 1e-12


def activate(name: str, z: np.ndarray) -> np.ndarray:
    """Apply activation ``name`` to pre-activations ``z`` of shape ``(m, n)``.

    >>> activate("relu", np.array([[-1.0, 2.0]]))
    array([[0., 2.]])
    """
    if name == "sigmoid":
        # Same value as 1 / (1 + exp(-z)), but never overflows for large negative z.
        return 0.5 * (1.0 + np.tanh(0.5 * z))
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "tanh":
        return np.tanh(z)
    if name == "identity":
        return z.copy()
    if name == "softmax":
        shifted = z - z.max(axis=1, keepdims=True)  # softmax is shift-invariant; avoids overflow
        e = np.exp(shifted)
        return e / e.sum(axis=1, keepdims=True)
    raise ValueError(f"unknown activation {name!r}; expected one of {ACTIVATIONS}")


def derivative(name: str, z: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Element-wise derivative ``g'(z)`` of an activation, given ``z`` and ``a = g(z)``.

    ReLU's derivative at exactly 0 is taken as 0 (PyTorch does the same). Softmax has no
    element-wise derivative (its Jacobian is a full matrix); use :func:`backprop_activation`.

    >>> derivative("sigmoid", np.array([[0.0]]), np.array([[0.5]]))
    array([[0.25]])
    """
    if name == "sigmoid":
        return a * (1.0 - a)
    if name == "relu":
        return (z > 0).astype(z.dtype)
    if name == "tanh":
        return 1.0 - a**2
    if name == "identity":
        return np.ones_like(z)
    if name == "softmax":
        raise ValueError("softmax has no element-wise derivative; use backprop_activation()")
    raise ValueError(f"unknown activation {name!r}; expected one of {ACTIVATIONS}")


def backprop_activation(name: str, z: np.ndarray, a: np.ndarray, da: np.ndarray) -> np.ndarray:
    """Turn ``dL/dA`` into ``dL/dZ`` for one layer.

    Element-wise activations: ``dL/dZ = dL/dA * g'(Z)``. Softmax: each row is the
    vector-Jacobian product ``a * (da - sum(da * a))``, from ``da_i/dz_j = a_i (δ_ij - a_j)``.
    """
    if name == "softmax":
        return a * (da - np.sum(da * a, axis=1, keepdims=True))
    return da * derivative(name, z, a)


def loss_value(name: str, a: np.ndarray, y: np.ndarray) -> float:
    """Mean loss of outputs ``a`` against targets ``y`` (both ``(m, k)``); see module docstring.

    >>> loss_value("mse", np.array([[0.5], [1.0]]), np.array([[0.0], [1.0]]))
    0.125
    """
    if name == "mse":
        return float(np.mean((a - y) ** 2))
    if name == "bce":
        p = np.clip(a, _LOG_EPS, 1.0 - _LOG_EPS)
        return float(np.mean(-(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))))
    if name == "cce":
        p = np.clip(a, _LOG_EPS, 1.0)
        return float(np.mean(-np.sum(y * np.log(p), axis=1)))
    raise ValueError(f"unknown loss {name!r}; expected one of {LOSSES}")


def loss_gradient(name: str, a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``dL/dA`` of the mean loss, shape ``(m, k)`` like ``a``.

    ``mse``: ``2 (A - Y) / (m k)``; ``bce``: ``(A - Y) / (A (1 - A)) / (m k)``;
    ``cce``: ``-Y / A / m``.
    """
    if name == "mse":
        return 2.0 * (a - y) / a.size
    if name == "bce":
        return (a - y) / (a * (1.0 - a)) / a.size
    if name == "cce":
        return -y / a / a.shape[0]
    raise ValueError(f"unknown loss {name!r}; expected one of {LOSSES}")


def fused_output_delta(activation: str, loss: str, a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``dL/dZ`` of the output layer for a :data:`FUSED` pair: ``(A - Y) / N``.

    ``N`` is the number of terms the loss averages: every element for bce, the rows for cce.
    """
    if (activation, loss) not in FUSED:
        raise ValueError(f"{activation} + {loss} has no simplified output delta")
    n = a.size if loss == "bce" else a.shape[0]
    return (a - y) / n
