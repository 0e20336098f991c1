"""benchmarks/gpu_check.py, the GPU machine's check, runs end to end on the CPU (``--device
cpu``) on tiny data: a fine-tune, a CNN and the two-process run, one JSON line each."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import INTENTS, write_csv
from tests.test_transformer import tiny_bert_dir

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_gpu_check_runs_on_the_cpu(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "banking77").mkdir(parents=True)
    (data / "mnist").mkdir()
    rows = [(text, label) for label, texts in INTENTS.items() for text in texts]
    for split in ("train", "test"):
        write_csv(data / "banking77" / f"{split}.csv", rows, header=("text", "category"))
    rng = np.random.default_rng(0)
    y = np.arange(40) % 3
    x = rng.integers(0, 255, (40, 28, 28), dtype=np.uint8)
    np.savez(data / "mnist" / "mnist.npz", x_train=x, y_train=y, x_test=x, y_test=y)
    bert = tiny_bert_dir(tmp_path / "bert")

    command = [sys.executable, str(REPO / "benchmarks" / "gpu_check.py"), "--device", "cpu",
               "--data", str(data), "--limit", "24", "--epochs", "1", "--pretrained", str(bert),
               "--ddp", "always"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines[0]["gpus"] == 0
    checks = {line["check"]: line for line in lines[1:]}
    assert list(checks) == ["banking77", "mnist", "ddp"]
    for check in checks.values():
        assert check["device"] == "cpu" and check["train_rows"] == 24
        assert check["samples_per_second"] > 0 and 0.0 <= check["test_accuracy"] <= 1.0
    assert checks["ddp"]["processes"] == 2 and checks["mnist"]["processes"] == 1
