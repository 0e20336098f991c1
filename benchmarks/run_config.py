"""Train one config end to end and print the figures for docs/BENCHMARKS.md.

Usage::

    python benchmarks/run_config.py benchmarks/configs/banking77_tfidf.yaml [--set k=v]

Prints: test accuracy and macro-F1 (re-evaluated from the saved run, as `launchml evaluate`
would), training and total wall time, peak memory (max RSS), and the machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from datetime import date
from pathlib import Path

from launchml.config import load_config
from launchml.evaluate import evaluate_run
from launchml.pipeline import train
from launchml.profiling import cpu_name
from launchml.runs import Run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    args = parser.parse_args()

    config = load_config(args.config, args.overrides)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        run = train(config, out=Path(tmp) / "run", quiet=True)
        trained = time.perf_counter()
        loaded = Run.load(run.path)
        metrics, _ = evaluate_run(loaded, config.data.test) if config.data.test else (None, [])
    total = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"date: {date.today()}  machine: {cpu_name()}, {os.cpu_count()} cores")
    print(
        f"command: python benchmarks/run_config.py {args.config} "
        + " ".join(f"--set {o}" for o in args.overrides)
    )
    print(
        f"model: {config.model.type}  train rows: {run.meta['split_sizes']['train']}  "
        f"val rows: {run.meta['split_sizes']['val']}"
    )
    if metrics is not None:
        print(
            f"test: n {metrics['n']}  accuracy {metrics['accuracy']:.4f}  "
            f"macro-F1 {metrics['macro_f1']:.4f}"
        )
    print(
        f"fit time: {run.meta['timings']['fit_seconds']:.1f} s  "
        f"train command total: {trained - started:.1f} s  with evaluation: {total:.1f} s"
    )
    print(f"peak memory (max RSS): {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
