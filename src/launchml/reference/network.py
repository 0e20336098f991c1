"""A fully connected network in NumPy whose forward and backward passes can be read line by line.

Shapes (``m`` examples, layer ``l`` maps ``n_{l-1}`` units to ``n_l`` units):

- ``A_0 = X``: ``(m, n_0)``; rows are examples.
- ``W_l``: ``(n_l, n_{l-1})`` — the same layout as ``torch.nn.Linear.weight``; ``b_l``: ``(n_l,)``.
- Forward: ``Z_l = A_{l-1} @ W_l.T + b_l`` and ``A_l = g_l(Z_l)``, both ``(m, n_l)``.
- Backward: ``delta_l = dL/dZ_l`` ``(m, n_l)``;
  ``dW_l = delta_l.T @ A_{l-1}`` ``(n_l, n_{l-1})``; ``db_l = delta_l.sum(axis=0)`` ``(n_l,)``;
  ``dL/dA_{l-1} = delta_l @ W_l`` and ``delta_{l-1} = dL/dA_{l-1} * g'_{l-1}(Z_{l-1})``.
- SGD: ``W_l <- W_l - lr * dW_l`` and ``b_l <- b_l - lr * db_l``.

Example::

    net = random_network([2, 4, 1], ["tanh", "sigmoid"], loss="bce", seed=0)
    trace = train_step(net, x, y, learning_rate=0.5)  # one full-batch step, everything recorded
    history = train(net, x, y, learning_rate=0.5, epochs=100, batch_size=4)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from launchml.reference.functions import (
    ACTIVATIONS,
    FUSED,
    LOSS_OUTPUTS,
    LOSSES,
    activate,
    backprop_activation,
    derivative,
    fused_output_delta,
    loss_gradient,
    loss_value,
)


@dataclass
class Layer:
    """One dense layer: ``weight`` ``(n_out, n_in)``, ``bias`` ``(n_out,)``, an activation name."""

    weight: np.ndarray
    bias: np.ndarray
    activation: str


@dataclass
class Forward:
    """Everything the forward pass computed; ``zs[i]`` and ``activations[i]`` are layer ``i+1``."""

    inputs: np.ndarray
    zs: list[np.ndarray]
    activations: list[np.ndarray]

    @property
    def output(self) -> np.ndarray:
        return self.activations[-1]

    def layer_input(self, index: int) -> np.ndarray:
        """``A_{l-1}`` for the layer at 0-based ``index`` (``X`` for the first layer)."""
        return self.inputs if index == 0 else self.activations[index - 1]


@dataclass
class Backward:
    """Everything the backward pass computed, one entry per layer (0-based, layer 1 first).

    ``upstream[i]`` is ``dL/dA`` of layer ``i+1`` and ``local[i]`` its ``g'(Z)`` (``None`` where
    not used: the output layer of a fused pair, and softmax layers, whose Jacobian is not
    element-wise). ``fused`` names the simplified output pair, if one was used.
    """

    upstream: list[np.ndarray | None]
    local: list[np.ndarray | None]
    deltas: list[np.ndarray]
    weight_grads: list[np.ndarray]
    bias_grads: list[np.ndarray]
    fused: str | None


@dataclass
class Network:
    """A stack of dense layers and a loss (``"mse"``, ``"bce"`` or ``"cce"``)."""

    layers: list[Layer]
    loss: str

    def __post_init__(self) -> None:
        # Internal invariant checks; user files are validated with friendlier messages in
        # launchml.reference.examples before a Network is ever built.
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        for i, layer in enumerate(self.layers, start=1):
            if layer.activation not in ACTIVATIONS:
                raise ValueError(f"layer {i}: unknown activation {layer.activation!r}")
            if layer.weight.ndim != 2 or layer.bias.shape != (layer.weight.shape[0],):
                raise ValueError(
                    f"layer {i}: weight {layer.weight.shape} and bias {layer.bias.shape} "
                    "must be (n_out, n_in) and (n_out,)"
                )
            if i > 1 and layer.weight.shape[1] != self.layers[i - 2].weight.shape[0]:
                raise ValueError(
                    f"layer {i}: weight {layer.weight.shape} does not follow layer {i - 1}"
                )
        if self.layers[-1].activation not in LOSS_OUTPUTS[self.loss]:
            raise ValueError(f"loss {self.loss!r} needs an output in {LOSS_OUTPUTS[self.loss]}")

    @property
    def sizes(self) -> list[int]:
        """Units per layer, input first: ``[n_0, n_1, ..., n_L]``."""
        return [self.layers[0].weight.shape[1]] + [layer.weight.shape[0] for layer in self.layers]

    def forward(self, x: np.ndarray) -> Forward:
        """Run ``x`` ``(m, n_0)`` through every layer, keeping every ``Z`` and ``A``."""
        zs: list[np.ndarray] = []
        activations: list[np.ndarray] = []
        a = x
        for layer in self.layers:
            z = a @ layer.weight.T + layer.bias
            a = activate(layer.activation, z)
            zs.append(z)
            activations.append(a)
        return Forward(inputs=x, zs=zs, activations=activations)

    def loss_of(self, forward: Forward, y: np.ndarray) -> float:
        """Mean loss of a forward pass against targets ``y`` ``(m, n_L)``."""
        return loss_value(self.loss, forward.output, y)

    def backward(self, forward: Forward, y: np.ndarray) -> Backward:
        """Back-propagate the mean loss from the output layer to the first."""
        n = len(self.layers)
        upstream: list[np.ndarray | None] = [None] * n
        local: list[np.ndarray | None] = [None] * n
        deltas: list[np.ndarray] = [np.empty(0)] * n
        weight_grads: list[np.ndarray] = [np.empty(0)] * n
        bias_grads: list[np.ndarray] = [np.empty(0)] * n

        out = self.layers[-1].activation
        fused = FUSED.get((out, self.loss))
        if fused:
            deltas[-1] = fused_output_delta(out, self.loss, forward.output, y)
        else:
            upstream[-1] = loss_gradient(self.loss, forward.output, y)
        for i in reversed(range(n)):
            layer = self.layers[i]
            da = upstream[i]
            if da is not None:
                z, a = forward.zs[i], forward.activations[i]
                if layer.activation != "softmax":
                    local[i] = derivative(layer.activation, z, a)
                deltas[i] = backprop_activation(layer.activation, z, a, da)
            weight_grads[i] = deltas[i].T @ forward.layer_input(i)
            bias_grads[i] = deltas[i].sum(axis=0)
            if i > 0:
                upstream[i - 1] = deltas[i] @ layer.weight
        return Backward(upstream, local, deltas, weight_grads, bias_grads, fused)

    def sgd_update(self, backward: Backward, learning_rate: float) -> None:
        """One plain SGD step on every weight and bias (in place)."""
        for layer, dw, db in zip(
            self.layers, backward.weight_grads, backward.bias_grads, strict=True
        ):
            layer.weight -= learning_rate * dw
            layer.bias -= learning_rate * db

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Output activations ``A_L`` for ``x``."""
        return self.forward(x).output

    def parameters(self) -> dict[str, np.ndarray]:
        """``{"W1": ..., "b1": ..., "W2": ...}``: the live arrays, not copies."""
        params: dict[str, np.ndarray] = {}
        for i, layer in enumerate(self.layers, start=1):
            params[f"W{i}"] = layer.weight
            params[f"b{i}"] = layer.bias
        return params

    def copy(self) -> Network:
        layers = [Layer(la.weight.copy(), la.bias.copy(), la.activation) for la in self.layers]
        return Network(layers, self.loss)


def random_network(
    sizes: list[int],
    activations: list[str],
    loss: str,
    seed: int = 0,
    dtype: type = np.float64,
) -> Network:
    """Build a network with seeded random weights and zero biases.

    ReLU layers get He initialisation (std ``sqrt(2 / n_in)``), the others LeCun/Xavier-style
    (std ``sqrt(1 / n_in)``), which keeps activations from exploding or vanishing at the start.

    >>> random_network([2, 4, 1], ["tanh", "sigmoid"], "bce", seed=0).sizes
    [2, 4, 1]
    """
    if len(activations) != len(sizes) - 1:
        raise ValueError(f"{len(sizes) - 1} layers need {len(sizes) - 1} activations")
    rng = np.random.default_rng(seed)
    layers = []
    for n_in, n_out, act in zip(sizes[:-1], sizes[1:], activations, strict=True):
        std = np.sqrt((2.0 if act == "relu" else 1.0) / n_in)
        weight = (rng.standard_normal((n_out, n_in)) * std).astype(dtype)
        layers.append(Layer(weight, np.zeros(n_out, dtype=dtype), act))
    return Network(layers, loss)


@dataclass
class StepTrace:
    """One recorded gradient step: parameters before, forward, loss, backward, parameters after."""

    step: int
    learning_rate: float
    targets: np.ndarray
    weights_before: list[np.ndarray]
    biases_before: list[np.ndarray]
    forward: Forward
    loss: float
    backward: Backward
    weights_after: list[np.ndarray] = field(default_factory=list)
    biases_after: list[np.ndarray] = field(default_factory=list)


def train_step(
    net: Network, x: np.ndarray, y: np.ndarray, learning_rate: float, step: int = 1
) -> StepTrace:
    """Forward, loss, backward and SGD update on ``(x, y)``, returning everything computed."""
    weights_before = [layer.weight.copy() for layer in net.layers]
    biases_before = [layer.bias.copy() for layer in net.layers]
    forward = net.forward(x)
    loss = net.loss_of(forward, y)
    backward = net.backward(forward, y)
    net.sgd_update(backward, learning_rate)
    return StepTrace(
        step=step,
        learning_rate=learning_rate,
        targets=y,
        weights_before=weights_before,
        biases_before=biases_before,
        forward=forward,
        loss=loss,
        backward=backward,
        weights_after=[layer.weight.copy() for layer in net.layers],
        biases_after=[layer.bias.copy() for layer in net.layers],
    )


def train(
    net: Network,
    x: np.ndarray,
    y: np.ndarray,
    *,
    learning_rate: float,
    epochs: int,
    batch_size: int,
    seed: int = 0,
    on_epoch: Callable[[int, float], None] | None = None,
) -> list[float]:
    """Mini-batch SGD: each epoch shuffles the rows and takes one step per batch.

    Parameters
    ----------
    net: the network, updated in place.
    x, y: inputs ``(m, n_0)`` and targets ``(m, n_L)``.
    learning_rate, epochs, batch_size: plain SGD settings; the last batch may be smaller.
    seed: seeds the shuffling, so a run is reproducible.
    on_epoch: called as ``on_epoch(epoch, mean_loss)`` after every epoch (1-based).

    Returns
    -------
    The mean training loss of each epoch (averaged over batches, measured before each update).
    """
    rng = np.random.default_rng(seed)
    history = []
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(x))
        losses = []
        for start in range(0, len(x), batch_size):
            idx = order[start : start + batch_size]
            forward = net.forward(x[idx])
            losses.append(net.loss_of(forward, y[idx]))
            net.sgd_update(net.backward(forward, y[idx]), learning_rate)
        history.append(float(np.mean(losses)))
        if on_epoch is not None:
            on_epoch(epoch, history[-1])
    return history


def predicted_labels(output: np.ndarray) -> np.ndarray:
    """Class labels from outputs: ``output >= 0.5`` for one unit, ``argmax`` for several."""
    if output.shape[1] == 1:
        return (output[:, 0] >= 0.5).astype(int)
    return output.argmax(axis=1)


def accuracy(net: Network, x: np.ndarray, y: np.ndarray, batch_size: int = 10_000) -> float:
    """Fraction of rows whose predicted label matches ``y`` (0/1 column or one-hot rows)."""
    correct = 0
    for start in range(0, len(x), batch_size):
        out = net.predict(x[start : start + batch_size])
        correct += int(
            np.sum(predicted_labels(out) == predicted_labels(y[start : start + batch_size]))
        )
    return correct / len(x)
