"""The generic training engine: early stopping, best weights, exact resume after SIGKILL,
gradient accumulation, schedules, augmentation, padding invariance and reference gradients."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from launchml.augment import random_affine
from launchml.config import AugmentConfig, LSTMConfig, TextCNNConfig, TrainConfig
from launchml.models.lstm import LSTMNet
from launchml.models.mlp import MLPNet
from launchml.models.textcnn import TextCNNNet
from launchml.trainer import CHECKPOINT, TensorInputs, _lr_factor, evaluate, fit


def blobs(n: int, seed: int, noise: float = 1.0) -> tuple[torch.Tensor, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centres = np.array([[2.0, 0, 0, 0], [0, 2.0, 0, 0], [0, 0, 2.0, 0]])
    x = centres[y] + noise * rng.standard_normal((n, 4))
    return torch.tensor(x, dtype=torch.float32), y.astype(np.int64)


def options(**changes: object) -> TrainConfig:
    base = {"epochs": 5, "batch_size": 16, "lr": 1e-2, "threads": 1, "seed": 0}
    return TrainConfig.model_validate({**base, **changes})


def test_early_stopping_stops_after_patience_and_restores_best_weights() -> None:
    # Random validation labels: the model can only get worse on them, so it must stop early.
    torch.manual_seed(0)
    x, y = blobs(200, seed=0, noise=0.3)
    x_val, _ = blobs(60, seed=1)
    y_val = np.random.default_rng(2).integers(0, 3, 60)
    net = MLPNet([4, 64, 3])
    opts = options(epochs=40, lr=3e-2, schedule="constant", early_stopping={"patience": 2})
    history = fit(net, TensorInputs(x), y, TensorInputs(x_val), y_val, opts, quiet=True)

    losses = [row["val_loss"] for row in history]
    best_epoch = int(np.argmin(losses)) + 1
    assert len(history) < 40
    assert len(history) == best_epoch + 2  # stopped exactly `patience` epochs after the best
    restored = evaluate(net, TensorInputs(x_val), torch.as_tensor(y_val))
    assert restored["val_loss"] == pytest.approx(min(losses), rel=1e-6)


def test_gradient_accumulation_equals_a_bigger_batch() -> None:
    x, y = blobs(64, seed=0)
    results = []
    for batch_size, accumulate in [(16, 1), (8, 2)]:
        torch.manual_seed(0)
        net = MLPNet([4, 8, 3])
        opts = options(epochs=2, batch_size=batch_size, accumulate=accumulate)
        fit(net, TensorInputs(x), y, None, None, opts, quiet=True)
        results.append(torch.cat([p.detach().flatten() for p in net.parameters()]))
    torch.testing.assert_close(results[0], results[1], rtol=1e-5, atol=1e-6)


def test_lr_schedules() -> None:
    total = 100
    cosine = options(schedule="cosine", warmup_ratio=0.1)
    assert _lr_factor(cosine, 0, total) < 0.1
    assert _lr_factor(cosine, 10, total) == pytest.approx(1.0)
    assert _lr_factor(cosine, 99, total) < 0.01
    linear = options(schedule="linear")
    assert _lr_factor(linear, 50, total) == pytest.approx(0.5)
    onecycle = options(schedule="onecycle")
    assert _lr_factor(onecycle, 0, total) == pytest.approx(1 / 25)
    assert _lr_factor(onecycle, 30, total) == pytest.approx(1.0)
    assert _lr_factor(onecycle, 99, total) < 1e-3


def test_plateau_schedule_lowers_the_lr_when_validation_stalls() -> None:
    x, y = blobs(100, seed=0, noise=0.3)
    x_val, _ = blobs(30, seed=1)
    y_val = np.random.default_rng(2).integers(0, 3, 30)
    torch.manual_seed(0)
    opts = options(
        epochs=8, schedule="plateau", plateau_patience=0, early_stopping={"patience": None}
    )
    history = fit(
        MLPNet([4, 32, 3]), TensorInputs(x), y, TensorInputs(x_val), y_val, opts, quiet=True
    )
    assert history[-1]["lr"] < history[0]["lr"]


class RecordingNet(nn.Module):
    """An MLP that keeps a copy of its weights at every training forward (one per step)."""

    def __init__(self) -> None:
        super().__init__()
        self.net = MLPNet([4, 8, 3])
        self.seen: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.seen.append(self.flat())
        return self.net(x)

    def flat(self) -> torch.Tensor:
        return torch.cat([p.detach().flatten() for p in self.parameters()]).double()


def test_weight_average_matches_a_numpy_ema_of_the_weight_trajectory() -> None:
    x, y = blobs(48, seed=0)
    nets = []
    for ema_decay in [None, 0.9]:
        torch.manual_seed(0)
        net = RecordingNet()
        opts = options(epochs=5, lr=0.05, ema_decay=ema_decay)
        fit(net, TensorInputs(x), y, None, None, opts, quiet=True)
        nets.append(net)
    plain, averaged = nets
    # The average never feeds back into training: both runs walk the same weights W_0..W_n.
    assert len(plain.seen) == 15
    assert torch.equal(torch.stack(plain.seen), torch.stack(averaged.seen))
    trajectory = [w.numpy() for w in plain.seen] + [plain.flat().numpy()]
    expected = trajectory[0]
    for step, weights in enumerate(trajectory[1:]):
        decay = min(0.9, (1 + step) / (10 + step))
        expected = decay * expected + (1 - decay) * weights
    np.testing.assert_allclose(averaged.flat().numpy(), expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(expected, trajectory[-1], atol=1e-3)  # the average is not W_n


def test_validation_and_the_best_epoch_use_the_averaged_weights() -> None:
    x, y = blobs(120, seed=0)
    x_val, y_val = blobs(60, seed=1)
    torch.manual_seed(0)
    net = RecordingNet()
    opts = options(epochs=4, ema_decay=0.95, early_stopping={"patience": None})
    history = fit(net, TensorInputs(x), y, TensorInputs(x_val), y_val, opts, quiet=True)
    best = min(row["val_loss"] for row in history)
    restored = evaluate(net, TensorInputs(x_val), torch.as_tensor(y_val))
    assert restored["val_loss"] == pytest.approx(best, rel=1e-6)
    assert not any(torch.allclose(net.flat(), w, atol=1e-4) for w in net.seen)


def test_resuming_with_ema_from_a_checkpoint_without_it_is_a_clear_error(tmp_path: Path) -> None:
    from launchml.errors import LaunchMLError

    x, y = blobs(32, seed=0)
    fit(MLPNet([4, 3]), TensorInputs(x), y, None, None, options(epochs=1), tmp_path, quiet=True)
    with pytest.raises(LaunchMLError, match="without train.ema_decay"):
        fit(MLPNet([4, 3]), TensorInputs(x), y, None, None, options(epochs=2, ema_decay=0.9),
            tmp_path, quiet=True, resume=True)  # fmt: skip


def test_augmentation_is_seeded_and_identity_when_disabled() -> None:
    images = torch.rand(4, 1, 12, 12)
    none = AugmentConfig(shift=0.0, rotate=0.0, scale=0.0)
    torch.testing.assert_close(random_affine(images, none, torch.Generator()), images)
    some = AugmentConfig(enabled=True)
    first = random_affine(images, some, torch.Generator().manual_seed(3))
    again = random_affine(images, some, torch.Generator().manual_seed(3))
    assert first.shape == images.shape and torch.equal(first, again)
    assert not torch.allclose(first, images)


# --------------------------------------------------------------------------------------------
# Resume after SIGKILL.

DRIVER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    import numpy as np
    from safetensors.torch import save_file
    from launchml.config import load_config
    from launchml.data.dataset import Dataset
    from launchml.models import FitContext
    from launchml.models import torch_base
    from launchml.models.mlp import MLP

    work, out, resume = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] == "1"
    ema_decay = float(sys.argv[4]) or None
    slow = torch_base.ImageInputs.batch
    def batch(self, index):  # slow enough to be killed mid-epoch
        time.sleep(0.004)
        return slow(self, index)
    torch_base.ImageInputs.batch = batch

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 240)
    x = rng.integers(0, 80, (240, 10, 10, 1)).astype(np.uint8)
    for i, c in enumerate(y):
        x[i, 3 * c : 3 * c + 3, :, 0] += 120
    labels = ["a", "b", "c"]
    data = Dataset(x[:200], [labels[c] for c in y[:200]], "image", "synthetic")
    val = Dataset(x[200:], [labels[c] for c in y[200:]], "image", "synthetic")
    config = load_config({
        "data": {"train": "unused"},
        "model": {"type": "mlp", "mlp": {"hidden": [32], "dropout": 0.2}},
        "train": {"epochs": 6, "batch_size": 8, "threads": 1, "seed": 7,
                  "early_stopping": {"patience": None}, "augment": {"enabled": True},
                  "ema_decay": ema_decay},
    })
    work.mkdir(parents=True, exist_ok=True)
    ctx = FitContext(config, labels, work, quiet=True, resume=resume)
    model = MLP.from_config(config, labels).fit(data, y[:200], val, y[200:], ctx)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out)
    history = [{k: v for k, v in row.items() if k != "seconds"} for row in ctx.history]
    (out / "history.json").write_text(json.dumps(history))
    np.save(out / "proba.npy", model.predict_proba(val.inputs))
    """
)


def run_driver(
    script: Path, work: Path, out: Path, resume: bool, ema_decay: float
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    args = [str(script), str(work), str(out), "1" if resume else "0", str(ema_decay)]
    return subprocess.Popen([sys.executable, *args], env=env)


@pytest.mark.parametrize("ema_decay", [0.0, 0.9], ids=["plain", "ema"])
def test_resume_after_sigkill_matches_an_uninterrupted_run(
    tmp_path: Path, ema_decay: float
) -> None:
    script = tmp_path / "driver.py"
    script.write_text(DRIVER, encoding="utf-8")

    straight = run_driver(script, tmp_path / "w1", tmp_path / "straight", False, ema_decay)
    killed = run_driver(script, tmp_path / "w2", tmp_path / "resumed", False, ema_decay)
    checkpoint = tmp_path / "w2" / CHECKPOINT
    deadline = time.monotonic() + 60
    while not checkpoint.exists() and killed.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert killed.poll() is None, "the run finished before it could be killed"
    time.sleep(0.05)  # into the next epoch
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert not (tmp_path / "resumed").exists()
    from launchml.checkpoint import read_checkpoint

    groups, state = read_checkpoint(checkpoint)
    assert 1 <= state["loop"]["epoch"] < 6
    assert ("ema" in groups) == bool(ema_decay)

    resumed = run_driver(script, tmp_path / "w2", tmp_path / "resumed", True, ema_decay)
    assert resumed.wait(timeout=120) == 0
    assert straight.wait(timeout=120) == 0

    from safetensors.torch import load_file

    a = load_file(str(tmp_path / "straight" / "weights.safetensors"))
    b = load_file(str(tmp_path / "resumed" / "weights.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    history_a = json.loads((tmp_path / "straight" / "history.json").read_text())
    history_b = json.loads((tmp_path / "resumed" / "history.json").read_text())
    assert history_a == history_b and len(history_a) == 6
    np.testing.assert_array_equal(
        np.load(tmp_path / "straight" / "proba.npy"), np.load(tmp_path / "resumed" / "proba.npy")
    )


# --------------------------------------------------------------------------------------------
# Padding never leaks into sequence models.


def padded(sequences: list[list[int]], extra: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(s) for s in sequences) + extra
    ids = torch.zeros(len(sequences), width, dtype=torch.long)
    for i, s in enumerate(sequences):
        ids[i, : len(s)] = torch.tensor(s)
    return ids, torch.tensor([len(s) for s in sequences])


@pytest.mark.parametrize("pooling", ["last", "mean", "max"])
@pytest.mark.parametrize("bidirectional", [True, False])
def test_lstm_prediction_does_not_depend_on_padding(pooling: str, bidirectional: bool) -> None:
    torch.manual_seed(0)
    options_ = LSTMConfig(pooling=pooling, bidirectional=bidirectional, layers=2, hidden_size=8)
    net = LSTMNet(vocab_size=30, pad_id=0, n_classes=3, options=options_).eval()
    sequences = [[5, 6, 7, 8, 9], [3], [4, 12, 2]]
    tight = net(*padded(sequences, extra=0))
    loose = net(*padded(sequences, extra=7))
    alone = torch.cat([net(*padded([s], extra=0)) for s in sequences])
    torch.testing.assert_close(tight, loose, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(tight, alone, rtol=1e-5, atol=1e-6)


def test_textcnn_prediction_does_not_depend_on_padding() -> None:
    torch.manual_seed(0)
    net = TextCNNNet(30, 0, 3, TextCNNConfig(filters=4, embedding_dim=8)).eval()
    sequences = [[5, 6, 7, 8, 9, 10], [3], [4, 12, 2, 2]]
    tight = net(*padded(sequences, extra=0))
    torch.testing.assert_close(tight, net(*padded(sequences, extra=9)))
    alone = torch.cat([net(*padded([s], extra=0)) for s in sequences])
    torch.testing.assert_close(tight, alone)


# --------------------------------------------------------------------------------------------
# The MLP's gradients against independent computations.


def float64_mlp() -> tuple[MLPNet, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    net = MLPNet([5, 7, 3]).double()
    x = torch.randn(6, 5, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 2, 1, 0])
    return net, x, y


def test_mlp_gradients_pass_gradcheck() -> None:
    net, x, y = float64_mlp()
    names = [name for name, _ in net.named_parameters()]

    def loss(inputs: torch.Tensor, *params: torch.Tensor) -> torch.Tensor:
        out = torch.func.functional_call(net, dict(zip(names, params, strict=True)), (inputs,))
        return nn.functional.cross_entropy(out, y)

    params = tuple(p.detach().clone().requires_grad_(True) for p in net.parameters())
    assert torch.autograd.gradcheck(loss, (x.clone().requires_grad_(True), *params))


def test_mlp_gradients_match_the_numpy_reference_network() -> None:
    reference = pytest.importorskip("launchml.reference.network")
    net, x, y = float64_mlp()
    nn.functional.cross_entropy(net(x), y).backward()
    linears = net.linears()
    activations = ["relu"] * (len(linears) - 1) + ["softmax"]
    layers = [
        reference.Layer(layer.weight.detach().numpy().copy(), layer.bias.detach().numpy().copy(), a)
        for layer, a in zip(linears, activations, strict=True)
    ]
    numpy_net = reference.Network(layers, "cce")
    one_hot = np.eye(3)[y.numpy()]
    backward = numpy_net.backward(numpy_net.forward(x.numpy()), one_hot)
    for layer, dw, db in zip(linears, backward.weight_grads, backward.bias_grads, strict=True):
        np.testing.assert_allclose(layer.weight.grad.numpy(), dw, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(layer.bias.grad.numpy(), db, rtol=1e-10, atol=1e-12)
    assert math.isfinite(float(backward.weight_grads[0].sum()))


def test_class_weights_balanced_and_checked() -> None:
    from launchml.errors import LaunchMLError

    x, y = blobs(60, seed=0)
    torch.manual_seed(0)
    history = fit(MLPNet([4, 8, 3]), TensorInputs(x), y, None, None, options(epochs=1,
                  class_weights="balanced", label_smoothing=0.1), quiet=True)  # fmt: skip
    assert len(history) == 1 and math.isfinite(history[0]["train_loss"])
    with pytest.raises(LaunchMLError, match="one weight per class"):
        fit(MLPNet([4, 8, 3]), TensorInputs(x), y, None, None, options(class_weights=[1.0, 2.0]))
