"""Tests of the NumPy reference network (launchml.reference) and ``launchml backprop``.

Expected values are computed here independently of the module: by hand (relu-2-2-1), by explicit
scalar arithmetic (sigmoid-2-3-1) and by a loop-per-scalar forward/backward written below (every
built-in, including the randomly initialised xor), then finite differences and torch autograd.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from launchml.errors import LaunchMLError
from launchml.reference import (
    BUILTIN,
    Layer,
    Network,
    accuracy,
    load_example,
    random_network,
    train,
    train_step,
)
from launchml.reference.cli import backprop_command, backprop_lines
from launchml.reference.functions import activate, derivative
from launchml.reference.gradcheck import check_gradients, compare_with_torch

REPO = Path(__file__).resolve().parents[1]
MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist" / "mnist.npz"


def sig(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


# --- hand-checked first steps -------------------------------------------------------------------


def test_sigmoid_2_3_1_first_step_by_scalar_arithmetic() -> None:
    x1, x2, y, lr = 1.0, 0.0, 0.0, 0.1
    w1 = [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]]
    b1 = [0.1, 0.2, 0.3]
    w2 = [0.7, 0.8, 0.9]
    b2 = 0.4
    z1 = [w1[j][0] * x1 + w1[j][1] * x2 + b1[j] for j in range(3)]
    a1 = [sig(z) for z in z1]
    z2 = w2[0] * a1[0] + w2[1] * a1[1] + w2[2] * a1[2] + b2
    a2 = sig(z2)
    loss = -(y * math.log(a2) + (1 - y) * math.log(1 - a2))
    # dL/dz2 from the chain rule written out: dL/da2 * da2/dz2.
    d2 = (-(y / a2) + (1 - y) / (1 - a2)) * a2 * (1 - a2)
    dw2 = [d2 * a1[j] for j in range(3)]
    d1 = [d2 * w2[j] * a1[j] * (1 - a1[j]) for j in range(3)]
    dw1 = [[d1[j] * x1, d1[j] * x2] for j in range(3)]

    ex = load_example("sigmoid-2-3-1")
    t = train_step(ex.network, ex.inputs, ex.targets, ex.learning_rate)
    assert z1 == pytest.approx([0.2, 0.5, 0.8])  # the hand-computable part, as a sanity check
    np.testing.assert_allclose(t.forward.zs[0], [z1], rtol=1e-12)
    np.testing.assert_allclose(t.forward.activations[0], [a1], rtol=1e-12)
    np.testing.assert_allclose(t.forward.zs[1], [[z2]], rtol=1e-12)
    np.testing.assert_allclose(t.forward.output, [[a2]], rtol=1e-12)
    assert t.loss == pytest.approx(loss, rel=1e-12)
    np.testing.assert_allclose(t.backward.deltas[1], [[d2]], rtol=1e-12)
    np.testing.assert_allclose(t.backward.deltas[0], [d1], rtol=1e-12)
    np.testing.assert_allclose(t.backward.weight_grads[1], [dw2], rtol=1e-12)
    np.testing.assert_allclose(t.backward.weight_grads[0], dw1, rtol=1e-12)
    np.testing.assert_allclose(t.backward.bias_grads[1], [d2], rtol=1e-12)
    np.testing.assert_allclose(t.backward.bias_grads[0], d1, rtol=1e-12)
    new_w1 = [[w1[j][i] - lr * dw1[j][i] for i in range(2)] for j in range(3)]
    np.testing.assert_allclose(t.weights_after[0], new_w1, rtol=1e-12)
    np.testing.assert_allclose(t.biases_after[0], [b1[j] - lr * d1[j] for j in range(3)])
    np.testing.assert_allclose(t.weights_after[1], [[w2[j] - lr * dw2[j] for j in range(3)]])
    np.testing.assert_allclose(t.biases_after[1], [b2 - lr * d2])
    assert t.weights_after[0].shape == (3, 2) and t.biases_after[0].shape == (3,)


def test_relu_2_2_1_first_step_by_hand() -> None:
    # Worked on paper: every weight and bias is 0.1, so both hidden units are equal.
    # Z1 = 0.1*x1 + 0.1*x2 + 0.1 -> rows 0.2, 0.3, 0.2, 0.1 (all > 0, so A1 = Z1)
    # Z2 = 0.1*(2*A1) + 0.1     -> 0.14, 0.16, 0.14, 0.12 (identity output)
    # L = (0.14² + 0.84² + 0.86² + 0.12²) / 4 = (0.0196 + 0.7056 + 0.7396 + 0.0144) / 4 = 0.3698
    # delta2 = 2 (A2 - Y) / 4 = 0.07, -0.42, -0.43, 0.06
    # dW2 = 0.07*0.2 - 0.42*0.3 - 0.43*0.2 + 0.06*0.1 = -0.192 (both entries); db2 = -0.72
    # delta1 = delta2 * 0.1 (W2 entry, relu' = 1) = 0.007, -0.042, -0.043, 0.006
    # dW1 row = [0.007 - 0.042, -0.042 - 0.043] = [-0.035, -0.085]; db1 = -0.072
    ex = load_example("relu-2-2-1")
    t = train_step(ex.network, ex.inputs, ex.targets, ex.learning_rate)
    np.testing.assert_allclose(t.forward.zs[0], [[0.2, 0.2], [0.3, 0.3], [0.2, 0.2], [0.1, 0.1]])
    np.testing.assert_allclose(t.forward.output[:, 0], [0.14, 0.16, 0.14, 0.12])
    assert t.loss == pytest.approx(0.3698)
    np.testing.assert_allclose(t.backward.deltas[1][:, 0], [0.07, -0.42, -0.43, 0.06])
    np.testing.assert_allclose(t.backward.weight_grads[1], [[-0.192, -0.192]])
    np.testing.assert_allclose(t.backward.bias_grads[1], [-0.72])
    np.testing.assert_allclose(t.backward.deltas[0][:, 0], [0.007, -0.042, -0.043, 0.006])
    np.testing.assert_allclose(t.backward.weight_grads[0], [[-0.035, -0.085]] * 2)
    np.testing.assert_allclose(t.backward.bias_grads[0], [-0.072, -0.072])
    np.testing.assert_allclose(t.weights_after[0], [[0.1035, 0.1085]] * 2)
    np.testing.assert_allclose(t.biases_after[0], [0.1072, 0.1072])
    np.testing.assert_allclose(t.weights_after[1], [[0.1192, 0.1192]])
    np.testing.assert_allclose(t.biases_after[1], [0.172])


_SCALAR_F = {"sigmoid": sig, "tanh": math.tanh, "relu": lambda z: max(z, 0.0), "identity": float}
_SCALAR_DF = {
    "sigmoid": lambda z: sig(z) * (1 - sig(z)),
    "tanh": lambda z: 1 - math.tanh(z) ** 2,
    "relu": lambda z: 1.0 if z > 0 else 0.0,
    "identity": lambda z: 1.0,
}


def scalar_step(weights, biases, acts, loss, xs, ys, lr):
    """One full-batch step with Python floats and explicit loops; the generic chain rule only."""
    m, k = len(xs), len(ys[0])
    gw = [[[0.0] * len(row) for row in w] for w in weights]
    gb = [[0.0] * len(b) for b in biases]
    total = 0.0
    for x, y in zip(xs, ys, strict=True):
        a_s, z_s = [list(map(float, x))], []
        for w, b, act in zip(weights, biases, acts, strict=True):
            z = [sum(w[j][i] * a_s[-1][i] for i in range(len(w[j]))) + b[j] for j in range(len(w))]
            z_s.append(z)
            a_s.append([_SCALAR_F[act](v) for v in z])
        out = a_s[-1]
        if loss == "mse":
            total += sum((o - t) ** 2 for o, t in zip(out, y, strict=True))
            da = [2 * (o - t) / (m * k) for o, t in zip(out, y, strict=True)]
        else:  # bce
            total += sum(
                -(t * math.log(o) + (1 - t) * math.log(1 - o)) for o, t in zip(out, y, strict=True)
            )
            da = [(-t / o + (1 - t) / (1 - o)) / (m * k) for o, t in zip(out, y, strict=True)]
        for layer in reversed(range(len(weights))):
            delta = [da[j] * _SCALAR_DF[acts[layer]](z_s[layer][j]) for j in range(len(da))]
            prev = a_s[layer]
            for j, d in enumerate(delta):
                gb[layer][j] += d
                for i, p in enumerate(prev):
                    gw[layer][j][i] += d * p
            da = [
                sum(delta[j] * weights[layer][j][i] for j in range(len(delta)))
                for i in range(len(prev))
            ]
    new_w = [(np.array(w) - lr * np.array(g)).tolist() for w, g in zip(weights, gw, strict=True)]
    new_b = [(np.array(b) - lr * np.array(g)).tolist() for b, g in zip(biases, gb, strict=True)]
    return total / (m * k), gw, gb, new_w, new_b


@pytest.mark.parametrize("name", list(BUILTIN))
def test_every_builtin_first_step_matches_scalar_loops(name: str) -> None:
    ex = load_example(name)
    net = ex.network
    weights = [layer.weight.tolist() for layer in net.layers]
    biases = [layer.bias.tolist() for layer in net.layers]
    acts = [layer.activation for layer in net.layers]
    expected = scalar_step(
        weights, biases, acts, net.loss, ex.inputs.tolist(), ex.targets.tolist(), ex.learning_rate
    )
    loss, gw, gb, new_w, new_b = expected
    t = train_step(net, ex.inputs, ex.targets, ex.learning_rate)
    assert t.loss == pytest.approx(loss, rel=1e-12)
    for k in range(len(net.layers)):
        np.testing.assert_allclose(t.backward.weight_grads[k], gw[k], rtol=1e-9, atol=1e-15)
        np.testing.assert_allclose(t.backward.bias_grads[k], gb[k], rtol=1e-9, atol=1e-15)
        np.testing.assert_allclose(t.weights_after[k], new_w[k], rtol=1e-12)
        np.testing.assert_allclose(t.biases_after[k], new_b[k], rtol=1e-12, atol=1e-15)


def test_xor_is_seeded_and_reaches_100_percent() -> None:
    first, second = load_example("xor"), load_example("xor")
    assert first.network.sizes == [2, 4, 1]
    for a, b in zip(first.network.layers, second.network.layers, strict=True):
        np.testing.assert_array_equal(a.weight, b.weight)
    assert accuracy(first.network, first.inputs, first.targets) < 1.0
    for step in range(1, 201):
        train_step(first.network, first.inputs, first.targets, first.learning_rate, step=step)
    assert accuracy(first.network, first.inputs, first.targets) == 1.0
    # The same with the mini-batch loop (batch 2, so two steps per epoch).
    history = train(
        second.network, second.inputs, second.targets, learning_rate=0.5, epochs=300, batch_size=2
    )
    assert history[-1] < history[0]
    assert accuracy(second.network, second.inputs, second.targets) == 1.0


# --- gradient checks ----------------------------------------------------------------------------

OUTPUTS = [
    ("mse", "identity"),
    ("mse", "sigmoid"),
    ("mse", "tanh"),
    ("mse", "relu"),
    ("mse", "softmax"),
    ("bce", "sigmoid"),
    ("cce", "softmax"),
]


def random_problem(hidden: str, loss: str, output: str, seed: int):
    rng = np.random.default_rng(seed)
    net = random_network([4, 5, 3, 3], [hidden, hidden, output], loss, seed=seed)
    for layer in net.layers:  # non-zero biases, so the bias path is really exercised
        layer.bias[:] = rng.normal(scale=0.3, size=layer.bias.shape)
    x = rng.normal(size=(6, 4))
    if loss == "cce":
        y = np.eye(3)[rng.integers(0, 3, size=6)]
    elif loss == "bce":
        y = rng.integers(0, 2, size=(6, 3)).astype(float)
    else:
        y = rng.normal(size=(6, 3))
    return net, x, y


@pytest.mark.parametrize("hidden", ["sigmoid", "relu", "tanh"])
@pytest.mark.parametrize(("loss", "output"), OUTPUTS)
def test_gradients_match_finite_differences_and_torch(hidden: str, loss: str, output: str) -> None:
    net, x, y = random_problem(hidden, loss, output, seed=7)
    report = check_gradients(net, x, y)
    assert report.ok, report
    assert set(report.max_abs_error) == {"W1", "b1", "W2", "b2", "W3", "b3"}
    report = compare_with_torch(net, x, y)
    assert report.ok, report
    assert report.max_abs_error["loss"] < 1e-12


def test_gradcheck_detects_a_wrong_gradient(monkeypatch: pytest.MonkeyPatch) -> None:
    net, x, y = random_problem("tanh", "mse", "identity", seed=1)
    import launchml.reference.functions as functions_module

    # A 10% error in one derivative: backprop becomes wrong, the loss itself stays right.
    real = functions_module.derivative
    monkeypatch.setattr(functions_module, "derivative", lambda n, z, a: 1.1 * real(n, z, a))
    assert not check_gradients(net, x, y).ok
    assert not compare_with_torch(net, x, y).ok


@pytest.mark.parametrize("name", ["sigmoid", "relu", "tanh", "identity"])
def test_activation_derivatives_match_finite_differences(name: str) -> None:
    z = np.array([[-2.0, -0.7, 0.3, 1.5]])
    eps = 1e-6
    numeric = (activate(name, z + eps) - activate(name, z - eps)) / (2 * eps)
    np.testing.assert_allclose(derivative(name, z, activate(name, z)), numeric, atol=1e-8)


def test_float32_training_stays_float32() -> None:
    net = random_network([3, 4, 2], ["relu", "softmax"], "cce", seed=0, dtype=np.float32)
    x = np.ones((5, 3), dtype=np.float32)
    y = np.eye(2, dtype=np.float32)[[0, 1, 0, 1, 0]]
    train(net, x, y, learning_rate=0.1, epochs=2, batch_size=2)  # 5 rows: last batch has 1
    assert all(layer.weight.dtype == np.float32 for layer in net.layers)


def test_network_rejects_inconsistent_layers() -> None:
    with pytest.raises(ValueError, match="does not follow"):
        Network(
            [
                Layer(np.ones((3, 2)), np.ones(3), "relu"),
                Layer(np.ones((1, 2)), np.ones(1), "sigmoid"),
            ],
            "bce",
        )
    with pytest.raises(ValueError, match="needs an output"):
        Network([Layer(np.ones((1, 2)), np.ones(1), "relu")], "bce")


def test_reference_package_does_not_import_torch() -> None:
    code = "import sys, launchml.reference; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# --- the command --------------------------------------------------------------------------------


@pytest.fixture
def run_backprop():
    app = typer.Typer()
    app.command()(backprop_command)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


@pytest.mark.parametrize("name", list(BUILTIN))
def test_command_prints_every_section(run_backprop, name: str) -> None:
    result = run_backprop("--example", name)
    assert result.exit_code == 0, result.output
    out = result.output
    for section in ("=== Step 1 of 1 ===", "Parameters", "Forward pass", "Loss", "Backward pass",
                    "SGD update", "=== After 1 step(s) ==="):  # fmt: skip
        assert section in out
    for label in ("X = A0 (inputs)", "Y (targets)", "Z1 = A0 @ W1.T + b1", "A1 = ",
                  "Z2 = A1 @ W2.T + b2", "A2 = ", "L = ", "delta2 = ", "delta1 = ",
                  "dW2 = delta2.T @ A1", "db2 = ", "dW1 = delta1.T @ A0", "db1 = ",
                  "dL/dA1 = delta2 @ W2", "W1 <- W1 - ", "b1 <- b1 - ", "W2 <- W2 - ",
                  "b2 <- b2 - "):  # fmt: skip
        assert label in out, label
    hidden = load_example(name).network.sizes[1]
    assert f"shape ({len(load_example(name).inputs)}, {hidden})" in out
    assert f"shape ({hidden}, 2)" in out  # W1 and dW1


def test_command_sigmoid_output_has_the_hand_values(run_backprop) -> None:
    lines = run_backprop("--example", "sigmoid-2-3-1").output.splitlines()

    def values_after(label: str) -> list[str]:
        header = next(i for i, s in enumerate(lines) if s.strip().startswith(label))
        return lines[header + 1].replace("[", " ").replace("]", " ").split()

    assert values_after("Z1 = A0 @ W1.T + b1") == ["0.200000", "0.500000", "0.800000"]
    assert f"{sig(0.2):.6f}" in values_after("A1 = sigmoid(Z1)")
    assert values_after("dW1 = delta1.T @ A0")[1] == "0.000000"  # x2 = 0, so no gradient


@pytest.mark.parametrize("name", list(BUILTIN))
def test_every_printed_shape_matches_the_printed_values(name: str) -> None:
    lines = backprop_lines(name, steps=2)
    checked = 0
    for i, line in enumerate(lines):
        match = re.search(r"shape \(([\d, ]*)\)$", line)
        if not match:
            continue
        dims = [int(d) for d in match.group(1).split(",") if d.strip()]
        body = list(
            itertools.takewhile(
                lambda s: s.lstrip().startswith("[") and s.startswith("    "), lines[i + 1 :]
            )
        )
        values = " ".join(body).replace("[", " ").replace("]", " ").split()
        assert len(values) == math.prod(dims), line
        assert len(body) == (dims[0] if len(dims) == 2 else 1), line
        checked += 1
    assert checked > 30


def test_command_steps_and_every(run_backprop) -> None:
    out = run_backprop("--example", "relu-2-2-1", "--steps", "3").output
    assert [s for s in out.splitlines() if s.startswith("=== Step")] == [
        "=== Step 1 of 3 ===",
        "=== Step 2 of 3 ===",
        "=== Step 3 of 3 ===",
    ]
    assert out.count("Parameters") == 1  # later steps start from the previous update
    out = run_backprop("--example", "xor", "--steps", "200", "--every", "100").output
    steps = [s for s in out.splitlines() if s.startswith("=== Step")]
    assert steps == ["=== Step 1 of 200 ===", "=== Step 100 of 200 ===", "=== Step 200 of 200 ==="]
    assert out.count("Parameters") == 3  # steps 2..99 were not shown, so parameters are
    assert "accuracy: 100.0% (4/4 rows)" in out


def test_loss_decreases_over_printed_steps() -> None:
    lines = backprop_lines("sigmoid-2-3-1", steps=5)
    losses = [float(s.rsplit("=", 1)[1]) for s in lines if s.strip().startswith("L = ")]
    assert len(losses) == 5 and all(b < a for a, b in itertools.pairwise(losses))


SIGMOID_YAML = """\
description: same as the built-in sigmoid-2-3-1
layers: [2, 3, 1]
activations: sigmoid
loss: bce
learning_rate: 0.1
weights:
  - [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]]
  - [[0.7, 0.8, 0.9]]
biases:
  - [0.1, 0.2, 0.3]
  - [0.4]
inputs: [[1, 0]]
targets: [0]
"""


def test_user_yaml_and_json_examples_match_the_builtin(run_backprop, tmp_path: Path) -> None:
    import yaml

    (tmp_path / "mine.yaml").write_text(SIGMOID_YAML, encoding="utf-8")
    (tmp_path / "mine.json").write_text(json.dumps(yaml.safe_load(SIGMOID_YAML)), encoding="utf-8")
    builtin = run_backprop("--example", "sigmoid-2-3-1", "--steps", "2").output.splitlines()
    for name in ("mine.yaml", "mine.json"):
        result = run_backprop("--example", str(tmp_path / name), "--steps", "2")
        assert result.exit_code == 0, result.output
        assert result.output.splitlines()[1:] == builtin[1:]  # all but the title line


def test_user_example_without_weights_uses_the_seed(tmp_path: Path) -> None:
    spec = {
        "layers": [3, 4, 2],
        "activations": ["tanh", "softmax"],
        "loss": "cce",
        "learning_rate": 0.5,
        "inputs": [[1, 2, 3], [0, 1, 0]],
        "targets": [1, 0],
        "seed": 3,
    }
    path = tmp_path / "ex.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    ex = load_example(str(path))
    np.testing.assert_array_equal(ex.targets, [[0, 1], [1, 0]])
    np.testing.assert_array_equal(
        ex.network.layers[0].weight, load_example(str(path)).network.layers[0].weight
    )


BAD_FILES = {
    "malformed.yaml": ("layers: [2, 3, 1\nloss: bce\n", "not valid YAML (line"),
    "badshape.yaml": (SIGMOID_YAML.replace("[[0.7, 0.8, 0.9]]", "[[0.7, 0.8]]"),
                      "weights[1] has shape (1, 2), expected (1, 3)"),
    "badbias.yaml": (SIGMOID_YAML.replace("[0.1, 0.2, 0.3]", "[0.1, 0.2]"),
                     "biases[0] has shape (2,), expected (3,)"),
    "ragged.yaml": (SIGMOID_YAML.replace("[[0.1, 0.2], [0.3, 0.4]", "[[0.1, 0.2], [0.3]"),
                    "weights[0] must be numbers in equal-length rows"),
    "typo.yaml": (SIGMOID_YAML.replace("learning_rate", "learnig_rate"),
                  "unknown key 'learnig_rate'; did you mean 'learning_rate'?"),
    "badloss.yaml": (SIGMOID_YAML.replace("activations: sigmoid", "activations: relu"),
                     "loss 'bce' needs a sigmoid output layer, got 'relu'"),
    "rows.yaml": (SIGMOID_YAML.replace("targets: [0]", "targets: [0, 1]"),
                  "1 input row(s) but 2 target row(s)"),
    "inputs.yaml": (SIGMOID_YAML.replace("inputs: [[1, 0]]", "inputs: [[1, 0, 5]]"),
                    "inputs has shape (1, 3), expected rows of 2 number(s)"),
    "list.yaml": ("- 1\n- 2\n", "expected a mapping"),
    "bad.json": ('{"layers": [2, 1],}', "not valid JSON (line 1"),
}  # fmt: skip


@pytest.mark.parametrize("filename", list(BAD_FILES))
def test_bad_example_files_give_one_line_errors(
    run_backprop, tmp_path: Path, filename: str
) -> None:
    text, expected = BAD_FILES[filename]
    path = tmp_path / filename
    path.write_text(text, encoding="utf-8")
    result = run_backprop("--example", str(path))
    assert isinstance(result.exception, LaunchMLError)
    message = str(result.exception)
    assert expected in message
    assert str(path) in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--example", "sigmoid-2-3"],
            "unknown example 'sigmoid-2-3'; did you mean 'sigmoid-2-3-1'?",
        ),
        (["--example", "nope"], "built-in examples are sigmoid-2-3-1, relu-2-2-1, xor"),
        (["--example", "missing/file.yaml"], "example file 'missing/file.yaml' not found"),
        (["--example", "xor", "--steps", "0"], "--steps must be a positive integer, got 0"),
    ],
)
def test_bad_arguments_give_one_line_errors(run_backprop, args: list[str], expected: str) -> None:
    result = run_backprop(*args)
    assert isinstance(result.exception, LaunchMLError)
    assert expected in str(result.exception)
    assert "\n" not in str(result.exception)


def test_launchml_cli_prints_error_line_and_exits_2(cli) -> None:
    import launchml.cli

    if "backprop" not in [c.name for c in launchml.cli.app.registered_commands]:
        pytest.skip("backprop is not registered in launchml.cli")
    result = cli("backprop", "--example", "nope")
    assert result.code == 2
    assert result.err.startswith("error: unknown example 'nope'")
    assert result.err.count("\n") == 1
    result = cli("backprop", "--example", "relu-2-2-1")
    assert result.code == 0 and "Backward pass" in result.out


# --- real data ----------------------------------------------------------------------------------


@pytest.mark.realdata
@pytest.mark.slow
def test_mnist_subset_learns() -> None:
    """A quick real-data check; the full run (>= 97%) is recorded in docs/BENCHMARKS.md."""
    if not MNIST.is_file():
        pytest.skip(f"MNIST not found at {MNIST} (../shared/data beside the repo)")
    path = REPO / "benchmarks" / "reference_mnist.py"
    spec = importlib.util.spec_from_file_location("reference_mnist", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # 10,000 training rows, 5 epochs: a few seconds on 2 idle cores. Seed 0 gives 91.9% on the
    # full 10,000-image test set; a linear-model-level 90% shows backprop really learns.
    result = module.run(data=MNIST, train_limit=10_000, epochs=5, seed=0, verbose=False)
    assert result["test_accuracy"] >= 0.90
