"""`launchml train CONFIG --resume RUN` after a real SIGKILL ends as an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from launchml.trainer import CHECKPOINT

CONFIG = """
data:
  train: digits.npz
  test: digits.npz
  split: {val: 0.2, seed: 0}
model:
  type: mlp
  mlp: {hidden: [64], dropout: 0.1}
train:
  epochs: 5
  batch_size: 4
  threads: 1
  seed: 3
  early_stopping: {patience: null}
"""


def launchml(*args: str | Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "launchml.cli", *map(str, args)]
    return subprocess.Popen(command, env={**os.environ, "PYTHONHASHSEED": "0"})


@pytest.mark.slow
def test_cli_resume_after_sigkill(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 3000)
    x = rng.integers(0, 90, (3000, 12, 12)).astype(np.uint8)
    for i, label in enumerate(y):
        x[i, 3 * label : 3 * label + 3] += 150
    np.savez(tmp_path / "digits.npz", x_train=x, y_train=y, x_test=x[:300], y_test=y[:300])
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG, encoding="utf-8")

    straight = launchml("train", config, "--out", tmp_path / "straight", "-q")
    killed = launchml("train", config, "--out", tmp_path / "resumed", "-q")
    checkpoint = tmp_path / "resumed.partial" / "work" / CHECKPOINT
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and killed.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert killed.poll() is None, "the run ended before it could be killed"
    time.sleep(0.1)  # into the next epoch
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert not (tmp_path / "resumed").exists()  # nothing that looks like a finished run

    resumed = launchml("train", config, "--resume", tmp_path / "resumed", "-q")
    assert resumed.wait(timeout=300) == 0
    assert straight.wait(timeout=300) == 0

    a = load_file(tmp_path / "straight" / "weights.safetensors")
    b = load_file(tmp_path / "resumed" / "weights.safetensors")
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    metrics_a = json.loads((tmp_path / "straight" / "metrics.json").read_text())
    metrics_b = json.loads((tmp_path / "resumed" / "metrics.json").read_text())
    assert metrics_a == metrics_b
    assert not (tmp_path / "resumed.partial").exists()
    assert not (tmp_path / "resumed" / "work").exists()
