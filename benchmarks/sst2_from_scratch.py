"""SST-2 (67k training phrases, 872 dev sentences) with the ``lstm`` or ``textcnn`` model types.

2,000 random training rows are held out for validation (early stopping, best epoch; options are
chosen on it too); the dev set is only used once, at the end, for the reported accuracy.

Presets: ``lstm`` and ``textcnn`` learn everything from scratch (word vocabulary, random
embeddings); ``lstm-minilm`` and ``textcnn-minilm`` are *not* from scratch: they read the bundled
all-MiniLM-L6-v2 WordPiece tokenizer and start their embedding layer from that model's pretrained
input word embeddings (384 wide); the rest of the network is still random-initialised.

    .venv/bin/python benchmarks/sst2_from_scratch.py lstm --set train.threads=1
    .venv/bin/python benchmarks/sst2_from_scratch.py lstm-minilm --set train.threads=1
    .venv/bin/python benchmarks/sst2_from_scratch.py lstm --ensemble 5   # seeds 0-4, averaged

With ``--ensemble N`` the preset becomes the member of a ``model.type: ensemble`` (member ``i``
trained with ``train.seed + i``); each member's dev accuracy is printed next to the ensemble's.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_common import accuracies, as_ensemble
from scratch_common import report, sst2

from launchml.config import apply_override, load_config
from launchml.data.dataset import Dataset
from launchml.models import FitContext, get_model_class

DEFAULTS = {
    "lstm": {
        "model": {"type": "lstm", "lstm": {"embedding_dim": 128, "hidden_size": 128,
                                           "dropout": 0.5, "pooling": "max"}},
        "train": {"epochs": 4, "batch_size": 64, "lr": 2e-3,
                  "early_stopping": {"metric": "val_accuracy", "patience": 2}},
    },
    "textcnn": {
        "model": {"type": "textcnn", "textcnn": {"embedding_dim": 128, "filters": 100}},
        "train": {"epochs": 4, "batch_size": 64, "lr": 2e-3,
                  "early_stopping": {"metric": "val_accuracy", "patience": 2}},
    },
    "lstm-minilm": {
        "model": {"type": "lstm", "lstm": {"tokenizer": "minilm", "embeddings": "pretrained",
                                           "embedding_lr_scale": 0.1, "hidden_size": 128,
                                           "dropout": 0.5, "pooling": "max"}},
        "train": {"epochs": 4, "batch_size": 64, "lr": 2e-3,
                  "early_stopping": {"metric": "val_accuracy", "patience": 2}},
    },
    "textcnn-minilm": {
        "model": {"type": "textcnn", "textcnn": {"tokenizer": "minilm", "embeddings": "pretrained",
                                                 "embedding_lr_scale": 0.1, "filters": 100}},
        "train": {"epochs": 4, "batch_size": 64, "lr": 2e-3,
                  "early_stopping": {"metric": "val_accuracy", "patience": 2}},
    },
}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model", choices=sorted(DEFAULTS))
    parser.add_argument("--set", action="append", default=[], help="config override KEY=VALUE")
    parser.add_argument("--ensemble", type=int, default=None, help="average N seeds' models")
    args = parser.parse_args()

    raw = {"data": {"train": "train.tsv"}, **DEFAULTS[args.model]}
    if args.ensemble:
        raw = as_ensemble(raw, args.ensemble)
    for item in args.set:
        apply_override(raw, item)
    config = load_config(raw)
    texts, y = sst2("train")
    dev_texts, y_dev = sst2("dev")
    order = np.random.default_rng(0).permutation(len(texts))
    val_idx, train_idx = order[:2000], order[2000:]
    labels = ["0", "1"]

    def subset(idx: np.ndarray) -> Dataset:
        return Dataset([texts[i] for i in idx], [labels[y[i]] for i in idx], "text", "sst2")

    cls = get_model_class(config.model.type)
    with tempfile.TemporaryDirectory() as tmp:
        ctx = FitContext(config, labels, Path(tmp), quiet=False)
        started = time.perf_counter()
        model = cls.from_config(config, labels).fit(
            subset(train_idx), y[train_idx], subset(val_idx), y[val_idx], ctx
        )
        seconds = time.perf_counter() - started
    members = getattr(model, "members_", [model])  # an ensemble predicts its members' mean
    member_accuracies, accuracy = accuracies([m.predict_proba(dev_texts) for m in members], y_dev)
    report(
        {
            "member_dev_accuracies": [round(a, 4) for a in member_accuracies]
            if args.ensemble
            else None,
            "model": config.model.type,
            "preset": args.model,
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "config": config.model_dump(mode="json", include={"model", "train"}),
            "train_rows": len(train_idx),
            "dev_accuracy": round(accuracy, 4),
            "train_seconds": round(seconds, 1),
            "train_samples_per_s": round(len(train_idx) * len(ctx.history) / seconds),
            "epochs_run": len(ctx.history),
            "history": [
                {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}
                for row in ctx.history
            ],
        }
    )


if __name__ == "__main__":
    main()
