"""In-process inference speed of a run against its exported bundles: torch eager vs ONNX fp32 vs
ONNX int8, side by side in one process, each with its test accuracy and its size.

Two runs (trained here once, then reused from ``--runs``):

- ``banking77``: all-MiniLM-L6-v2 fine-tuned on Banking77 (``body: finetune``, mean pooling,
  the lowest 3 layers frozen, bf16 training, 3 epochs);
- ``banking77-frozen``: the same network with the body as it is (only the head trained), the
  frozen recipe of ``transformer_common.py``;
- ``mnist``: the default ``cnn`` (batch norm, dropout) on MNIST, 2 epochs.

Each is exported with ``launchml.export`` (the accuracy guard on its validation split) as fp32
and int8; a transformer also as int8 without ONNX Runtime's transformer optimisations, to
measure what they bring. Then, at ``--threads`` (2) threads each: batch-1 latency p50/p99 over
``--queries`` test inputs (one at a time, the same inputs for every variant, variants
interleaved round-robin so that a busy moment of the shared machine hits them all alike), and
batch-64 throughput over the test set; plus test accuracy. Prints one JSON line per run.

    .venv/bin/python benchmarks/export_speed.py --runs /tmp/export-bench banking77 mnist
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
from bench_common import SHARED_DATA, load_average, machine

BANKING77 = SHARED_DATA / "banking77"
MNIST = SHARED_DATA / "mnist" / "mnist.npz"

CONFIGS: dict[str, dict[str, Any]] = {
    "banking77": {
        "data": {
            "train": str(BANKING77 / "train.csv"),
            "test": str(BANKING77 / "test.csv"),
            "text_column": "text",
            "label_column": "category",
            "split": {"val": 0.1, "seed": 0},
        },
        "model": {
            "type": "transformer",
            "transformer": {
                "body": "finetune", "pooling": "mean", "normalize": False, "freeze_layers": 3,
                "precision": "bf16", "head_lr": 1e-3, "dropout": 0.1,
            },
        },
        "train": {"epochs": 3, "batch_size": 32, "lr": 1e-4, "schedule": "linear",
                  "warmup_ratio": 0.06, "seed": 0,
                  "early_stopping": {"metric": "val_accuracy", "patience": None}},
        "inference": {"batch_size": 256},
    },
    # the frozen-body recipe of benchmarks/transformer_common.py (all-MiniLM-L6-v2 as it is + a
    # trained head; same network at prediction time, minutes instead of an hour to train)
    "banking77-frozen": {
        "data": {
            "train": str(BANKING77 / "train.csv"),
            "test": str(BANKING77 / "test.csv"),
            "text_column": "text",
            "label_column": "category",
            "split": {"val": 0.1, "seed": 0},
        },
        "model": {
            "type": "transformer",
            "transformer": {"body": "frozen", "pooling": "mean", "dropout": 0.1,
                            "precision": "fp32"},
        },
        "train": {"epochs": 40, "batch_size": 32, "lr": 1e-2, "schedule": "cosine", "seed": 0,
                  "early_stopping": {"metric": "val_accuracy", "patience": None}},
        "inference": {"batch_size": 256},
    },
    "mnist": {
        "data": {"train": str(MNIST), "test": str(MNIST), "split": {"val": 0.1, "seed": 0}},
        "model": {"type": "cnn", "cnn": {"batch_norm": True, "dropout": 0.25}},
        "train": {"epochs": 2, "batch_size": 128, "lr": 3e-3, "schedule": "onecycle", "seed": 0},
    },
}  # fmt: skip


def trained_run(name: str, runs: Path) -> Any:
    import launchml

    path = runs / name
    if path.is_dir():
        return launchml.Run.load(path)
    started = time.perf_counter()
    run = launchml.train(CONFIGS[name], out=path, quiet=True)
    print(f"# trained {name} in {time.perf_counter() - started:.0f} s", flush=True)
    return run


def bundles(run: Any, runs: Path) -> dict[str, Path]:
    """The bundles to compare, exported once (figures of each export in its manifest)."""
    from launchml import export

    wanted = {"onnx_fp32": ("none", True), "onnx_int8": ("int8", True)}
    if run.config.model.type == "transformer":
        wanted["onnx_int8_unoptimized"] = ("int8", False)
    paths = {}
    for variant, (quantize, optimize) in wanted.items():
        path = runs / f"{run.path.name}-{variant}"
        if not path.is_dir():
            started = time.perf_counter()
            export(run, quantize=quantize, out=path, optimize=optimize, max_drop=100)
            print(f"# exported {variant} in {time.perf_counter() - started:.0f} s", flush=True)
        paths[variant] = path
    return paths


def test_data(run: Any, limit: int | None) -> tuple[Any, list[str]]:
    """The test split, or a seeded random ``limit`` of its rows (every class keeps its share)."""
    from launchml.data.load import load_splits

    test = load_splits(run.config.data).test
    assert test is not None
    if limit is None or limit >= len(test):
        return test.inputs, test.labels
    keep = sorted(np.random.default_rng(0).choice(len(test), size=limit, replace=False).tolist())
    subset = test.subset(keep)
    return subset.inputs, subset.labels


def measure(name: str, runs: Path, threads: int, queries: int, limit: int | None) -> dict[str, Any]:
    import torch

    from launchml.manifest import read_manifest
    from launchml.runtime import load_bundle

    torch.set_num_threads(threads)
    run = trained_run(name, runs)
    paths = bundles(run, runs)
    inputs, labels = test_data(run, limit)
    predictors: dict[str, Any] = {"torch_eager": run.model.predict_proba}
    net = getattr(run.model, "module_", None)
    if getattr(net, "bf16", False):  # the run predicts in bf16: time fp32 torch too
        predictors["torch_eager_bf16"] = run.model.predict_proba
    for variant, path in paths.items():
        predictors[variant] = load_bundle(path, threads=threads).proba_prepared

    def call(variant: str, batch: Any) -> Any:
        if net is not None and hasattr(net, "bf16"):
            net.bf16 = variant == "torch_eager_bf16"
        return predictors[variant](batch)

    figures: dict[str, Any] = {v: {} for v in predictors}
    load_before = load_average()
    for variant in predictors:  # accuracy and batch-64 throughput over the whole test set
        started = time.perf_counter()
        chunks = [call(variant, inputs[i : i + 64]) for i in range(0, len(inputs), 64)]
        proba = np.concatenate(chunks)
        seconds = time.perf_counter() - started
        predicted = [run.labels[i] for i in proba.argmax(axis=1)]
        figures[variant]["test_accuracy"] = round(float(np.mean(
            [p == t for p, t in zip(predicted, labels, strict=True)])), 4)  # fmt: skip
        figures[variant]["batch64_per_s"] = round(len(inputs) / seconds, 1)
    latencies: dict[str, list[float]] = {v: [] for v in predictors}
    for variant in predictors:  # warm-up
        for i in range(5):
            call(variant, inputs[i : i + 1])
    for i in range(min(queries, len(inputs))):  # round-robin: load spikes hit every variant
        for variant in predictors:
            started = time.perf_counter()
            call(variant, inputs[i : i + 1])
            latencies[variant].append((time.perf_counter() - started) * 1000.0)
    base = float(np.percentile(latencies["torch_eager"], 50))
    for variant, times in latencies.items():
        p50 = float(np.percentile(times, 50))
        figures[variant].update(
            batch1_p50_ms=round(p50, 2),
            batch1_p99_ms=round(float(np.percentile(times, 99)), 2),
            speedup_p50_vs_torch=round(base / p50, 2),
        )
    from launchml.profiling import model_size_bytes

    figures["torch_eager"]["size_mb"] = round(model_size_bytes(run.path) / 1e6, 1)
    for variant, path in paths.items():
        manifest = read_manifest(path) or {}
        figures[variant]["size_mb"] = round(
            sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6, 1
        )
        guard = manifest.get("figures", {})
        figures[variant]["guard"] = {
            "accuracy": guard.get("accuracy"),
            "fp32_max_abs_diff": guard.get("fp32", {}).get("max_abs_diff"),
            "fused": guard.get("transformer_optimizer"),
        }
    return {
        "benchmark": f"export_speed {name}",
        "date": dt.date.today().isoformat(),
        "machine": machine(),
        "threads": threads,
        "queries": min(queries, len(inputs)),
        "test_rows": len(inputs),
        "figures": figures,
        "load_average_before": load_before,
        "load_average_after": load_average(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("runs", nargs="+", choices=sorted(CONFIGS))
    parser.add_argument("--dir", type=Path, default=Path("/tmp/launchml-export-bench"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--test-limit", type=int, default=None, help="score N test rows")
    parser.add_argument("--train-only", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args.dir.mkdir(parents=True, exist_ok=True)
    for name in args.runs:
        if args.train_only:
            trained_run(name, args.dir)
            continue
        figures = measure(name, args.dir, args.threads, args.queries, args.test_limit)
        print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
