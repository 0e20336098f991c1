"""Shared helpers of the pretrained-transformer benchmarks: run a launchml config, measure it.

Every figure is measured in the process that trains (peak RSS is per process, so run one mode
per process) and printed as one JSON line with the machine's load average beside the timings:
another job on the same cores slows them down.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_common import SHARED_DATA, load_average, machine, peak_rss_mb

from launchml.config import apply_override, load_config
from launchml.pipeline import train

BANKING77 = SHARED_DATA / "banking77"
SST2 = SHARED_DATA / "sst2"


def run_launchml(
    raw: dict[str, Any], overrides: list[str], label: str, keep: Path | None = None
) -> dict[str, Any]:
    """Train ``raw`` (+ ``--set`` overrides) through the pipeline; return the figures."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    for item in overrides:
        apply_override(raw, item)
    config = load_config(raw)
    load_before = load_average()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        out = keep or Path(tmp) / "run"
        run = train(config, out=out, quiet=True)
        wall = time.perf_counter() - started
        with run.path.joinpath("history.csv").open() as handle:
            history = list(csv.DictReader(handle))
    timings = run.meta["timings"]
    n_train = run.meta["split_sizes"]["train"]
    epochs = len(history)  # over all stages (and ensemble members)
    fit = timings["fit_seconds"]
    finetune_epochs = sum(1 for row in history if row.get("stage") == "finetune")
    result = {
        "benchmark": label,
        "date": dt.date.today().isoformat(),
        "machine": machine(),
        "settings": overrides,
        "train_rows": n_train,
        "val_rows": run.meta["split_sizes"]["val"],
        "epochs_run": epochs,
        "test_accuracy": _rounded(run.metrics, "test", "accuracy"),
        "test_macro_f1": _rounded(run.metrics, "test", "macro_f1"),
        "val_accuracy": _rounded(run.metrics, "val", "accuracy"),
        "val_accuracy_by_epoch": [
            round(float(row["val_accuracy"]), 4) for row in history if row.get("val_accuracy")
        ],
        "fit_seconds": round(fit, 1),
        "wall_seconds_with_eval": round(wall, 1),
        # all examples seen while training, over the whole fit time (loading, tokenising,
        # encoding and validation included): a conservative figure
        "train_samples_per_second": round(n_train * max(finetune_epochs, 1) / fit, 1)
        if finetune_epochs
        else None,
        "peak_rss_mb": round(peak_rss_mb()),
        "load_average_before": load_before,
        "load_average_after": load_average(),
    }
    print(json.dumps(result), flush=True)
    return result


def _rounded(metrics: dict[str, Any], split: str, name: str) -> float | None:
    value = metrics.get(split, {}).get(name)
    return None if value is None else round(value, 4)


def banking77_config(mode: str) -> dict[str, Any]:
    """The launchml recipes measured on Banking77 (see docs/BENCHMARKS.md)."""
    data = {
        "train": str(BANKING77 / "train.csv"),
        "test": str(BANKING77 / "test.csv"),
        "text_column": "text",
        "label_column": "category",
        "split": {"val": 0.1, "seed": 0},
    }
    if mode == "frozen":
        model = {"body": "frozen", "pooling": "mean", "dropout": 0.1, "precision": "fp32"}
        train_options = {
            "epochs": 40,
            "batch_size": 32,
            "lr": 1e-2,
            "schedule": "cosine",
            "early_stopping": {"metric": "val_accuracy", "patience": None},
        }
    else:
        model = {
            "body": mode,
            "pooling": "cls",
            "dropout": 0.1,
            "precision": "bf16",
            "head_lr": 1e-3,
            "freeze_embeddings": True,
        }
        train_options = {
            "epochs": 8,
            "batch_size": 32,
            "lr": 1e-4,
            "warmup_ratio": 0.06,
            "schedule": "linear",
            "weight_decay": 0.01,
            "early_stopping": {"metric": "val_accuracy", "patience": None},
        }
    return {
        "data": data,
        "model": {"type": "transformer", "transformer": model},
        "train": {**train_options, "seed": 0},
        "inference": {"batch_size": 256},
    }
