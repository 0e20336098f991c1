"""Training samples/s in one process vs two (``launchml train --nproc 2``, gloo), same global
batch, and where the time of a data-parallel step goes.

Workloads (one epoch each, no validation, so an epoch is pure training):

- ``mnist``: the from-scratch CNN (batch norm, dropout) on the first N MNIST training images,
  batch 128;
- ``banking77``: all-MiniLM-L6-v2 fine-tuned (mean pooling, embeddings frozen, max_length 64)
  on the first N Banking77 training texts, batch 32.

Three ways to use the 2 cores alternate ``--repeats`` times, each a fresh
``python -m launchml train``: one process with torch's default 2 threads, one process with 1
thread, and two processes with 1 thread each (``--nproc 2``). Samples/s is the epoch's rows
over its seconds (``history.csv``, measured by rank 0). Then the cost data parallelism adds to
every optimiser step is measured apart: an all-reduce of as many float32 numbers as the model
has trainable parameters, between two gloo processes on loopback.

    .venv/bin/python benchmarks/ddp_throughput.py mnist --rows 20000 --repeats 2
    .venv/bin/python benchmarks/ddp_throughput.py banking77 --rows 2000 --repeats 2
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from bench_common import SHARED_DATA, load_average, machine


def mnist(rows: int, work: Path) -> tuple[dict[str, Any], int]:
    with np.load(SHARED_DATA / "mnist" / "mnist.npz") as data:
        np.savez(work / "mnist.npz", x_train=data["x_train"][:rows], y_train=data["y_train"][:rows])
    raw = {
        "data": {"train": str(work / "mnist.npz"), "split": {"val": 0.0}},
        "model": {"type": "cnn", "cnn": {"batch_norm": True, "dropout": 0.25}},
        "train": {"epochs": 1, "batch_size": 128, "lr": 3e-3, "schedule": "onecycle"},
    }
    from launchml.config import CNNConfig
    from launchml.models.cnn import CNNNet

    net = CNNNet(1, (28, 28), 10, CNNConfig(batch_norm=True, dropout=0.25))
    return raw, sum(p.numel() for p in net.parameters() if p.requires_grad)


def banking77(rows: int, work: Path) -> tuple[dict[str, Any], int]:
    frame = pd.read_csv(SHARED_DATA / "banking77" / "train.csv")
    frame.sample(frac=1.0, random_state=0).head(rows).to_csv(work / "train.csv", index=False)
    raw = {
        "data": {"train": str(work / "train.csv"), "split": {"val": 0.0}},
        "model": {"type": "transformer",
                  "transformer": {"body": "finetune", "pooling": "mean", "normalize": False,
                                  "max_length": 64, "head_lr": 1e-3}},
        "train": {"epochs": 1, "batch_size": 32, "lr": 1e-4, "schedule": "linear",
                  "warmup_ratio": 0.06},
    }  # fmt: skip
    from launchml.inference.encoder import resolve_pretrained
    from launchml.models.hf_encoder import TransformerNet

    net = TransformerNet.build(resolve_pretrained("minilm"), 77, "mean")
    net.freeze(embeddings=True, layers=0)
    return raw, sum(p.numel() for p in net.parameters() if p.requires_grad)


def train_once(
    raw: dict[str, Any], work: Path, nproc: int, threads: int | None, tag: str
) -> dict[str, Any]:
    config = work / f"{tag}.yaml"
    raw = {**raw, "train": {**raw["train"], "threads": threads}}
    config.write_text(json.dumps(raw), encoding="utf-8")
    out = work / tag
    command = [sys.executable, "-m", "launchml", "train", str(config), "--out", str(out), "-q"]
    command += ["--nproc", str(nproc)] if nproc > 1 else []
    load = load_average()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    with (out / "history.csv").open() as handle:
        (epoch,) = list(csv.DictReader(handle))
    rows = json.loads((out / "meta.json").read_text())["split_sizes"]["train"]
    seconds = float(epoch["seconds"])
    per_process = threads or max(1, (os.cpu_count() or 1) // nproc)
    return {"processes": nproc, "threads_per_process": per_process, "rows": rows,
            "epoch_seconds": round(seconds, 1),
            "samples_per_second": round(rows / seconds, 1),
            "train_loss": round(float(epoch["train_loss"]), 4), "load": load}  # fmt: skip


ALLREDUCE = """
import os, statistics, sys, time
import torch, torch.distributed as dist
rank, store, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
torch.set_num_threads(1)
dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=2)
grads = torch.ones(n)
times = []
for i in range(23):
    dist.barrier()
    started = time.perf_counter()
    dist.all_reduce(grads)
    times.append(time.perf_counter() - started)
if rank == 0:
    print(statistics.median(times[3:]) * 1000)
dist.destroy_process_group()
"""


def allreduce_ms(params: int, work: Path) -> float:
    """Median ms of one all-reduce of ``params`` float32 numbers between 2 gloo processes."""
    env = {**os.environ, "GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1"}
    store = work / "store"
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", ALLREDUCE, str(rank), str(store), str(params)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for rank in range(2)
    ]
    outputs = [w.communicate(timeout=600)[0] for w in workers]
    return round(float(outputs[0].strip()), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("workload", choices=["mnist", "banking77"])
    parser.add_argument("--rows", type=int, default=None, help="training rows (20000 / 2000)")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    rows = args.rows or (20_000 if args.workload == "mnist" else 2_000)
    print(json.dumps({"machine": machine(), "date": time.strftime("%Y-%m-%d %H:%M"),
                      "command": " ".join(["python", *sys.argv])}))  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        raw, params = (mnist if args.workload == "mnist" else banking77)(rows, work)
        modes = {"1 process x 2 threads": (1, None), "1 process x 1 thread": (1, 1),
                 "2 processes x 1 thread": (2, None)}  # fmt: skip
        results: dict[str, list[dict[str, Any]]] = {mode: [] for mode in modes}
        for repeat in range(args.repeats):
            for mode, (nproc, threads) in modes.items():
                result = train_once(raw, work, nproc, threads, f"r{repeat}-{nproc}-{threads}")
                results[mode].append(result)
                print(json.dumps({"workload": args.workload, **result}), flush=True)
        median = {
            mode: statistics.median(r["samples_per_second"] for r in runs)
            for mode, runs in results.items()
        }
        steps = math.ceil(rows / raw["train"]["batch_size"])
        reduce_ms = allreduce_ms(params, work)
        step_ms = 1000 * raw["train"]["batch_size"] / median["1 process x 1 thread"]
        print(json.dumps({
            "workload": args.workload, "trainable_parameters": params, "steps_per_epoch": steps,
            "median_samples_per_second": median,
            "two_processes_over_one_thread": round(
                median["2 processes x 1 thread"] / median["1 process x 1 thread"], 2),
            "two_processes_over_two_threads": round(
                median["2 processes x 1 thread"] / median["1 process x 2 threads"], 2),
            "one_thread_step_ms": round(step_ms, 1),
            "allreduce_ms_per_step": reduce_ms,
            "allreduce_share_of_a_step": round(reduce_ms / step_ms, 3),
        }))  # fmt: skip


if __name__ == "__main__":
    main()
