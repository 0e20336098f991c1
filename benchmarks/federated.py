"""Federated (Flower FedAvg over simulated clients) against centralised training, side by side.

For each dataset the same model and options train three ways in one process, one after the
other: centralised (``launchml.train``), federated with an iid partition, and federated with the
by-label (non-iid) partition; every way passes over the training data equally often (``rounds``
federated rounds of one local epoch = ``rounds`` centralised epochs). One JSON line per run.

    .venv/bin/python benchmarks/federated.py mnist       # cnn, 10 clients, 5 rounds
    .venv/bin/python benchmarks/federated.py banking77   # frozen MiniLM head, 10 clients, 40 rounds

Options: ``--clients K``, ``--rounds R``, ``--only centralised|iid|by-label`` (repeatable),
``--set key=value`` (applied to every run), ``--train-rows N`` and ``--test-rows N``
(mnist: a random N of the training / test images).
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
from launchml.federated import train_federated


def mnist_config(rounds: int, npz: str) -> dict[str, Any]:
    return {
        "data": {"train": npz, "test": npz, "split": {"val": 0.0833, "seed": 0}},
        "model": {"type": "cnn"},  # Conv 32-64-64, Dense 64: no batch norm
        "train": {"epochs": rounds, "batch_size": 64, "lr": 1e-3, "optimizer": "adamw",
                  "schedule": "constant", "threads": 2, "seed": 0,
                  "early_stopping": {"metric": "val_accuracy", "patience": None}},
        "inference": {"batch_size": 1000},
    }  # fmt: skip


def banking77_config(rounds: int, _: str) -> dict[str, Any]:
    folder = SHARED_DATA / "banking77"
    return {
        "data": {"train": str(folder / "train.csv"), "test": str(folder / "test.csv"),
                 "text_column": "text", "label_column": "category",
                 "split": {"val": 0.1, "seed": 0}},
        "model": {"type": "transformer",
                  "transformer": {"body": "frozen", "pooling": "mean", "dropout": 0.1}},
        "train": {"epochs": rounds, "batch_size": 32, "lr": 1e-2, "schedule": "constant",
                  "seed": 0, "early_stopping": {"metric": "val_accuracy", "patience": None}},
        "inference": {"batch_size": 256},
    }  # fmt: skip


DATASETS = {"mnist": (mnist_config, 10, 5), "banking77": (banking77_config, 10, 40)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset", choices=sorted(DATASETS))
    parser.add_argument("--clients", type=int)
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--only", action="append", choices=["centralised", "iid", "by-label"])
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    parser.add_argument("--train-rows", type=int, help="mnist: train on a random subset")
    parser.add_argument("--test-rows", type=int, help="mnist: test on a random subset")
    args = parser.parse_args()
    make, clients, rounds = DATASETS[args.dataset]
    clients, rounds = args.clients or clients, args.rounds or rounds
    print(json.dumps({"machine": machine(), "load_average": load_average()}), flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        raw = make(rounds, mnist_subset(Path(scratch), args.train_rows, args.test_rows))
        for way in args.only or ["centralised", "iid", "by-label"]:
            started, load_before = time.perf_counter(), load_average()
            out = Path(scratch) / way
            if way == "centralised":
                run = launchml.train(load_config(raw, args.overrides), out=out)
            else:
                federated = [f"federated.clients={clients}", f"federated.rounds={rounds}",
                             f"federated.partition={way}"]  # fmt: skip
                run = train_federated(raw, [*args.overrides, *federated], out=out)
            seconds = time.perf_counter() - started
            print(
                json.dumps(record(args.dataset, way, clients, rounds, run, seconds, load_before)),
                flush=True,
            )


def record(
    dataset: str, way: str, clients: int, rounds: int, run: Any, seconds: float, load_before: str
) -> dict[str, Any]:
    federated = run.meta.get("federated") or {}
    labels_per_client = [c["labels"] for c in federated.get("client_data", [])]
    return {
        "dataset": dataset,
        "way": way,
        "model": run.config.model.type,
        "clients": clients if way != "centralised" else None,
        "rounds_or_epochs": rounds,
        "train_rows": run.meta["split_sizes"]["train"],
        "labels_per_client": [min(labels_per_client), max(labels_per_client)]
        if labels_per_client
        else None,
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
