"""``launchml train --nproc 2`` and plain ``torchrun -m launchml train``: the same run as one
process (an ensemble, so members train one after another), one run directory written by rank 0,
and a run whose second process is SIGKILLed continues with ``--resume`` to exactly the
uninterrupted two-process result.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from launchml.runs import Run
from launchml.trainer import CHECKPOINT

CONFIG = """
data:
  train: train.csv
  split: {val: 0.2, test: 0.2, seed: 0}
model:
  type: ensemble
  ensemble: {member: mlp, size: 2}
  mlp: {hidden: [16], dropout: 0.0}  # dropout would draw different masks per process
train:
  epochs: 12
  batch_size: 8
  seed: 1
  threads: 1
  early_stopping: {patience: null}
"""
WORDS = {
    "order": ["order", "parcel", "track", "ship", "deliver", "status", "where"],
    "refund": ["refund", "money", "back", "return", "charge", "pay"],
    "address": ["address", "move", "change", "edit", "new", "postal"],
}
FILLER = ["the", "my", "please", "is", "a", "refund", "order"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    rows = [
        (" ".join([*rng.choice(words, int(rng.integers(1, 6))), *rng.choice(FILLER, 3)]), label)
        for label, words in WORDS.items()
        for _ in range(60)
    ]
    with (tmp_path / "train.csv").open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([("text", "label"), *rows])
    (tmp_path / "config.yaml").write_text(CONFIG, encoding="utf-8")
    return tmp_path


def env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}


def launchml(*args: str | Path, **kwargs: object) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "launchml", *map(str, args)]
    return subprocess.Popen(command, env=env(), text=True, **kwargs)  # type: ignore[call-overload]


def torchrun(*args: str | Path) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "torch.distributed.run", "--nnodes=1", "--nproc-per-node=2",
               "--rdzv-backend=launchml-loopback", "--rdzv-endpoint=127.0.0.1:0",
               "-m", "launchml", *map(str, args)]  # fmt: skip
    return subprocess.Popen(command, env=env(), text=True, stderr=subprocess.PIPE)


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.is_file() else []


def probabilities(run: Path, texts: list[str]) -> np.ndarray:
    return Run.load(run).predict_proba(texts)


@pytest.mark.slow
def test_nproc_matches_one_process_and_resumes_after_sigkill(project: Path, cli) -> None:
    config = project / "config.yaml"
    assert cli("train", config, "--out", project / "one", "-q").code == 0

    two = launchml("train", config, "--out", project / "two", "-q", "--nproc", "2",
                   stdout=subprocess.PIPE)  # fmt: skip
    out, _ = two.communicate(timeout=600)
    assert two.returncode == 0
    lines = out.strip().splitlines()  # rank 0 alone speaks: two metric lines and the run
    assert len(lines) == 3 and lines[-1] == str(project / "two"), out
    assert sorted(p.name for p in project.iterdir() if p.is_dir()) == ["one", "two"]

    one_history = (project / "one" / "history.csv").read_text()
    two_history = (project / "two" / "history.csv").read_text()
    assert len(_column(one_history, "train_loss")) == 24  # 2 members x 12 epochs
    for key in ("train_loss", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(
            _column(two_history, key), _column(one_history, key), rtol=1e-4, err_msg=key
        )
    texts = ["where is my parcel", "money back please", "new postal address", "the"]
    np.testing.assert_allclose(
        probabilities(project / "two", texts), probabilities(project / "one", texts), atol=1e-5
    )

    # Plain torchrun; one of its two processes is killed in the first member's training.
    killed = torchrun("train", config, "--out", project / "resumed", "-q")
    checkpoint = project / "resumed.partial" / "work" / "member0" / "work" / CHECKPOINT
    deadline = time.monotonic() + 300
    while not checkpoint.exists() and killed.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    workers = children(killed.pid)
    assert killed.poll() is None and len(workers) == 2, "the run ended before it was killed"
    os.kill(workers[-1], signal.SIGKILL)
    _, err = killed.communicate(timeout=120)
    assert killed.returncode != 0 and "SIGKILL" in err
    assert not (project / "resumed").exists()  # nothing that looks like a finished run
    assert not (project / "resumed.partial" / "work" / "member1" / "fitted").exists()

    resumed = launchml("train", config, "--resume", project / "resumed", "-q", "--nproc", "2")
    assert resumed.wait(timeout=600) == 0
    assert not (project / "resumed.partial").exists()
    for member in ("member0", "member1"):
        a = load_file(project / "two" / member / "weights.safetensors")
        b = load_file(project / "resumed" / member / "weights.safetensors")
        for key in a:
            np.testing.assert_array_equal(a[key], b[key], err_msg=f"{member} {key}")
    resumed_history = (project / "resumed" / "history.csv").read_text()
    assert _column(resumed_history, "train_loss") == _column(two_history, "train_loss")


def _column(history_csv: str, name: str) -> list[float]:
    rows = list(csv.DictReader(history_csv.splitlines()))
    return [float(row[name]) for row in rows]
