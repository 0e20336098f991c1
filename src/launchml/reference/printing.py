"""Turn a recorded :class:`~launchml.reference.network.StepTrace` into readable text lines.

Every matrix is printed under a line that gives its name, the formula that produced it and its
shape, so each number can be checked by hand. Layer numbers are 1-based; ``A0`` is the input ``X``.
"""

from __future__ import annotations

import numpy as np

from launchml.reference.examples import Example
from launchml.reference.functions import LOSS_NAMES
from launchml.reference.network import Network, StepTrace, accuracy

DECIMALS = 6
_LABEL_WIDTH = 52

_DERIVATIVE_FORMULA = {
    "sigmoid": "A{k} * (1 - A{k})",
    "tanh": "1 - A{k}**2",
    "relu": "1 where Z{k} > 0, else 0",
    "identity": "1",
}
_LOSS_FORMULA = {
    "mse": "L = mean((A{L} - Y)**2)",
    "bce": "L = mean(-(Y * log(A{L}) + (1 - Y) * log(1 - A{L})))",
    "cce": "L = mean over rows of -sum(Y * log(A{L}))",
}
_LOSS_GRADIENT_FORMULA = {
    "mse": "dL/dA{L} = 2 * (A{L} - Y) / {n}",
    "bce": "dL/dA{L} = (A{L} - Y) / (A{L} * (1 - A{L})) / {n}",
    "cce": "dL/dA{L} = -Y / A{L} / {n}",
}


def format_matrix(name: str, array: np.ndarray) -> list[str]:
    """A label line with the shape, then the values indented by four spaces."""
    body = np.array2string(
        np.asarray(array),
        formatter={"float_kind": lambda v: f"{v: .{DECIMALS}f}"},
        max_line_width=100,
        threshold=200,
    )
    return [f"  {name:<{_LABEL_WIDTH}} shape {tuple(array.shape)}"] + [
        "    " + line for line in body.splitlines()
    ]


def format_header(example: Example) -> list[str]:
    """What the example is, and the conventions every printed formula follows."""
    net = example.network
    acts = ", ".join(f"{i}: {layer.activation}" for i, layer in enumerate(net.layers, start=1))
    lines = [f"Example {example.name!r}: {example.description}".rstrip(": ")]
    lines.append(f"  layers {'-'.join(map(str, net.sizes))}; activations {acts}")
    lines.append(
        f"  loss {LOSS_NAMES[net.loss]} ({net.loss}); learning rate {example.learning_rate:g}; "
        f"{len(example.inputs)} example row(s)"
    )
    lines.append("  conventions: rows are examples; W_l has shape (n_out, n_in); A0 = X;")
    lines.append(
        "    Z_l = A_(l-1) @ W_l.T + b_l; delta_l = dL/dZ_l; one step = one full-batch SGD step"
    )
    return lines


def format_parameters(weights: list[np.ndarray], biases: list[np.ndarray]) -> list[str]:
    lines = ["Parameters"]
    for k, (w, b) in enumerate(zip(weights, biases, strict=True), start=1):
        lines += format_matrix(f"W{k}", w) + format_matrix(f"b{k}", b)
    return lines


def format_step(
    trace: StepTrace, net: Network, total_steps: int, show_parameters: bool = True
) -> list[str]:
    """All lines for one step: parameters (optional), forward, loss, backward, update."""
    n_layers = len(net.layers)
    lines = [f"=== Step {trace.step} of {total_steps} ==="]
    if show_parameters:
        lines += format_parameters(trace.weights_before, trace.biases_before)

    fwd = trace.forward
    lines.append("Forward pass")
    lines += format_matrix("X = A0 (inputs)", fwd.inputs)
    lines += format_matrix("Y (targets)", trace.targets)
    for k, layer in enumerate(net.layers, start=1):
        lines += format_matrix(f"Z{k} = A{k - 1} @ W{k}.T + b{k}", fwd.zs[k - 1])
        lines += format_matrix(f"A{k} = {layer.activation}(Z{k})", fwd.activations[k - 1])

    lines.append("Loss")
    lines.append(f"  {_LOSS_FORMULA[net.loss].format(L=n_layers)} = {trace.loss:.{DECIMALS}f}")

    lines.append("Backward pass")
    lines += _format_backward(trace, net)

    lines.append(f"SGD update (learning rate {trace.learning_rate:g})")
    lr = f"{trace.learning_rate:g}"
    for k in range(1, n_layers + 1):
        lines += format_matrix(f"W{k} <- W{k} - {lr} * dW{k}", trace.weights_after[k - 1])
        lines += format_matrix(f"b{k} <- b{k} - {lr} * db{k}", trace.biases_after[k - 1])
    return lines


def _format_backward(trace: StepTrace, net: Network) -> list[str]:
    back, fwd = trace.backward, trace.forward
    n_layers = len(net.layers)
    lines: list[str] = []
    for k in range(n_layers, 0, -1):
        i = k - 1
        act = net.layers[i].activation
        if k == n_layers and back.fused:
            n = back.deltas[i].size if net.loss == "bce" else back.deltas[i].shape[0]
            label = f"delta{k} = dL/dZ{k} = (A{k} - Y) / {n}   [{back.fused}]"
            lines += format_matrix(label, back.deltas[i])
        else:
            if k == n_layers:
                n = fwd.output.size if net.loss != "cce" else fwd.output.shape[0]
                label = _LOSS_GRADIENT_FORMULA[net.loss].format(L=k, n=n)
            else:
                label = f"dL/dA{k} = delta{k + 1} @ W{k + 1}"
            upstream = back.upstream[i]
            assert upstream is not None  # set for every non-fused layer by Network.backward
            lines += format_matrix(label, upstream)
            local = back.local[i]
            if local is not None:
                formula = _DERIVATIVE_FORMULA[act].format(k=k)
                lines += format_matrix(f"{act}'(Z{k}) = {formula}", local)
                lines += format_matrix(f"delta{k} = dL/dA{k} * {act}'(Z{k})", back.deltas[i])
            else:  # softmax: the Jacobian-vector product, row by row
                label = f"delta{k} = A{k} * (dL/dA{k} - rowsum(dL/dA{k} * A{k}))"
                lines += format_matrix(label, back.deltas[i])
        lines += format_matrix(f"dW{k} = delta{k}.T @ A{k - 1}", back.weight_grads[i])
        lines += format_matrix(f"db{k} = delta{k} summed over rows", back.bias_grads[i])
    return lines


def format_summary(example: Example, steps: int, first_loss: float) -> list[str]:
    """Loss before/after training, the current predictions and, for classification, accuracy."""
    net = example.network
    fwd = net.forward(example.inputs)
    loss = net.loss_of(fwd, example.targets)
    lines = [f"=== After {steps} step(s) ==="]
    lines.append(f"  loss before step 1: {first_loss:.{DECIMALS}f}   now: {loss:.{DECIMALS}f}")
    lines += format_matrix(f"A{len(net.layers)} (predictions)", fwd.output)
    if net.loss in ("bce", "cce"):
        acc = accuracy(net, example.inputs, example.targets)
        correct = round(acc * len(example.inputs))
        lines.append(f"  accuracy: {100 * acc:.1f}% ({correct}/{len(example.inputs)} rows)")
    return lines
