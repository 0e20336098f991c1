"""``model.transformer.cache_frozen``: the frozen embeddings + lowest layers run once per text.

On a miniature BERT (see ``tests/test_transformer.py``): the cached prefix gives the full network's
logits exactly; with no dropout anywhere, fine-tuning on the cached prefix gives the same model as
fine-tuning through it; the frozen weights stay untouched; bad settings are rejected."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import launchml
from launchml.config import load_config
from launchml.errors import LaunchMLError
from launchml.models.frozen_prefix import (
    BucketedHiddenBatches,
    HiddenBatches,
    encode_prefix,
    layer_slice,
)
from launchml.models.hf_encoder import BucketedBatches, TokenBatches, TransformerNet
from tests.test_transformer import RUN_TEXTS, config_dict, intent_files, tiny_bert, tiny_bert_dir

__all__ = ["intent_files", "tiny_bert"]  # fixtures used below

SEQUENCES = [[101, 2073, 2003, 2026, 2344, 102], [101, 102], [101, 7829, 3531, 102], [101] * 9]


@pytest.fixture(scope="module")
def tiny_bert_no_dropout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tiny_bert_dir(tmp_path_factory.mktemp("tiny-bert-no-dropout"))
    config = json.loads((path / "config.json").read_text())
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    (path / "config.json").write_text(json.dumps(config))
    return path


@pytest.mark.parametrize("pooling", ["mean", "cls"])
@pytest.mark.parametrize("layers", [0, 1, 2])
def test_the_cached_prefix_gives_the_full_networks_logits(
    tiny_bert: Path, pooling: str, layers: int
) -> None:
    torch.manual_seed(0)
    net = TransformerNet.build(tiny_bert, 3, pooling, normalize=False).eval()
    keys = list(net.state_dict())
    index = torch.arange(len(SEQUENCES))
    with torch.no_grad():
        full = net(*TokenBatches(SEQUENCES, pad_id=0).batch(index))
        hidden = encode_prefix(net, SEQUENCES, 0, layers)
        assert [h.shape for h in hidden] == [(len(s), 32) for s in SEQUENCES]
        with layer_slice(net, layers, embeddings=False):
            assert len(net.layers()) == 2 - layers
            cached = net(*HiddenBatches(hidden).batch(index))
    torch.testing.assert_close(cached, full, rtol=1e-5, atol=1e-5)
    assert list(net.state_dict()) == keys  # every layer is back


def test_hidden_batches_pad_with_zeros_and_bucket_like_token_batches() -> None:
    states = [torch.randn(len(s), 4) for s in SEQUENCES]
    hidden, mask = HiddenBatches(states).batch(torch.tensor([1, 3]))
    assert hidden.shape == (2, 9, 4) and mask.tolist()[0] == [1, 1] + [0] * 7
    torch.testing.assert_close(hidden[0, :2], states[1])
    assert not hidden[0, 2:].any()
    torch.testing.assert_close(hidden[1], states[3])
    orders = [
        batches.epoch_order(torch.Generator().manual_seed(5), 2)
        for batches in (BucketedHiddenBatches(states), BucketedBatches(SEQUENCES, 0))
    ]
    assert torch.equal(orders[0], orders[1])  # the same seed gives the same batches


@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_without_dropout_training_on_the_cached_prefix_equals_training_through_it(
    tiny_bert_no_dropout: Path,
    intent_files: dict[str, str],
    tmp_path: Path,
    pooling: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from launchml.models import transformer

    encoded: list[int] = []  # rows encoded once up front: the prefix is not run every epoch

    def counting_encode_prefix(net, sequences, pad_id, layers):  # type: ignore[no-untyped-def]
        encoded.append(len(sequences))
        return encode_prefix(net, sequences, pad_id, layers)

    monkeypatch.setattr(transformer, "encode_prefix", counting_encode_prefix)
    probas = []
    for cache_frozen in (False, True):
        config = config_dict(
            intent_files,
            tiny_bert_no_dropout,
            tmp_path / "cache",
            body="finetune",
            pooling=pooling,
            dropout=0.0,
            freeze_layers=1,
            cache_frozen=cache_frozen,
        )
        run = launchml.train(config, out=tmp_path / f"run-{cache_frozen}")
        probas.append(run.predict_proba(RUN_TEXTS))
        reloaded = launchml.Run.load(tmp_path / f"run-{cache_frozen}")
        np.testing.assert_array_equal(reloaded.predict_proba(RUN_TEXTS), probas[-1])
    assert len(encoded) == 2 and sum(encoded) == len(intent_files_rows(intent_files))
    untrained_like = np.full_like(probas[0], 1 / 3)
    assert np.abs(probas[0] - untrained_like).max() > 1e-3  # training moved the model
    np.testing.assert_allclose(probas[1], probas[0], atol=1e-5)


def intent_files_rows(files: dict[str, str]) -> list[str]:
    return Path(files["train"]).read_text().splitlines()[1:]


def test_cached_prefix_training_changes_only_the_layers_above_it(
    tiny_bert: Path, intent_files: dict[str, str], tmp_path: Path
) -> None:
    from transformers import BertModel

    config = config_dict(
        intent_files,
        tiny_bert,
        tmp_path / "c",
        body="finetune",
        pooling="mean",
        freeze_layers=1,
        cache_frozen=True,
        head_lr=1e-2,
    )
    config["train"]["ema_decay"] = 0.9
    run = launchml.train(config, out=tmp_path / "run")
    before = BertModel.from_pretrained(str(tiny_bert)).state_dict()
    after = run.model.module_.hf.state_dict()  # type: ignore[attr-defined]
    assert set(after) == set(before)  # the saved model is whole
    for key in ("embeddings.word_embeddings.weight", "encoder.layer.0.output.dense.weight"):
        assert torch.equal(before[key], after[key])
    key = "encoder.layer.1.output.dense.weight"
    assert not torch.equal(before[key], after[key])


def test_cache_frozen_needs_frozen_embeddings(
    intent_files: dict[str, str], tiny_bert: Path
) -> None:
    config = config_dict(
        intent_files, tiny_bert, Path("."), cache_frozen=True, freeze_embeddings=False
    )
    with pytest.raises(LaunchMLError, match="cache_frozen: true needs freeze_embeddings: true"):
        load_config(config)
