"""Check the NumPy network's gradients two independent ways: finite differences and torch autograd.

Any test in the suite can call these on any :class:`~launchml.reference.network.Network`::

    report = check_gradients(net, x, y)
    assert report.ok, report
    report = compare_with_torch(net, x, y)
    assert report.ok, report

torch is imported inside :func:`compare_with_torch` only, so ``launchml.reference`` stays
NumPy-only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from launchml.reference.network import Network


@dataclass
class GradientReport:
    """Worst disagreement per parameter (``"W1"``, ``"b1"``, ..., and ``"loss"`` for torch)."""

    method: str
    max_abs_error: dict[str, float]
    max_rel_error: dict[str, float]
    ok: bool

    def __str__(self) -> str:
        parts = [
            f"{name}: abs {self.max_abs_error[name]:.2e}, rel {self.max_rel_error[name]:.2e}"
            for name in self.max_abs_error
        ]
        return f"{self.method} {'agrees' if self.ok else 'DISAGREES'}: " + "; ".join(parts)


def analytic_gradients(net: Network, x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """Back-propagated gradients of the mean loss, keyed ``"W1"``, ``"b1"``, ..."""
    backward = net.backward(net.forward(x), y)
    grads: dict[str, np.ndarray] = {}
    for k, (dw, db) in enumerate(zip(backward.weight_grads, backward.bias_grads, strict=True), 1):
        grads[f"W{k}"], grads[f"b{k}"] = dw, db
    return grads


def numerical_gradients(
    net: Network, x: np.ndarray, y: np.ndarray, eps: float = 1e-6
) -> dict[str, np.ndarray]:
    """Central differences ``(L(p + eps) - L(p - eps)) / (2 eps)`` for every single parameter.

    Works on a float64 copy, so ``net`` is left untouched. Cost: two forward passes per parameter,
    so use it on small networks.
    """
    probe = _as_float64(net)
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    grads: dict[str, np.ndarray] = {}
    for name, param in probe.parameters().items():
        grad = np.zeros_like(param)
        for idx in np.ndindex(param.shape):
            original = param[idx]
            param[idx] = original + eps
            plus = probe.loss_of(probe.forward(x), y)
            param[idx] = original - eps
            minus = probe.loss_of(probe.forward(x), y)
            param[idx] = original
            grad[idx] = (plus - minus) / (2.0 * eps)
        grads[name] = grad
    return grads


def check_gradients(
    net: Network,
    x: np.ndarray,
    y: np.ndarray,
    *,
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-8,
) -> GradientReport:
    """Compare back-propagation with finite differences on every parameter.

    Parameters
    ----------
    net, x, y: the network and a batch (``(m, n_0)`` inputs, ``(m, n_L)`` targets).
    eps: finite-difference step. ReLU has a kink at 0: keep pre-activations away from 0 by more
        than ``eps`` (random inputs almost surely are).
    rtol, atol: an entry agrees when ``|analytic - numeric| <= atol + rtol * |numeric|``.

    Returns
    -------
    A :class:`GradientReport`; ``report.ok`` is True when every entry agrees.
    """
    probe = _as_float64(net)
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return _compare(
        "finite differences",
        analytic_gradients(probe, x, y),
        numerical_gradients(probe, x, y, eps=eps),
        rtol,
        atol,
    )


def compare_with_torch(
    net: Network,
    x: np.ndarray,
    y: np.ndarray,
    *,
    rtol: float = 1e-9,
    atol: float = 1e-12,
) -> GradientReport:
    """Compare the loss and every gradient with torch autograd, in float64.

    The torch side is written independently: ``F.linear``, torch's activations and torch's own
    losses (``F.mse_loss``, ``F.binary_cross_entropy``, and ``F.cross_entropy`` on the logits
    with probability targets, so torch applies its own softmax).
    """
    import torch
    import torch.nn.functional as F

    tensors = {
        name: torch.tensor(value, dtype=torch.float64, requires_grad=True)
        for name, value in net.parameters().items()
    }
    a = torch.tensor(np.asarray(x), dtype=torch.float64)
    target = torch.tensor(np.asarray(y), dtype=torch.float64)
    torch_activations: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
        "sigmoid": torch.sigmoid,
        "relu": torch.relu,
        "tanh": torch.tanh,
        "identity": lambda t: t,
        "softmax": lambda t: torch.softmax(t, dim=1),
    }
    for k, layer in enumerate(net.layers, start=1):
        z = F.linear(a, tensors[f"W{k}"], tensors[f"b{k}"])
        a = torch_activations[layer.activation](z)
    if net.loss == "mse":
        loss = F.mse_loss(a, target)
    elif net.loss == "bce":
        loss = F.binary_cross_entropy(a, target)
    else:
        loss = F.cross_entropy(z, target)
    loss.backward()

    expected = {name: t.grad.numpy() for name, t in tensors.items() if t.grad is not None}
    probe = _as_float64(net)
    x64, y64 = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    ours = analytic_gradients(probe, x64, y64)
    ours["loss"] = np.array(probe.loss_of(probe.forward(x64), y64))
    expected["loss"] = np.array(loss.item())
    return _compare("torch autograd", ours, expected, rtol, atol)


def _compare(
    method: str,
    ours: dict[str, np.ndarray],
    reference: dict[str, np.ndarray],
    rtol: float,
    atol: float,
) -> GradientReport:
    abs_err: dict[str, float] = {}
    rel_err: dict[str, float] = {}
    ok = set(ours) == set(reference)
    for name in reference:
        diff = np.abs(ours[name] - reference[name])
        abs_err[name] = float(diff.max(initial=0.0))
        rel_err[name] = float((diff / np.maximum(np.abs(reference[name]), 1e-12)).max(initial=0.0))
        ok = ok and bool(np.all(diff <= atol + rtol * np.abs(reference[name])))
    return GradientReport(method, abs_err, rel_err, ok)


def _as_float64(net: Network) -> Network:
    probe = net.copy()
    for layer in probe.layers:
        layer.weight = layer.weight.astype(np.float64)
        layer.bias = layer.bias.astype(np.float64)
    return probe
