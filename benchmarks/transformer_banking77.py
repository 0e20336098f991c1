"""Banking77: launchml's ``transformer`` against the Hugging Face ``Trainer`` baseline.

Same model (all-MiniLM-L6-v2, bundled), same data (official train/test split), same machine.

Usage::

    python benchmarks/transformer_banking77.py frozen            # head on cached features
    python benchmarks/transformer_banking77.py finetune [--set k=v ...]
    python benchmarks/transformer_banking77.py two_stage
    python benchmarks/transformer_banking77.py baseline [--max-steps N]
    python benchmarks/transformer_banking77.py compare RESULTS.jsonl   # ratios of saved lines
    python benchmarks/transformer_banking77.py finetune --keep RUN && ... precision-check RUN
    python benchmarks/transformer_banking77.py finetune --ensemble 3   # model.type: ensemble
    python benchmarks/transformer_banking77.py members RUN   # each ensemble member's accuracy

The baseline is the ecosystem's usual recipe: ``AutoModelForSequenceClassification`` +
``Trainer``, 3 epochs, batch 32, lr 1e-4, dynamic padding (``DataCollatorWithPadding``),
max_length 128, fp32, all of train. ``--max-steps N`` stops it after N steps and extrapolates
the full run's time from the measured samples/s (accuracy is then not comparable; say so).
Each mode prints one JSON line; run one mode per process (peak RSS is per process).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench_common import accuracies, as_ensemble, load_average, machine, peak_rss_mb
from transformer_common import BANKING77, banking77_config, run_launchml


def baseline(max_steps: int | None, epochs: int = 3) -> dict:
    """The Hugging Face ``Trainer`` recipe of the issue, timed on this machine."""
    import numpy as np
    import pandas as pd
    import torch
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        TrainingArguments,
    )

    from launchml.models.hf_encoder import resolve_pretrained

    path = resolve_pretrained("minilm")
    train = pd.read_csv(BANKING77 / "train.csv")
    test = pd.read_csv(BANKING77 / "test.csv")
    labels = sorted(train["category"].unique())
    index = {label: i for i, label in enumerate(labels)}
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    model = AutoModelForSequenceClassification.from_pretrained(str(path), num_labels=len(labels))

    def encode(frame: pd.DataFrame) -> list[dict]:
        enc = tokenizer(list(frame["text"]), truncation=True, max_length=128)
        return [
            {"input_ids": ids, "attention_mask": m, "labels": index[c]}
            for ids, m, c in zip(
                enc["input_ids"], enc["attention_mask"], frame["category"], strict=True
            )
        ]

    train_rows, test_rows = encode(train), encode(test)
    load_before = load_average()
    with tempfile.TemporaryDirectory() as tmp:
        args = TrainingArguments(
            output_dir=tmp,
            num_train_epochs=epochs,
            per_device_train_batch_size=32,
            per_device_eval_batch_size=128,
            learning_rate=1e-4,
            max_steps=max_steps or -1,
            save_strategy="no",
            report_to=[],
            logging_steps=50,
            seed=0,
            use_cpu=True,
            disable_tqdm=True,
        )
        trainer = Trainer(
            model=model,
            args=args,
            train_dataset=train_rows,
            data_collator=DataCollatorWithPadding(tokenizer),
        )
        started = time.perf_counter()
        out = trainer.train()
        train_seconds = time.perf_counter() - started
        predictions = trainer.predict(test_rows)
    accuracy = float(
        np.mean(predictions.predictions.argmax(1) == np.array([r["labels"] for r in test_rows]))
    )
    samples = out.metrics["train_samples_per_second"]
    full = len(train_rows) * epochs / samples
    result = {
        "benchmark": "banking77 hf-trainer baseline",
        "machine": machine(),
        "torch_threads": torch.get_num_threads(),
        "train_rows": len(train_rows),
        "max_steps": max_steps,
        "train_seconds_measured": round(train_seconds, 1),
        "train_samples_per_second": round(samples, 1),
        "full_3_epoch_seconds": round(full, 1) if max_steps else round(train_seconds, 1),
        "extrapolated": bool(max_steps),
        "test_accuracy": round(accuracy, 4),
        "peak_rss_mb": round(peak_rss_mb()),
        "load_average_before": load_before,
        "load_average_after": load_average(),
    }
    print(json.dumps(result), flush=True)
    return result


def precision_check(run_dir: Path) -> None:
    """Test accuracy of one saved run with bf16 autocast on and off, and how often they agree."""
    import numpy as np
    import pandas as pd

    from launchml.runs import Run

    run = Run.load(run_dir)
    test = pd.read_csv(BANKING77 / "test.csv")
    texts, truth = list(test["text"]), test["category"].to_numpy()
    predictions = {}
    for bf16 in (True, False):
        run.model.module_.bf16 = bf16  # type: ignore[attr-defined]
        started = time.perf_counter()
        predictions[bf16] = np.array(run.predict(texts))
        seconds = time.perf_counter() - started
        accuracy = float(np.mean(predictions[bf16] == truth))
        print(f"{'bf16' if bf16 else 'fp32'} inference: accuracy {accuracy:.4f}  {seconds:.1f} s")
    print(f"agreement: {np.mean(predictions[True] == predictions[False]):.4f}")


def members(run_dir: Path) -> None:
    """Test accuracy of each member of a saved ``ensemble`` run and of their average."""
    import numpy as np
    import pandas as pd

    from launchml.runs import Run

    run = Run.load(run_dir)
    test = pd.read_csv(BANKING77 / "test.csv")
    texts = list(test["text"])
    truth = np.array([run.labels.index(label) for label in test["category"]])
    probas = [member.predict_proba(texts) for member in run.model.members_]  # type: ignore[attr-defined]
    singles, averaged = accuracies(probas, truth)
    for index, accuracy in enumerate(singles):
        print(f"member {index}: accuracy {accuracy:.4f}")
    print(f"mean of probabilities: accuracy {averaged:.4f}")


def compare(path: Path) -> None:
    """Ratios of the launchml lines to the baseline line of a results file."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.startswith('{"')]
    base = next(r for r in rows if "baseline" in r["benchmark"])
    for row in rows:
        if row is base or not row.get("train_samples_per_second"):
            continue
        ratio = row["train_samples_per_second"] / base["train_samples_per_second"]
        print(
            f"{row['benchmark']}: {row['train_samples_per_second']} samples/s vs "
            f"{base['train_samples_per_second']} = {ratio:.1f}x; accuracy "
            f"{row['test_accuracy']:.4f} vs {base['test_accuracy']:.4f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    modes = ["frozen", "finetune", "two_stage", "baseline", "compare", "precision-check", "members"]
    parser.add_argument("mode", choices=modes)
    parser.add_argument(
        "results", nargs="?", help="compare: JSON lines; precision-check, members: a run"
    )
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--keep", type=Path, default=None, help="keep the run directory here")
    parser.add_argument(
        "--ensemble", type=int, default=None, help="train N members (model.type: ensemble)"
    )
    args = parser.parse_args()
    if args.mode == "baseline":
        baseline(args.max_steps)
    elif args.mode == "compare":
        compare(Path(args.results))
    elif args.mode == "precision-check":
        precision_check(Path(args.results))
    elif args.mode == "members":
        members(Path(args.results))
    else:
        raw = banking77_config(args.mode)
        label = f"banking77 launchml {args.mode}"
        if args.ensemble:
            raw = as_ensemble(raw, args.ensemble)
            label += f" ensemble of {args.ensemble}"
        run_launchml(raw, args.overrides, label, args.keep)


if __name__ == "__main__":
    main()
