"""Shared helpers of the from-scratch benchmarks: data readers, timing, peak memory, reporting."""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys

import numpy as np
from bench_common import SHARED_DATA, machine, peak_rss_mb


def mnist() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x_train (60000, 28, 28, 1) uint8, y_train, x_test, y_test)``."""
    with np.load(SHARED_DATA / "mnist" / "mnist.npz") as data:
        return (
            data["x_train"][..., None],
            data["y_train"].astype(np.int64),
            data["x_test"][..., None],
            data["y_test"].astype(np.int64),
        )


def sst2(split: str) -> tuple[list[str], np.ndarray]:
    """SST-2 ``train`` or ``dev``: tab-separated, header ``sentence\\tlabel``, no quoting."""
    path = SHARED_DATA / "sst2" / f"{split}.tsv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [r["sentence"] for r in rows], np.array([int(r["label"]) for r in rows])


def report(result: dict) -> None:
    result = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "command": " ".join(["python", *sys.argv]),
        "machine": machine(),
        "peak_rss_mb": round(peak_rss_mb()),
        **result,
    }
    print(json.dumps(result, indent=2))
