"""Samples/s of the training engine vs a minimal hand-written PyTorch loop, same model and batches.

Both train the default ``cnn`` module on the same MNIST images in the same order, with AdamW, one
thread. The engine runs with its progress bar on and no gradient clipping or schedule (the hand
loop has neither); runs alternate and the median of ``--repeats`` is reported, because other
processes share the machine.

    .venv/bin/python benchmarks/engine_overhead.py --images 12000 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from scratch_common import mnist, report
from torch import nn

from launchml.config import CNNConfig, TrainConfig
from launchml.models.cnn import CNNNet
from launchml.models.torch_base import ImageInputs
from launchml.trainer import fit


def hand_loop(
    module: nn.Module, inputs: ImageInputs, y: torch.Tensor, options: TrainConfig
) -> None:
    optimizer = torch.optim.AdamW(module.parameters(), lr=options.lr)
    module.train()
    for epoch in range(1, options.epochs + 1):
        order = torch.randperm(len(inputs), generator=torch.Generator().manual_seed(epoch))
        for start in range(0, len(inputs), options.batch_size):
            index = order[start : start + options.batch_size]
            loss = nn.functional.cross_entropy(module(*inputs.batch(index)), y[index])
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=12000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    x, y, _, _ = mnist()
    inputs, y_np = ImageInputs(x[: args.images]), y[: args.images]
    options = TrainConfig(
        epochs=1, batch_size=128, threads=1, schedule="constant", grad_clip=None,
        early_stopping={"patience": None},
    )  # fmt: skip
    rates: dict[str, list[float]] = {"hand": [], "engine": []}
    for _ in range(args.repeats):
        for name in ("hand", "engine"):
            torch.manual_seed(0)
            module = CNNNet(1, (28, 28), 10, CNNConfig())
            started = time.perf_counter()
            if name == "hand":
                hand_loop(module, inputs, torch.as_tensor(y_np), options)
            else:
                fit(module, inputs, y_np, None, None, options, quiet=False)
            rates[name].append(args.images * options.epochs / (time.perf_counter() - started))
    hand, engine = statistics.median(rates["hand"]), statistics.median(rates["engine"])
    report(
        {
            "model": "cnn (default options)",
            "images": args.images,
            "hand_loop_samples_per_s": round(hand),
            "engine_samples_per_s": round(engine),
            "engine_overhead_percent": round(100 * (hand - engine) / hand, 1),
            "all_runs": {k: [round(r) for r in v] for k, v in rates.items()},
            "note": "median of alternating runs; 1 thread",
        }
    )
    assert np.isfinite(engine)


if __name__ == "__main__":
    main()
