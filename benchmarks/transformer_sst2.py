"""SST-2 (GLUE dev set as test): launchml's ``transformer`` on the bundled all-MiniLM-L6-v2.

Usage::

    python benchmarks/transformer_sst2.py finetune [--set k=v ...]
    python benchmarks/transformer_sst2.py frozen
    python benchmarks/transformer_sst2.py finetune --keep RUN   # keep the run directory
    python benchmarks/transformer_sst2.py two_stage --min-words 12 \
        --set model.transformer.pretrained=RUN/encoder          # a second, sentence-level stage
    python benchmarks/transformer_sst2.py finetune \
        --set data.val=../shared/data/sst2/dev.tsv              # dev accuracy after every epoch

Train on ``../shared/data/sst2/train.tsv`` (5% carved out for validation, seed 0), score on all
of ``dev.tsv``. ``--min-words N`` trains only on the rows of at least N words (the training
file holds every phrase of its sentences; the dev set holds whole sentences). Prints one JSON
line (accuracy, fit time, samples/s, peak RSS, load average, validation accuracy per epoch).
With ``data.val`` set to the dev file, the dev set also picks the best epoch: an optimistic
figure, for comparison with published ones that were chosen the same way.
"""

from __future__ import annotations

import argparse
import csv
import os
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from transformer_common import SST2, run_launchml


def sst2_config(mode: str) -> dict:
    data = {
        "train": str(SST2 / "train.tsv"),
        "test": str(SST2 / "dev.tsv"),
        "format": "tsv",
        "quoting": "none",
        "text_column": "sentence",
        "label_column": "label",
        "split": {"val": 0.05, "seed": 0},
    }
    if mode == "frozen":
        model = {"body": "frozen", "pooling": "mean"}
        train = {"epochs": 20, "batch_size": 64, "lr": 1e-2, "early_stopping": {"patience": None}}
    else:
        model = {"body": mode, "pooling": "cls", "precision": "bf16", "head_lr": 1e-3,
                 "max_length": 64}  # fmt: skip
        train = {
            "epochs": 2,
            "batch_size": 32,
            "lr": 1e-4,
            "warmup_ratio": 0.06,
            "schedule": "linear",
            "early_stopping": {"metric": "val_accuracy", "patience": None},
        }
    return {
        "data": data,
        "model": {"type": "transformer", "transformer": model},
        "train": {**train, "seed": 0},
        "inference": {"batch_size": 256},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["frozen", "finetune", "two_stage"])
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    parser.add_argument("--keep", type=Path, default=None, help="keep the run directory here")
    parser.add_argument("--min-words", type=int, default=0, help="train on longer rows only")
    args = parser.parse_args()
    raw = sst2_config(args.mode)
    label = f"sst2 launchml {args.mode}"
    with tempfile.TemporaryDirectory() as tmp:
        if args.min_words:
            raw["data"]["train"] = str(longer_rows(Path(tmp), args.min_words))
            label += f" min_words={args.min_words}"
        run_launchml(raw, args.overrides, label, args.keep)


def longer_rows(directory: Path, min_words: int) -> Path:
    """A copy of train.tsv with only the rows of at least ``min_words`` words."""
    path = directory / f"train_min{min_words}.tsv"
    with (SST2 / "train.tsv").open(newline="") as src, path.open("w", newline="") as dst:
        rows = csv.reader(src, delimiter="\t", quoting=csv.QUOTE_NONE)
        out = csv.writer(dst, delimiter="\t", quoting=csv.QUOTE_NONE, lineterminator="\n")
        out.writerow(next(rows))
        out.writerows(row for row in rows if len(row[0].split()) >= min_words)
    return path


if __name__ == "__main__":
    main()
