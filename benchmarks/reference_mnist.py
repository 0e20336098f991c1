"""Train the NumPy reference network (launchml.reference) on MNIST and report test accuracy.

A real-data check that the hand-written forward/backward pass learns: a 784-256-10 network
(ReLU hidden layer, softmax output, categorical cross-entropy) trained with plain mini-batch SGD.
No torch anywhere in the training path.

Usage::

    .venv/bin/python benchmarks/reference_mnist.py                  # defaults below
    .venv/bin/python benchmarks/reference_mnist.py --epochs 3 --train-limit 10000

Prints one line per epoch, then test accuracy, wall time and the command that was run.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from launchml.reference import accuracy, random_network, train

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist" / "mnist.npz"


def load_mnist(path: Path, train_limit: int | None = None):
    """Pixels scaled to [0, 1] as float32 rows of 784; labels one-hot float32."""
    with np.load(path) as data:
        x_train, y_train = data["x_train"], data["y_train"]
        x_test, y_test = data["x_test"], data["y_test"]
    if train_limit is not None:
        x_train, y_train = x_train[:train_limit], y_train[:train_limit]

    def prep(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (
            x.reshape(len(x), -1).astype(np.float32) / 255.0,
            np.eye(10, dtype=np.float32)[y],
        )

    return prep(x_train, y_train), prep(x_test, y_test)


def run(
    data: Path = DEFAULT_DATA,
    hidden: int = 256,
    epochs: int = 10,
    batch_size: int = 64,
    learning_rate: float = 0.1,
    seed: int = 0,
    train_limit: int | None = None,
    verbose: bool = True,
) -> dict[str, float]:
    """Train and evaluate; returns ``{"test_accuracy", "train_accuracy", "seconds"}``."""
    (x_train, y_train), (x_test, y_test) = load_mnist(data, train_limit)
    # float32 halves the time of every matmul; gradients are checked in float64 elsewhere.
    net = random_network([784, hidden, 10], ["relu", "softmax"], "cce", seed=seed, dtype=np.float32)
    start = time.perf_counter()

    def report(epoch: int, loss: float) -> None:
        if verbose:
            acc = accuracy(net, x_test, y_test)
            elapsed = time.perf_counter() - start
            print(f"epoch {epoch}: train loss {loss:.4f}  test acc {acc:.4f}  ({elapsed:.1f} s)")

    train(
        net,
        x_train,
        y_train,
        learning_rate=learning_rate,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        on_epoch=report,
    )
    seconds = time.perf_counter() - start  # includes the per-epoch evaluations when verbose
    return {
        "test_accuracy": accuracy(net, x_test, y_test),
        "train_accuracy": accuracy(net, x_train, y_train),
        "seconds": seconds,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="path to mnist.npz")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-limit", type=int, default=None, help="use only the first N rows")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        sys.exit(f"error: MNIST file {args.data} not found; pass --data path/to/mnist.npz")

    result = run(
        data=args.data,
        hidden=args.hidden,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        seed=args.seed,
        train_limit=args.train_limit,
    )
    print(f"test accuracy: {result['test_accuracy']:.4f}")
    print(f"train accuracy: {result['train_accuracy']:.4f}")
    print(f"wall time (training + per-epoch evaluation): {result['seconds']:.1f} s")
    print("command: " + shlex.join([os.path.relpath(sys.executable), *sys.argv]))


if __name__ == "__main__":
    main()
