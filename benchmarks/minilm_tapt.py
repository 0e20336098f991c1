"""Continue all-MiniLM-L6-v2's pre-training on SST-2's own training sentences (masked LM).

Usage::

    python benchmarks/minilm_tapt.py /tmp/minilm_tapt --epochs 10
    python benchmarks/transformer_sst2.py finetune \
        --set model.transformer.pretrained=/tmp/minilm_tapt

Task-adaptive pre-training ("Don't Stop Pretraining", Gururangan et al., 2020): masked-language
modelling on the unlabelled text of the task before fine-tuning. all-MiniLM-L6-v2 was trained
last for sentence similarity, not word prediction, so it ships without a masked-LM head; a
fresh one (tied to the token embeddings, as in BERT) is trained along with the encoder. The
text is the training file's whole sentences only: SST-2's rows are every phrase of about 8,500
sentences, so a row contained in a longer row is dropped. The dev set's text is not used.
Writes a model directory (encoder weights + the bundled tokenizer) and prints one JSON line.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch
from bench_common import machine, peak_rss_mb
from transformer_common import SST2
from transformers import (
    AutoModel,
    AutoTokenizer,
    BertForMaskedLM,
    DataCollatorForLanguageModeling,
    get_linear_schedule_with_warmup,
)

from launchml.models.hf_encoder import resolve_pretrained


def whole_sentences(path: Path) -> list[str]:
    """The rows of ``path`` that are not a word span of a longer row."""
    with path.open(newline="") as handle:
        rows = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(rows)
        texts = sorted({row[0].strip() for row in rows}, key=lambda t: -len(t.split()))
    spans: set[str] = set()
    kept = []
    for text in texts:
        if text in spans:
            continue
        kept.append(text)
        words = text.split()
        spans.update(
            " ".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, len(words) + 1)
        )
    return kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the new model directory (replaced)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    source = resolve_pretrained("minilm")
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    tokenizer = AutoTokenizer.from_pretrained(str(source), local_files_only=True)
    model = BertForMaskedLM.from_pretrained(str(source), local_files_only=True)
    texts = whole_sentences(SST2 / "train.tsv")
    encoded = [tokenizer(text, truncation=True, max_length=64) for text in texts]
    collate = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15)
    steps = args.epochs * -(-len(encoded) // args.batch_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    schedule = get_linear_schedule_with_warmup(optimizer, int(0.06 * steps), steps)

    started = time.perf_counter()
    model.train()
    epoch_losses = []
    for epoch in range(1, args.epochs + 1):
        random.shuffle(encoded)
        total, batches = 0.0, 0
        for start in range(0, len(encoded), args.batch_size):
            batch = collate(encoded[start : start + args.batch_size])
            labels = batch.pop("labels")
            masked = labels != -100
            with torch.autocast("cpu", dtype=torch.bfloat16):
                hidden = model.bert(**batch).last_hidden_state
                # Vocabulary logits only where a token was masked: the loss ignores the rest.
                logits = model.cls(hidden[masked])
            loss = torch.nn.functional.cross_entropy(logits.float(), labels[masked])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            total, batches = total + loss.item(), batches + 1
        epoch_losses.append(round(total / batches, 4))
        elapsed = time.perf_counter() - started
        print(f"epoch {epoch}/{args.epochs}: mlm loss {epoch_losses[-1]} ({elapsed:.0f} s)",
              file=sys.stderr, flush=True)  # fmt: skip
    seconds = time.perf_counter() - started

    shutil.rmtree(args.out, ignore_errors=True)
    shutil.copytree(source, args.out)  # tokenizer and config files as they are
    encoder = AutoModel.from_pretrained(str(source), local_files_only=True)
    missing = encoder.load_state_dict(model.bert.state_dict(), strict=False).missing_keys
    assert all(key.startswith("pooler.") for key in missing), missing  # the unused pooler stays
    encoder.save_pretrained(str(args.out), safe_serialization=True)
    print(json.dumps({
        "benchmark": "minilm task-adaptive pre-training (sst2 train sentences)",
        "machine": machine(),
        "sentences": len(texts),
        "epochs": args.epochs, "lr": args.lr, "batch_size": args.batch_size,
        "mlm_loss_by_epoch": epoch_losses,
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(peak_rss_mb()),
        "out": str(args.out),
    }), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
