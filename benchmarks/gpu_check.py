"""Check launchml's GPU path on a machine that has one, in a few minutes.

Three checks, one JSON line each (samples/s of training, test accuracy, the device, peak GPU
memory):

1. ``banking77``: all-MiniLM-L6-v2 fine-tuned on Banking77 for one epoch (max_length 64);
2. ``mnist``: the from-scratch CNN on MNIST for two epochs;
3. ``ddp``: the same MNIST CNN in two processes (``launchml train --nproc 2``; one GPU each,
   nccl) when there are two or more GPUs, compared with the one-process run (same global batch,
   so the accuracy should agree within run-to-run noise and samples/s should nearly double).

    .venv/bin/python benchmarks/gpu_check.py                    # auto: the GPU when there is one
    .venv/bin/python benchmarks/gpu_check.py --device cpu --limit 64 --ddp always   # smoke run

``--data DIR`` holds ``banking77/{train,test}.csv`` and ``mnist/mnist.npz`` (default: the shared
datasets beside the checkout); ``--limit N`` keeps the first N training and test rows of each.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from bench_common import SHARED_DATA, load_average, machine

from launchml.config import load_config
from launchml.pipeline import train


def banking77_config(data: Path, device: str, epochs: int, pretrained: str) -> dict[str, Any]:
    return {
        "data": {"train": str(data / "train.csv"), "test": str(data / "test.csv"),
                 "split": {"val": 0.0}},
        "model": {"type": "transformer",
                  "transformer": {"pretrained": pretrained, "body": "finetune", "pooling": "mean",
                                  "normalize": False, "max_length": 64, "head_lr": 1e-3}},
        "train": {"epochs": epochs, "batch_size": 32, "lr": 1e-4, "schedule": "linear",
                  "warmup_ratio": 0.06, "device": device},
    }  # fmt: skip


def mnist_config(data: Path, device: str, epochs: int) -> dict[str, Any]:
    return {
        "data": {"train": str(data), "test": str(data), "split": {"val": 0.0}},
        "model": {"type": "cnn", "cnn": {"batch_norm": True, "dropout": 0.25}},
        "train": {"epochs": epochs, "batch_size": 128, "lr": 3e-3, "schedule": "onecycle",
                  "device": device},
    }  # fmt: skip


def measure(name: str, raw: dict[str, Any], out: Path) -> dict[str, Any]:
    """Train ``raw`` in this process; samples/s over the whole fit, test accuracy."""
    import torch

    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    run = train(load_config(raw), out=out, quiet=True)
    wall = time.perf_counter() - started
    return figures(name, run.path, wall, processes=1)


def figures(name: str, run: Path, wall: float, processes: int) -> dict[str, Any]:
    """The run's figures; peak GPU memory is this process's (None for the 2-process run)."""
    import torch

    meta = json.loads((run / "meta.json").read_text(encoding="utf-8"))
    metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    config = load_config(str(run / "config.yaml"))
    seen = meta["split_sizes"]["train"] * config.train.epochs
    fit = meta["timings"]["fit_seconds"]
    gpu = torch.cuda.is_available() and config.train.device != "cpu"
    peak = round(torch.cuda.max_memory_allocated() / 2**20) if gpu and processes == 1 else None
    return {
        "check": name,
        "device": config.train.device if not gpu else torch.cuda.get_device_name(0),
        "processes": processes,
        "train_rows": meta["split_sizes"]["train"],
        "epochs": config.train.epochs,
        "samples_per_second": round(seen / fit, 1),
        "fit_seconds": round(fit, 1),
        "wall_seconds": round(wall, 1),
        "test_accuracy": round(metrics["test"]["accuracy"], 4),
        "peak_gpu_mb": peak,
    }


def ddp(raw: dict[str, Any], work: Path) -> dict[str, Any]:
    """``launchml train --nproc 2`` of ``raw`` (one GPU per process on CUDA, gloo on the CPU)."""
    config = work / "ddp.yaml"
    config.write_text(json.dumps(raw), encoding="utf-8")  # JSON is YAML
    command = [sys.executable, "-m", "launchml", "train", str(config), "--out", str(work / "ddp"),
               "--nproc", "2", "-q"]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return figures("ddp", work / "ddp", time.perf_counter() - started, processes=2)


def subset(data: Path, work: Path, limit: int | None) -> tuple[Path, Path]:
    """The Banking77 directory and the MNIST file to train on (the first ``limit`` rows)."""
    banking, mnist = data / "banking77", data / "mnist" / "mnist.npz"
    if limit is None:
        return banking, mnist
    small = work / "banking77"
    small.mkdir()
    for split in ("train", "test"):
        pd.read_csv(banking / f"{split}.csv").sample(frac=1.0, random_state=0).head(limit).to_csv(
            small / f"{split}.csv", index=False
        )
    with np.load(mnist) as arrays:
        parts = {key: arrays[key][:limit] for key in ("x_train", "y_train", "x_test", "y_test")}
    np.savez(work / "mnist.npz", **parts)
    return small, work / "mnist.npz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="auto", help="auto, cuda, cuda:N or cpu")
    parser.add_argument("--data", type=Path, default=SHARED_DATA)
    parser.add_argument("--limit", type=int, default=None, help="first N rows of each set")
    parser.add_argument("--epochs", type=int, default=None, help="both checks (default 1 / 2)")
    parser.add_argument("--pretrained", default="minilm", help="the encoder to fine-tune")
    parser.add_argument("--ddp", choices=["auto", "always", "never"], default="auto",
                        help="auto: only with 2+ GPUs; always: also on the CPU (gloo)")  # fmt: skip
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    print(json.dumps({"machine": machine(), "gpus": gpus, "load": load_average(),
                      "command": " ".join(["python", *sys.argv])}))  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        banking, mnist = subset(args.data, work, args.limit)
        nlp = banking77_config(banking, args.device, args.epochs or 1, args.pretrained)
        print(json.dumps(measure("banking77", nlp, work / "banking77-run")))
        cnn = mnist_config(mnist, args.device, args.epochs or 2)
        print(json.dumps(measure("mnist", cnn, work / "mnist-run")))
        if args.ddp == "always" or (args.ddp == "auto" and gpus >= 2):
            print(json.dumps(ddp(cnn, work)))
        elif args.ddp == "auto":
            print(json.dumps({"check": "ddp", "skipped": f"{gpus} GPU(s); needs 2 or more"}))


if __name__ == "__main__":
    main()
