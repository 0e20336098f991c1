"""``launchml tune`` against random search and the hand-made recipe, with the same budget.

For one task (``banking77``: the frozen-encoder transformer on cached features; ``mnist``: the
cnn on a 6,000-image subset), three searches run one after another on the same data and
validation split:

1. ``launchml tune``: TPE sampler + median pruner (the defaults),
2. random search without pruning (``tune.sampler=random``, ``tune.pruner=none``),
3. the hand-made recipe of docs/BENCHMARKS.md, trained once.

Each is scored by the best trial's validation accuracy (what chose it) and that trial's test
accuracy (looked at only here, after the search). Prints one JSON object.

    .venv/bin/python benchmarks/tune_search.py banking77 --trials 20 --timeout 900
    .venv/bin/python benchmarks/tune_search.py mnist --trials 12 --timeout 900
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from bench_common import SHARED_DATA, load_average, machine
from transformer_common import banking77_config

from launchml.config import load_config
from launchml.pipeline import train
from launchml.runs import Run
from launchml.tuning.study import tune

MNIST_TRAIN_IMAGES = 6_000


def banking77() -> tuple[dict[str, Any], dict[str, Any]]:
    """The frozen recipe (40 epochs, lr 1e-2, batch 32, dropout 0.1) and the space around it."""
    recipe = banking77_config("frozen")
    recipe["train"]["threads"] = 1
    space = {
        "train.lr": {"low": 1e-4, "high": 5e-2, "log": True},
        "train.epochs": {"low": 10, "high": 60},
        "train.batch_size": {"choices": [16, 32, 64, 128]},
        "train.weight_decay": {"low": 1e-4, "high": 0.3, "log": True},
        "train.label_smoothing": {"low": 0.0, "high": 0.2},
        "model.transformer.dropout": {"low": 0.0, "high": 0.5},
    }
    return recipe, space


def mnist(folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The cnn recipe of mnist_from_scratch.py (batch norm, dropout 0.25, augmentation, AdamW
    3e-3 one-cycle, batch 128) cut to 4 epochs on 6,000 training images; the space around it."""
    with np.load(SHARED_DATA / "mnist" / "mnist.npz") as data:
        arrays = {key: data[key] for key in data.files}
    subset = folder / f"mnist-{MNIST_TRAIN_IMAGES}.npz"
    np.savez(
        subset,
        x_train=arrays["x_train"][:MNIST_TRAIN_IMAGES],
        y_train=arrays["y_train"][:MNIST_TRAIN_IMAGES],
        x_test=arrays["x_test"],
        y_test=arrays["y_test"],
    )
    recipe = {
        "data": {"train": str(subset), "test": str(subset), "split": {"val": 0.1, "seed": 0}},
        "model": {"type": "cnn", "cnn": {"batch_norm": True, "dropout": 0.25}},
        "train": {
            "epochs": 4, "batch_size": 128, "lr": 3e-3, "schedule": "onecycle", "threads": 1,
            "early_stopping": {"metric": "val_accuracy", "patience": None},
            "augment": {"enabled": True, "shift": 0.08, "rotate": 8.0, "scale": 0.08},
        },
    }  # fmt: skip
    space = {
        "train.lr": {"low": 3e-4, "high": 2e-2, "log": True},
        "train.epochs": {"low": 2, "high": 4},
        "train.batch_size": {"choices": [64, 128, 256]},
        "train.schedule": {"choices": ["onecycle", "cosine"]},
        "train.augment.enabled": {"choices": [True, False]},
        "model.cnn.dropout": {"low": 0.0, "high": 0.5},
        "model.cnn.dense": {"choices": [64, 128]},
    }
    return recipe, space


def mnist_mlp(folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """A cheap task for pruning: the mlp recipe of mnist_from_scratch.py (512 hidden, dropout
    0.2, AdamW 1e-3 one-cycle, batch 128) for 8 epochs on the 6,000-image subset."""
    recipe, _ = mnist(folder)
    recipe["model"] = {"type": "mlp", "mlp": {"hidden": [512], "dropout": 0.2}}
    recipe["train"] = {"epochs": 8, "batch_size": 128, "lr": 1e-3, "schedule": "onecycle",
                       "threads": 1, "early_stopping": {"metric": "val_accuracy",
                                                        "patience": None}}  # fmt: skip
    space = {
        "train.lr": {"low": 1e-5, "high": 3e-2, "log": True},
        "train.batch_size": {"choices": [32, 128, 512]},
        "model.mlp.hidden": {"choices": [[128], [512], [512, 256]]},
        "model.mlp.dropout": {"low": 0.0, "high": 0.5},
    }
    return recipe, space


def search(
    recipe: dict[str, Any],
    space: dict[str, Any],
    folder: Path,
    trials: int,
    sampler: str,
    pruner: str,
    timeout: float | None,
    startup: int = 5,
) -> dict[str, Any]:
    raw = copy.deepcopy(recipe)
    raw["tune"] = {"sampler": sampler, "pruner": pruner, "seed": 0, "space": space,
                   "startup_trials": startup}  # fmt: skip
    started = time.perf_counter()
    load_before = load_average()
    result = tune(
        load_config(raw),
        trials,
        timeout=timeout,
        study=f"{sampler}-{pruner}",
        out=folder / f"{sampler}-{pruner}",
        log=lambda line: print(line, file=sys.stderr, flush=True),
    )
    seconds = time.perf_counter() - started
    import optuna

    study = optuna.load_study(
        study_name=result.name, storage=f"sqlite:///{result.path.resolve() / 'optuna.db'}"
    )
    finished = [t for t in study.get_trials() if t.state.name in ("COMPLETE", "PRUNED")]
    planned = sum(t.user_attrs.get("planned_epochs", 0) for t in finished)
    run_epochs = sum(t.user_attrs.get("epochs_run", 0) for t in finished)
    best = Run.load(result.best_run) if result.best_run is not None else None
    return {
        "sampler": sampler,
        "pruner": pruner,
        "trials": len(finished),
        "pruned": result.counts["pruned"],
        "pruned_share": round(result.counts["pruned"] / max(1, len(finished)), 3),
        "epochs_run": run_epochs,
        "epochs_planned": planned,
        "wall_seconds": round(seconds, 1),
        "best_trial": result.best_trial,
        "best_params": result.best_params,
        "best_val_accuracy": _round(best.metrics["val"]["accuracy"]) if best else None,
        "best_test_accuracy": _round(best.metrics["test"]["accuracy"]) if best else None,
        "load_average_before": load_before,
        "load_average_after": load_average(),
    }


def hand_recipe(recipe: dict[str, Any], folder: Path) -> dict[str, Any]:
    started = time.perf_counter()
    run = train(load_config(copy.deepcopy(recipe)), out=folder / "recipe", quiet=True)
    return {
        "wall_seconds": round(time.perf_counter() - started, 1),
        "val_accuracy": _round(run.metrics["val"]["accuracy"]),
        "test_accuracy": _round(run.metrics["test"]["accuracy"]),
    }


def _round(value: float) -> float:
    return round(float(value), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("task", choices=["banking77", "mnist", "mnist-mlp"])
    parser.add_argument(
        "--searches", default="tpe:median,random:none", help="sampler:pruner pairs to run"
    )
    parser.add_argument("--startup", type=int, default=5, help="tune.startup_trials")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=None, help="seconds per search")
    parser.add_argument("--keep", type=Path, default=None, help="keep the studies here")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory(prefix="launchml-tune-bench-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        tasks = {"banking77": lambda: banking77(), "mnist": lambda: mnist(folder),
                 "mnist-mlp": lambda: mnist_mlp(folder)}  # fmt: skip
        recipe, space = tasks[args.task]()
        figures: dict[str, Any] = {
            "benchmark": f"tune_search {args.task}",
            "date": dt.date.today().isoformat(),
            "machine": machine(),
            "command": " ".join(sys.argv),
            "recipe": hand_recipe(recipe, folder),  # first: also warms the feature cache
        }
        for pair in args.searches.split(","):
            sampler, pruner = pair.split(":")
            figures[f"{sampler}_{pruner}"] = search(
                recipe, space, folder, args.trials, sampler, pruner, args.timeout, args.startup
            )
    print(json.dumps(figures, indent=1), flush=True)


if __name__ == "__main__":
    main()
