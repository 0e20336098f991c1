"""What every benchmark script shares: where the data lives, the machine, its load, the
process's peak memory, and ensembles (config and accuracies)."""

from __future__ import annotations

import os
import resource
from pathlib import Path
from typing import Any

from launchml.profiling import cpu_name

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def peak_rss_mb() -> float:
    """The peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def load_average() -> str:
    """The 1-, 5- and 15-minute load averages: another job on the same cores slows timings."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def machine() -> str:
    """CPU model, core count, torch version and the threads torch uses."""
    import torch

    return (
        f"{cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads"
    )


def as_ensemble(raw: dict[str, Any], size: int) -> dict[str, Any]:
    """``raw`` with its model type turned into the member of a ``size``-member ensemble."""
    model = {**raw["model"], "type": "ensemble"}
    model["ensemble"] = {"member": raw["model"]["type"], "size": size}
    return {**raw, "model": model}


def accuracies(probas: list[Any], truth: Any) -> tuple[list[float], float]:
    """Accuracy of each probability matrix, and of their mean (what an ensemble predicts)."""
    import numpy as np

    singles = [float(np.mean(proba.argmax(axis=1) == truth)) for proba in probas]
    averaged = float(np.mean(np.mean(probas, axis=0).argmax(axis=1) == truth))
    return singles, averaged


def mnist_subset(
    folder: Path, train_rows: int | None, test_rows: int | None = None, seed: int = 0
) -> str:
    """The MNIST npz, or a copy in ``folder`` holding a random ``train_rows`` of the 60,000
    training images and a random ``test_rows`` of the 10,000 test images (None: all): for
    budgets a shared 2-core machine can run."""
    import numpy as np

    source = SHARED_DATA / "mnist" / "mnist.npz"
    if train_rows is None and test_rows is None:
        return str(source)
    with np.load(source) as archive:
        arrays = {key: archive[key] for key in archive.files}
    rng = np.random.default_rng(seed)
    for split, rows in (("train", train_rows), ("test", test_rows)):
        if rows is not None:
            keep = np.sort(rng.permutation(len(arrays[f"y_{split}"]))[:rows])
            arrays[f"x_{split}"], arrays[f"y_{split}"] = (
                arrays[f"x_{split}"][keep],
                arrays[f"y_{split}"][keep],
            )
    path = folder / f"mnist-{train_rows}-{test_rows}.npz"
    np.savez(path, **arrays)
    return str(path)
