"""Seed spread and a probability-averaging ensemble of fine-tuned transformers.

Usage::

    python benchmarks/seed_ensemble.py banking77 finetune --seeds 0 1 2 [--set k=v ...]
    python benchmarks/seed_ensemble.py sst2 finetune --seeds 0 1 2 --keep DIR
    python benchmarks/seed_ensemble.py score DIR/seed0 DIR/seed1 DIR/seed2   # kept runs again

Trains the same recipe once per training seed (``train.seed``; the validation split stays the
same), prints each run's JSON line (see ``transformer_common.run_launchml``), then scores the test
set with every run and with the mean of their probabilities. How much of a difference between
two recipes is seed noise, and what averaging N runs buys at N times the training cost. The
error overlap says why averaging helps or not: it can only fix test items that some runs get
right; items every run gets wrong stay wrong.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
from bench_common import accuracies
from transformer_common import banking77_config, run_launchml
from transformer_sst2 import sst2_config

from launchml.evaluate import load_eval_data
from launchml.runs import Run

CONFIGS = {"banking77": banking77_config, "sst2": sst2_config}


def score(paths: list[Path]) -> dict:
    """Each run's test accuracy, their mean's, and how their test errors overlap."""
    runs = [Run.load(path) for path in paths]
    test, _ = load_eval_data(runs[0], runs[0].config.data.test)
    truth = np.array([runs[0].labels.index(label) for label in test.labels])
    probas = [run.predict_proba(test.inputs) for run in runs]
    singles, ensemble = accuracies(probas, truth)
    wrong = np.array([proba.argmax(axis=1) != truth for proba in probas])
    return {
        "test_items": len(truth),
        "test_accuracy_per_seed": [round(a, 4) for a in singles],
        "test_accuracy_mean": round(float(np.mean(singles)), 4),
        "test_accuracy_std": round(float(np.std(singles, ddof=1)), 4) if len(singles) > 1 else None,
        "ensemble_test_accuracy": round(ensemble, 4),
        "wrong_in_every_run": int(wrong.all(axis=0).sum()),
        "wrong_in_some_runs_only": int((wrong.any(axis=0) & ~wrong.all(axis=0)).sum()),
    }


def main() -> None:
    if sys.argv[1:2] == ["score"]:
        print(json.dumps(score([Path(arg) for arg in sys.argv[2:]])), flush=True)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", choices=sorted(CONFIGS))
    parser.add_argument("mode", choices=["finetune", "two_stage"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    parser.add_argument("--keep", type=Path, default=None, help="keep the runs under this dir")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        lines = []
        for seed in args.seeds:
            raw = CONFIGS[args.dataset](args.mode)
            overrides = [*args.overrides, f"train.seed={seed}"]
            label = f"{args.dataset} launchml {args.mode} seed {seed}"
            lines.append(run_launchml(raw, overrides, label, root / f"seed{seed}"))

        summary = score([root / f"seed{seed}" for seed in args.seeds])
    summary = {
        "benchmark": f"{args.dataset} seed ensemble ({args.mode})",
        "settings": args.overrides,
        "seeds": args.seeds,
        **summary,
        "total_fit_seconds": round(sum(line["fit_seconds"] for line in lines), 1),
    }
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
