"""Worked examples for ``launchml backprop``: the built-in ones and user YAML/JSON files.

An example file describes a small network, its data and one training setting::

    description: my first network        # optional
    layers: [2, 3, 1]                     # units per layer, input first
    activations: [sigmoid, sigmoid]       # one per layer after the input (or one name for all)
    loss: bce                             # mse | bce | cce
    learning_rate: 0.1
    weights:                              # optional; W_l has shape (n_out, n_in)
      - [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]]
      - [[0.7, 0.8, 0.9]]
    biases:                               # optional; b_l has n_out numbers
      - [0.1, 0.2, 0.3]
      - [0.4]
    inputs: [[1, 0]]                      # one row per example
    targets: [[0]]                        # one row per example (or a flat list for one output;
                                          # class indices for cce)
    seed: 0                               # used only when weights/biases are left out

Built-in examples go through exactly the same validation as user files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from launchml.errors import InvalidInputError, NotFoundError, did_you_mean
from launchml.reference.functions import ACTIVATIONS, LOSS_OUTPUTS, LOSSES
from launchml.reference.network import Layer, Network, random_network

REQUIRED_KEYS = ("layers", "activations", "loss", "learning_rate", "inputs", "targets")
OPTIONAL_KEYS = ("description", "weights", "biases", "seed")
_ACTIVATION_ALIASES = {"linear": "identity", "none": "identity"}
_LOSS_ALIASES = {
    "binary_cross_entropy": "bce",
    "categorical_cross_entropy": "cce",
    "cross_entropy": "cce",
    "mean_squared_error": "mse",
}

XOR_INPUTS = [[0, 0], [0, 1], [1, 0], [1, 1]]
XOR_TARGETS = [[0], [1], [1], [0]]

BUILTIN: dict[str, dict[str, Any]] = {
    "sigmoid-2-3-1": {
        "description": "one example, sigmoid hidden and output layers, binary cross-entropy",
        "layers": [2, 3, 1],
        "activations": ["sigmoid", "sigmoid"],
        "loss": "bce",
        "learning_rate": 0.1,
        "weights": [[[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]], [[0.7, 0.8, 0.9]]],
        "biases": [[0.1, 0.2, 0.3], [0.4]],
        "inputs": [[1, 0]],
        "targets": [[0]],
    },
    "relu-2-2-1": {
        # A linear (identity) output is the natural partner of MSE: the output can take any real
        # value, and dL/dZ of the output is simply 2 (A - Y) / m.
        "description": (
            "four rows, ReLU hidden layer, linear (identity) output, mean squared error; "
            "one step = one full-batch gradient step, loss = mean over the 4 rows"
        ),
        "layers": [2, 2, 1],
        "activations": ["relu", "identity"],
        "loss": "mse",
        "learning_rate": 0.1,
        "weights": [[[0.1, 0.1], [0.1, 0.1]], [[0.1, 0.1]]],
        "biases": [[0.1, 0.1], [0.1]],
        "inputs": [[1, 0], [1, 1], [0, 1], [0, 0]],
        "targets": [[0], [1], [1], [0]],
    },
    "xor": {
        "description": (
            "2-4-1 network (tanh hidden, sigmoid output, binary cross-entropy) with seeded "
            "random weights (seed 0); full-batch steps reach 100% accuracy at step 77 "
            "(try --steps 200 --every 100)"
        ),
        "layers": [2, 4, 1],
        "activations": ["tanh", "sigmoid"],
        "loss": "bce",
        "learning_rate": 0.5,
        "seed": 0,
        "inputs": XOR_INPUTS,
        "targets": XOR_TARGETS,
    },
}


@dataclass
class Example:
    """A ready-to-run example: the network (with its starting weights) and its data."""

    name: str
    description: str
    network: Network
    inputs: np.ndarray
    targets: np.ndarray
    learning_rate: float


def load_example(name_or_path: str) -> Example:
    """Return a built-in example by name, or load one from a ``.yaml``/``.yml``/``.json`` file.

    >>> load_example("sigmoid-2-3-1").network.sizes
    [2, 3, 1]
    """
    if name_or_path in BUILTIN:
        return example_from_dict(BUILTIN[name_or_path], name=name_or_path, source=name_or_path)
    path = Path(name_or_path)
    if path.is_file():
        return example_from_dict(_read_file(path), name=path.stem, source=str(path))
    looks_like_path = path.suffix.lower() in (".yaml", ".yml", ".json") or "/" in name_or_path
    if looks_like_path:
        raise NotFoundError(f"example file {name_or_path!r} not found")
    raise InvalidInputError(
        f"unknown example {name_or_path!r}{_hint(name_or_path, BUILTIN)}"
        f"built-in examples are {', '.join(BUILTIN)}, or pass a .yaml/.json file"
    )


def _read_file(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(
                f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}"
            ) from None
    import yaml  # only needed for files; keeps `import launchml.reference` light

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InvalidInputError(f"{path}: not valid YAML{where}: {problem}") from None


def example_from_dict(data: Any, name: str, source: str) -> Example:
    """Validate an example mapping and build it; errors name ``source`` and the bad key."""
    if not isinstance(data, dict):
        raise InvalidInputError(
            f"{source}: expected a mapping with keys {', '.join(REQUIRED_KEYS)}, "
            f"got {type(data).__name__}"
        )
    allowed = REQUIRED_KEYS + OPTIONAL_KEYS
    for key in data:
        if key not in allowed:
            raise InvalidInputError(
                f"{source}: unknown key {key!r}{_hint(str(key), allowed)}"
                f"allowed keys are {', '.join(allowed)}"
            )
    missing = [key for key in REQUIRED_KEYS if key not in data]
    if missing:
        raise InvalidInputError(f"{source}: missing required key(s) {', '.join(missing)}")

    sizes = _sizes(data["layers"], source)
    activations = _activations(data["activations"], len(sizes) - 1, source)
    loss = _loss(data["loss"], activations[-1], source)
    lr = data["learning_rate"]
    if isinstance(lr, bool) or not isinstance(lr, int | float) or lr <= 0:
        raise InvalidInputError(
            f"{source}: learning_rate must be a positive number, got {_short(lr)}"
        )

    inputs = _matrix(data["inputs"], "inputs", source, columns=sizes[0])
    targets = _targets(data["targets"], sizes[-1], loss, source)
    if len(targets) != len(inputs):
        raise InvalidInputError(
            f"{source}: {len(inputs)} input row(s) but {len(targets)} target row(s); "
            "give one target row per input row"
        )

    if ("weights" in data) != ("biases" in data):
        given, absent = ("weights", "biases") if "weights" in data else ("biases", "weights")
        raise InvalidInputError(f"{source}: {given} given without {absent}; give both or neither")
    if "weights" in data:
        network = _network_from_values(data, sizes, activations, loss, source)
    else:
        seed = data.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise InvalidInputError(f"{source}: seed must be an integer, got {_short(seed)}")
        network = random_network(sizes, activations, loss, seed=seed)
    return Example(
        name=name,
        description=str(data.get("description", "")),
        network=network,
        inputs=inputs,
        targets=targets,
        learning_rate=float(lr),
    )


def _hint(word: str, choices: Any) -> str:
    """``"; did you mean 'x'? "`` or ``"; "``, to put between a complaint and the options."""
    suggestion = did_you_mean(word, choices)
    return f"{suggestion} " if suggestion else "; "


def _short(value: Any, limit: int = 60) -> str:
    """``repr`` cut to ``limit`` characters, so an error stays one readable line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _sizes(value: Any, source: str) -> list[int]:
    ok = isinstance(value, list) and len(value) >= 2
    ok = ok and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
    if not ok:
        raise InvalidInputError(
            f"{source}: layers must be a list of at least two positive integers "
            f"(input size first, e.g. [2, 3, 1]), got {_short(value)}"
        )
    return list(value)


def _activations(value: Any, n_layers: int, source: str) -> list[str]:
    names = [value] * n_layers if isinstance(value, str) else value
    if not isinstance(names, list) or len(names) != n_layers:
        raise InvalidInputError(
            f"{source}: activations must list {n_layers} name(s), one per layer after the "
            f"input, got {_short(value)}"
        )
    result = []
    for i, raw in enumerate(names):
        act = _ACTIVATION_ALIASES.get(str(raw).lower(), str(raw).lower())
        if act not in ACTIVATIONS:
            raise InvalidInputError(
                f"{source}: activations[{i}] is {raw!r}{_hint(str(raw), ACTIVATIONS)}"
                f"expected one of {', '.join(ACTIVATIONS)}"
            )
        result.append(act)
    return result


def _loss(value: Any, output_activation: str, source: str) -> str:
    loss = _LOSS_ALIASES.get(str(value).lower(), str(value).lower())
    if loss not in LOSSES:
        raise InvalidInputError(
            f"{source}: loss is {value!r}{_hint(str(value), LOSSES)}"
            f"expected one of {', '.join(LOSSES)}"
        )
    if output_activation not in LOSS_OUTPUTS[loss]:
        raise InvalidInputError(
            f"{source}: loss {loss!r} needs a {' or '.join(LOSS_OUTPUTS[loss])} output layer, "
            f"got {output_activation!r}; change the last activation or use loss 'mse'"
        )
    return loss


def _matrix(value: Any, field: str, source: str, columns: int) -> np.ndarray:
    """A 2-D float array with ``columns`` columns; a flat list of that length is one row."""
    array = _numbers(value, field, source)
    if array.ndim == 1 and array.shape[0] == columns:
        array = array[None, :]
    if array.ndim != 2 or array.shape[1] != columns or array.shape[0] == 0:
        raise InvalidInputError(
            f"{source}: {field} has shape {array.shape}, expected rows of {columns} number(s) "
            f"(shape (m, {columns}))"
        )
    return array


def _targets(value: Any, n_out: int, loss: str, source: str) -> np.ndarray:
    array = _numbers(value, "targets", source)
    if array.ndim == 1 and n_out == 1:
        return array[:, None]
    if array.ndim == 1 and loss == "cce":
        labels = array.astype(int)
        if np.any(labels != array) or np.any(labels < 0) or np.any(labels >= n_out):
            raise InvalidInputError(
                f"{source}: targets as a flat list must be class indices 0..{n_out - 1} for loss "
                f"'cce', got {_short(value)}"
            )
        return np.eye(n_out)[labels]
    return _matrix(value, "targets", source, columns=n_out)


def _numbers(value: Any, field: str, source: str) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidInputError(
            f"{source}: {field} must be numbers in equal-length rows, got {_short(value)}"
        ) from None
    return array


def _network_from_values(
    data: dict[str, Any], sizes: list[int], activations: list[str], loss: str, source: str
) -> Network:
    weights, biases = data["weights"], data["biases"]
    n_layers = len(sizes) - 1
    for key, value in (("weights", weights), ("biases", biases)):
        if not isinstance(value, list) or len(value) != n_layers:
            raise InvalidInputError(
                f"{source}: {key} must be a list with one entry per layer ({n_layers}), "
                f"got {len(value) if isinstance(value, list) else type(value).__name__}"
            )
    layers = []
    for i in range(n_layers):
        n_in, n_out = sizes[i], sizes[i + 1]
        weight = _numbers(weights[i], f"weights[{i}]", source)
        if weight.shape != (n_out, n_in):
            raise InvalidInputError(
                f"{source}: weights[{i}] has shape {weight.shape}, expected ({n_out}, {n_in}) "
                f"because layer {i + 1} maps {n_in} input(s) to {n_out} unit(s) "
                "(one row per unit)"
            )
        bias = _numbers(biases[i], f"biases[{i}]", source)
        if bias.shape != (n_out,):
            raise InvalidInputError(
                f"{source}: biases[{i}] has shape {bias.shape}, expected ({n_out},): "
                f"one number per unit of layer {i + 1}"
            )
        layers.append(Layer(weight, bias, activations[i]))
    return Network(layers, loss)
