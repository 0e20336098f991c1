"""What a new user gets: train each model type with only ``model.type`` (and body) set.

Every case is a config a user would write: the data section (file, columns) and the model type,
nothing under ``train`` and nothing under the model's own options, trained end to end through
``launchml.train`` (the default 10% validation split, seed 0) and scored on the dataset's
official test split. ``--without-recipes`` empties ``launchml.recipes.RECIPES`` first, which
gives exactly the defaults of the config classes, i.e. what the same config trained before
per-type recipes existed.

    .venv/bin/python benchmarks/defaults.py transformer-frozen lstm
    .venv/bin/python benchmarks/defaults.py transformer-frozen --without-recipes
    .venv/bin/python benchmarks/defaults.py all --set train.threads=1
    .venv/bin/python benchmarks/defaults.py transformer-finetune --per-class 40 10

``--per-class TRAIN TEST`` keeps the first TRAIN training and TEST test rows of each class (in
file order) of a CSV dataset, for the cases too slow to run in full on a shared machine.

Cases: transformer-frozen / -finetune / -two_stage, lstm, textcnn, tfidf_logreg and mlp-text on
Banking77; cnn and mlp-image on MNIST. Each case prints one JSON line.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench_common import SHARED_DATA, load_average, machine, peak_rss_mb

from launchml import recipes
from launchml.config import apply_override, load_config
from launchml.pipeline import train

BANKING77 = {
    "train": str(SHARED_DATA / "banking77" / "train.csv"),
    "test": str(SHARED_DATA / "banking77" / "test.csv"),
    "text_column": "text",
    "label_column": "category",
}
MNIST = {
    "train": str(SHARED_DATA / "mnist" / "mnist.npz"),  # x_train / y_train
    "test": str(SHARED_DATA / "mnist" / "mnist.npz"),  # x_test / y_test
}


def transformer(body: str) -> dict[str, Any]:
    return {"type": "transformer", "transformer": {"body": body}}


CASES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "transformer-frozen": (BANKING77, {"type": "transformer"}),  # body: frozen is the default
    "transformer-finetune": (BANKING77, transformer("finetune")),
    "transformer-two_stage": (BANKING77, transformer("two_stage")),
    "lstm": (BANKING77, {"type": "lstm"}),
    "textcnn": (BANKING77, {"type": "textcnn"}),
    "tfidf_logreg": (BANKING77, {"type": "tfidf_logreg"}),
    "mlp-text": (BANKING77, {"type": "mlp"}),
    "cnn": (MNIST, {"type": "cnn"}),
    "mlp-image": (MNIST, {"type": "mlp"}),
}  # fmt: skip


def first_rows_per_class(data: dict[str, Any], per_class: tuple[int, int], tmp: Path) -> None:
    """Point ``data``'s train/test CSVs at copies holding the first rows of each class."""
    for split, keep in zip(("train", "test"), per_class, strict=True):
        with open(data[split], encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            fields, rows, counts = reader.fieldnames or [], [], dict[str, int]()
            for row in reader:
                label = row[data["label_column"]]
                if counts.get(label, 0) < keep:
                    counts[label] = counts.get(label, 0) + 1
                    rows.append(row)
        data[split] = str(tmp / f"{split}.csv")
        with open(data[split], "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)


def run_case(
    name: str, overrides: list[str], with_recipes: bool, per_class: tuple[int, int] | None
) -> dict[str, Any]:
    data, model = CASES[name]
    with tempfile.TemporaryDirectory() as tmp:
        raw: dict[str, Any] = {"data": dict(data), "model": json.loads(json.dumps(model))}
        if per_class:
            first_rows_per_class(raw["data"], per_class, Path(tmp))
        for item in overrides:
            apply_override(raw, item)
        return train_and_score(name, raw, overrides, with_recipes, per_class, Path(tmp))


def train_and_score(
    name: str,
    raw: dict[str, Any],
    overrides: list[str],
    with_recipes: bool,
    per_class: tuple[int, int] | None,
    tmp: Path,
) -> dict[str, Any]:
    config = load_config(raw)
    cpu = machine().rsplit(",", 1)[0]  # the threads are the config's: train.threads
    load_before = load_average()
    started, cpu_started = time.perf_counter(), time.process_time()
    run = train(config, out=tmp / "run", quiet=True)
    epochs_run = len((run.path / "history.csv").read_text().splitlines()) - 1  # all stages
    wall, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    result = {
        "case": name,
        "recipe": recipes.recipe_name(raw["model"]) if with_recipes else None,
        "date": dt.date.today().isoformat(),
        "machine": cpu,
        "settings": overrides,
        "per_class": per_class,
        "threads": config.train.threads or os.cpu_count(),
        "train_rows": run.meta["split_sizes"]["train"],
        "test_rows": run.meta["split_sizes"]["test"],
        "epochs": config.train.epochs,
        "epochs_run": epochs_run,
        "test_accuracy": round(run.metrics["test"]["accuracy"], 4),
        "test_macro_f1": round(run.metrics["test"]["macro_f1"], 4),
        "fit_seconds": round(run.meta["timings"]["fit_seconds"], 1),
        "wall_seconds": round(wall, 1),  # training and scoring the test split
        # CPU time of all threads: on a shared machine, closer to an idle machine's wall time
        # (with 1 thread) than the wall time is
        "cpu_seconds": round(cpu_seconds, 1),
        "peak_rss_mb": round(peak_rss_mb()),
        "load_average_before": load_before,
        "load_average_after": load_average(),
    }
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="+", choices=[*CASES, "all"])
    parser.add_argument("--set", action="append", default=[], help="config override KEY=VALUE")
    parser.add_argument(
        "--without-recipes", action="store_true", help="the config classes' defaults alone"
    )
    parser.add_argument(
        "--per-class",
        nargs=2,
        type=int,
        metavar=("TRAIN", "TEST"),
        help="keep the first TRAIN training and TEST test rows of each class (CSV data)",
    )
    args = parser.parse_args()
    if args.without_recipes:
        recipes.RECIPES.clear()
    names = list(CASES) if "all" in args.cases else args.cases
    for name in names:
        per_class = (args.per_class[0], args.per_class[1]) if args.per_class else None
        run_case(name, args.set, not args.without_recipes, per_class)


if __name__ == "__main__":
    main()
