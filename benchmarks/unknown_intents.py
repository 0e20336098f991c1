"""Unknown-intent protocol on Banking77: can the classifier tell it has not seen an intent?

Usage::

    python benchmarks/unknown_intents.py frozen        # or finetune / two_stage [--set k=v ...]

Protocol: 10 intents (chosen with seed 0) are held out of training entirely. The remaining 67
intents' training rows are split 90/10 (stratified, seed 0) into train and validation. A
confidence threshold is chosen on the validation data alone: the 5th percentile of the top
probability, so that 95% of known-intent validation queries are answered. On the official test
split we report accuracy on the known intents, the share of known-intent queries that would be
handed off (top probability under the threshold), and the share of held-out-intent queries that
would be handed off (the higher the better). One JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from transformer_common import BANKING77, banking77_config, run_launchml

from launchml.runs import Run

HELD_OUT = 10
KEEP_ON_VAL = 0.95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["frozen", "finetune", "two_stage"])
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    args = parser.parse_args()

    train = pd.read_csv(BANKING77 / "train.csv")
    test = pd.read_csv(BANKING77 / "test.csv")
    intents = sorted(train["category"].unique())
    rng = np.random.default_rng(0)
    held_out = sorted(rng.choice(intents, size=HELD_OUT, replace=False).tolist())
    known = train[~train["category"].isin(held_out)]
    fit_rows, val_rows = train_test_split(
        known, test_size=0.1, stratify=known["category"], random_state=0
    )
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        fit_rows.to_csv(tmp_path / "train.csv", index=False)
        val_rows.to_csv(tmp_path / "val.csv", index=False)
        raw = banking77_config(args.mode)
        raw["data"].update(
            train=str(tmp_path / "train.csv"), val=str(tmp_path / "val.csv"), test=None
        )
        raw["data"].pop("split")
        result = run_launchml(
            raw, args.overrides, f"banking77 unknown intents {args.mode}", tmp_path / "run"
        )
        run = Run.load(tmp_path / "run")
        val_top = run.predict_proba(list(val_rows["text"])).max(axis=1)
        threshold = float(np.quantile(val_top, 1.0 - KEEP_ON_VAL))
        is_known = ~test["category"].isin(held_out)
        proba = run.predict_proba(list(test["text"]))
    top = proba.max(axis=1)
    predicted = np.array(run.labels)[proba.argmax(axis=1)]
    known_acc = float(np.mean(predicted[is_known] == test["category"][is_known].to_numpy()))
    summary = {
        "benchmark": f"banking77 unknown intents {args.mode}",
        "held_out_intents": held_out,
        "threshold_top_probability": round(threshold, 4),
        "known_test_rows": int(is_known.sum()),
        "unknown_test_rows": int((~is_known).sum()),
        "known_intent_accuracy": round(known_acc, 4),
        "known_handed_off": round(float(np.mean(top[is_known] < threshold)), 4),
        "unknown_handed_off": round(float(np.mean(top[~is_known] < threshold)), 4),
        # threshold-free: how well the top probability separates unknown from known queries
        "auroc_unknown_vs_known": round(float(roc_auc_score(~is_known, -top)), 4),
        "fit_seconds": result["fit_seconds"],
        "load_average": result["load_average_after"],
    }
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
