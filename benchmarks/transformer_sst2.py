"""SST-2 (GLUE dev set as test): launchml's ``transformer`` on the bundled all-MiniLM-L6-v2.

Usage::

    python benchmarks/transformer_sst2.py finetune [--set k=v ...]
    python benchmarks/transformer_sst2.py frozen

Train on ``../shared/data/sst2/train.tsv`` (5% carved out for validation, seed 0), score on all
of ``dev.tsv``. Prints one JSON line (accuracy, fit time, samples/s, peak RSS, load average).
"""

from __future__ import annotations

import argparse
import os

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
        "train": {**train, "seed": 0, "eval_batch_size": 256},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["frozen", "finetune", "two_stage"])
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    args = parser.parse_args()
    run_launchml(sst2_config(args.mode), args.overrides, f"sst2 launchml {args.mode}")


if __name__ == "__main__":
    main()
