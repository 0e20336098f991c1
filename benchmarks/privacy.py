"""Differentially private training (Opacus DP-SGD) at several budgets against none, side by side.

The same model and options train once without privacy and once per epsilon, one after the
other in one process; one JSON line per run (accuracy, epsilon spent, noise, time).

    .venv/bin/python benchmarks/privacy.py mnist        # cnn (no batch norm), 3 epochs
    .venv/bin/python benchmarks/privacy.py banking77    # frozen MiniLM head, 40 epochs

Options: ``--epsilons 1 3 8``, ``--set key=value`` (applied to every run), ``--train-rows N``
and ``--test-rows N`` (mnist: a random N of the training / test images).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_common import SHARED_DATA, load_average, machine, mnist_subset, peak_rss_mb

import launchml
from launchml.config import load_config


def mnist_config(npz: str) -> dict[str, Any]:
    return {
        "data": {"train": npz, "test": npz, "split": {"val": 0.0833, "seed": 0}},
        "model": {"type": "cnn"},  # Conv 32-64-64, Dense 64: no batch norm (DP-SGD refuses it)
        "train": {"epochs": 3, "batch_size": 256, "lr": 2e-3, "optimizer": "adamw",
                  "schedule": "constant", "threads": 2, "seed": 0,
                  "early_stopping": {"metric": "val_accuracy", "patience": None}},
        "inference": {"batch_size": 1000},
    }  # fmt: skip


def banking77_config(_: str) -> dict[str, Any]:
    folder = SHARED_DATA / "banking77"
    return {
        "data": {"train": str(folder / "train.csv"), "test": str(folder / "test.csv"),
                 "text_column": "text", "label_column": "category",
                 "split": {"val": 0.1, "seed": 0}},
        "model": {"type": "transformer",
                  "transformer": {"body": "frozen", "pooling": "mean", "dropout": 0.1}},
        "train": {"epochs": 40, "batch_size": 128, "lr": 1e-2, "schedule": "constant",
                  "seed": 0, "early_stopping": {"metric": "val_accuracy", "patience": None}},
        "inference": {"batch_size": 256},
    }  # fmt: skip


DATASETS = {"mnist": mnist_config, "banking77": banking77_config}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset", choices=sorted(DATASETS))
    parser.add_argument("--epsilons", type=float, nargs="*", default=[1.0, 3.0, 8.0])
    parser.add_argument("--no-baseline", action="store_true", help="skip the run without privacy")
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    parser.add_argument("--train-rows", type=int, help="mnist: train on a random subset")
    parser.add_argument("--test-rows", type=int, help="mnist: test on a random subset")
    args = parser.parse_args()
    print(json.dumps({"machine": machine(), "load_average": load_average()}), flush=True)
    budgets: list[float | None] = ([] if args.no_baseline else [None]) + list(args.epsilons)
    with tempfile.TemporaryDirectory() as scratch:
        raw = DATASETS[args.dataset](mnist_subset(Path(scratch), args.train_rows, args.test_rows))
        for epsilon in budgets:
            privacy = [] if epsilon is None else [f"train.privacy.epsilon={epsilon}"]
            config = load_config(raw, [*args.overrides, *privacy])
            started, load_before = time.perf_counter(), load_average()
            run = launchml.train(config, out=Path(scratch) / f"eps-{epsilon}")
            seconds = time.perf_counter() - started
            print(json.dumps(record(args.dataset, epsilon, run, seconds, load_before)), flush=True)


def record(
    dataset: str, epsilon: float | None, run: Any, seconds: float, load_before: str
) -> dict[str, Any]:
    spent = run.meta.get("privacy") or {}
    return {
        "dataset": dataset,
        "model": run.config.model.type,
        "target_epsilon": epsilon,
        "epsilon_spent": spent.get("epsilon"),
        "delta": spent.get("delta"),
        "noise_multiplier": spent.get("noise_multiplier"),
        "max_grad_norm": spent.get("max_grad_norm"),
        "train_rows": run.meta["split_sizes"]["train"],
        "epochs": run.config.train.epochs,
        "batch_size": run.config.train.batch_size,
        "val_accuracy": round(run.metrics["val"]["accuracy"], 4),
        "test_rows": run.metrics["test"]["n"],
        "test_accuracy": round(run.metrics["test"]["accuracy"], 4),
        "test_macro_f1": round(run.metrics["test"]["macro_f1"], 4),
        "fit_seconds": run.meta["timings"]["fit_seconds"],
        "wall_seconds": round(seconds, 1),
        "peak_rss_mb": round(peak_rss_mb()),
        "load_average_before": load_before,
        "load_average_after": load_average(),
    }


if __name__ == "__main__":
    main()
