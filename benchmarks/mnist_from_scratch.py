"""MNIST (60k train / 10k test) with the from-scratch ``cnn`` or ``mlp`` model.

Trains on all 60k training images (no validation set, so nothing is selected on the test set),
then reports test accuracy, training wall time, samples/s and peak memory.

    .venv/bin/python benchmarks/mnist_from_scratch.py cnn --set train.epochs=8
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from scratch_common import mnist, report

from launchml.config import apply_override, load_config
from launchml.data.dataset import Dataset
from launchml.models import FitContext, get_model_class

DEFAULTS = {
    "cnn": {
        "model": {"type": "cnn", "cnn": {"batch_norm": True, "dropout": 0.25}},
        "train": {"epochs": 8, "batch_size": 128, "lr": 3e-3, "schedule": "onecycle",
                  "augment": {"enabled": True, "shift": 0.08, "rotate": 8.0, "scale": 0.08}},
    },
    "mlp": {
        "model": {"type": "mlp", "mlp": {"hidden": [512], "dropout": 0.2}},
        "train": {"epochs": 20, "batch_size": 128, "lr": 1e-3, "schedule": "onecycle"},
    },
}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model", choices=sorted(DEFAULTS))
    parser.add_argument("--set", action="append", default=[], help="config override KEY=VALUE")
    parser.add_argument("--limit", type=int, default=None, help="use only N training images")
    args = parser.parse_args()

    raw = {"data": {"train": "mnist.npz"}, **DEFAULTS[args.model]}
    for item in args.set:
        apply_override(raw, item)
    config = load_config(raw)
    x_train, y_train, x_test, y_test = mnist()
    if args.limit:
        x_train, y_train = x_train[: args.limit], y_train[: args.limit]
    labels = [str(i) for i in range(10)]
    train = Dataset(x_train, [labels[i] for i in y_train], "image", "mnist")

    cls = get_model_class(args.model)
    with tempfile.TemporaryDirectory() as tmp:
        ctx = FitContext(config, labels, Path(tmp), quiet=False)
        started = time.perf_counter()
        model = cls.from_config(config, labels).fit(train, y_train, None, None, ctx)
        seconds = time.perf_counter() - started
    started = time.perf_counter()
    accuracy = float((model.predict_proba(x_test).argmax(1) == y_test).mean())
    predict_seconds = time.perf_counter() - started
    report(
        {
            "model": args.model,
            "config": config.model_dump(mode="json", include={"model", "train"}),
            "train_images": len(train),
            "test_accuracy": round(accuracy, 4),
            "train_seconds": round(seconds, 1),
            "train_samples_per_s": round(len(train) * len(ctx.history) / seconds),
            "predict_10k_seconds": round(predict_seconds, 2),
            "epochs_run": len(ctx.history),
            "final_train_loss": round(float(np.float64(ctx.history[-1]["train_loss"])), 4),
        }
    )


if __name__ == "__main__":
    main()
