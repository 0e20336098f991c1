"""``transformer`` on a miniature BERT (2 layers, hidden 32) built in a temp directory with the
bundled MiniLM tokenizer: both training modes through the pipeline and the CLI, the Hugging Face
export against plain ``transformers`` (reference test), bucketing, bf16 and the feature cache."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import launchml
from launchml.config import TrainConfig, load_config
from launchml.errors import LaunchMLError
from launchml.models import hf_encoder
from launchml.models.hf_encoder import bucketed_order, resolve_pretrained
from launchml.models.transformer import load_hf_classifier
from tests.conftest import write_csv

TOKENIZER_FILES = (
    "vocab.txt",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
)


def tiny_bert_dir(path: Path) -> Path:
    """A randomly initialised 2-layer BERT (hidden 32) with the bundled MiniLM tokenizer."""
    from transformers import BertConfig, BertModel

    if (path / "config.json").is_file():
        return path
    path.mkdir(parents=True, exist_ok=True)
    bundled = resolve_pretrained("minilm")
    for name in TOKENIZER_FILES:
        shutil.copy(bundled / name, path / name)
    vocab_size = len((bundled / "vocab.txt").read_text(encoding="utf-8").splitlines())
    config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=128,
    )
    torch.manual_seed(0)
    BertModel(config).save_pretrained(str(path))
    return path


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_bert_dir(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture
def intent_files(tmp_path: Path, intent_rows: list[tuple[str, str]]) -> dict[str, str]:
    train = write_csv(tmp_path / "train.csv", intent_rows)
    test = write_csv(
        tmp_path / "test.csv",
        [("where's my parcel", "order_status"), ("refund please", "refund")],
    )
    return {"train": str(train), "test": str(test)}


def config_dict(files: dict[str, str], model_dir: Path, cache: Path, **options: Any) -> dict:
    transformer = {"pretrained": str(model_dir), "cache_dir": str(cache), **options}
    return {
        "data": {**files, "split": {"val": 0.25, "seed": 0}},
        "model": {"type": "transformer", "transformer": transformer},
        "train": {"epochs": 2, "batch_size": 4, "lr": 1e-3, "threads": 1},
    }


TEXTS = ["where is my order", "refund please", "new address", "", "a much longer text " * 5]
# A run refuses empty texts (training drops them, so it has never seen one); the model copes.
RUN_TEXTS = [text for text in TEXTS if text]


@pytest.mark.parametrize("body", ["frozen", "finetune", "two_stage"])
def test_each_mode_trains_saves_and_reloads_identically(
    body: str, tiny_bert: Path, intent_files: dict[str, str], tmp_path: Path
) -> None:
    config = config_dict(intent_files, tiny_bert, tmp_path / "cache", body=body, pooling="auto")
    run = launchml.train(config, out=tmp_path / "run")
    history = (tmp_path / "run" / "history.csv").read_text()
    assert ("head" in history) == (body != "finetune")
    assert ("finetune" in history) == (body != "frozen")
    proba = run.predict_proba(RUN_TEXTS)
    assert proba.shape == (len(RUN_TEXTS), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-9)
    assert run.model.predict_proba(TEXTS).shape == (len(TEXTS), 3)
    with pytest.raises(launchml.errors.InvalidInputError, match="text 4 of 5 is empty"):
        run.predict_proba(TEXTS)
    same = launchml.Run.load(tmp_path / "run")
    np.testing.assert_array_equal(same.predict_proba(RUN_TEXTS), proba)
    assert isinstance(same.predict("refund please"), str)
    pooling = "mean" if body == "frozen" else "cls"  # what "auto" means
    assert json.loads((tmp_path / "run" / "model.json").read_text())["pooling"] == pooling
    assert not list((tmp_path / "run").rglob("*.bin")) and not list(
        (tmp_path / "run").rglob("*.pt")
    )


@pytest.mark.parametrize("ema_decay", [None, 0.9])
def test_training_only_changes_the_unfrozen_parameters(
    tiny_bert: Path, intent_files: dict[str, str], tmp_path: Path, ema_decay: float | None
) -> None:
    from transformers import BertModel

    config = config_dict(
        intent_files, tiny_bert, tmp_path / "c", body="finetune", freeze_layers=1, head_lr=1e-2
    )
    config["train"]["ema_decay"] = ema_decay  # the average covers the trained weights only
    run = launchml.train(config, out=tmp_path / "run")
    before = BertModel.from_pretrained(str(tiny_bert)).state_dict()
    after = run.model.module_.hf.base_model.state_dict()  # type: ignore[attr-defined]
    assert torch.equal(
        before["embeddings.word_embeddings.weight"], after["embeddings.word_embeddings.weight"]
    )
    assert torch.equal(
        before["encoder.layer.0.output.dense.weight"], after["encoder.layer.0.output.dense.weight"]
    )
    assert not torch.equal(
        before["encoder.layer.1.output.dense.weight"], after["encoder.layer.1.output.dense.weight"]
    )


def test_hf_export_reloads_in_plain_transformers_with_the_same_logits(
    tiny_bert: Path, intent_files: dict[str, str], tmp_path: Path
) -> None:
    """Reference test: RUN/hf_model through AutoModelForSequenceClassification + AutoTokenizer."""
    # fp32 on both sides (two_stage's recipe trains in bf16; the export is fp32)
    config = config_dict(
        intent_files, tiny_bert, tmp_path / "c", body="two_stage", precision="fp32"
    )
    run = launchml.train(config, out=tmp_path / "run")
    ours = run.model.logits(TEXTS)  # type: ignore[attr-defined]
    model, tokenizer = load_hf_classifier(tmp_path / "run" / "hf_model")
    assert model.config.id2label == dict(enumerate(run.labels))
    with torch.no_grad():
        encoded = tokenizer(
            TEXTS, padding=True, truncation=True, max_length=128, return_tensors="pt"
        )
        theirs = model(**encoded).logits
    torch.testing.assert_close(theirs, ours, rtol=0, atol=1e-5)
    assert run.labels[int(theirs[1].argmax())] == run.predict(TEXTS[1])


def test_bucketed_batches_cover_every_example_and_pad_less() -> None:
    rng = np.random.default_rng(0)
    lengths = torch.tensor(rng.integers(5, 60, size=1003))
    batch = 32
    generator = torch.Generator().manual_seed(1)
    for _ in range(2):  # every epoch is a permutation, with only the last batch short
        order = bucketed_order(lengths, batch, generator)
        assert sorted(order.tolist()) == list(range(1003))
    again = bucketed_order(lengths, batch, torch.Generator().manual_seed(1))
    first = bucketed_order(lengths, batch, torch.Generator().manual_seed(1))
    assert torch.equal(again, first)  # deterministic from the generator: resumes stay exact

    def padded(order: torch.Tensor) -> int:
        return sum(len(b) * int(lengths[b].max()) for b in order.split(batch))

    random_order = torch.randperm(1003, generator=torch.Generator().manual_seed(1))
    assert padded(first) < 0.7 * padded(random_order)


def test_bf16_autocast_runs_and_stays_close_to_fp32(
    tiny_bert: Path, intent_files: dict[str, str], tmp_path: Path
) -> None:
    config = config_dict(intent_files, tiny_bert, tmp_path / "c", body="finetune", precision="bf16")
    run = launchml.train(config, out=tmp_path / "run")
    net = run.model.module_  # type: ignore[attr-defined]
    assert net.bf16
    bf16 = run.model.logits(TEXTS)  # type: ignore[attr-defined]
    net.bf16 = False
    fp32 = run.model.logits(TEXTS)  # type: ignore[attr-defined]
    assert bf16.dtype == torch.float32
    torch.testing.assert_close(bf16, fp32, rtol=0.05, atol=0.05)


def test_second_frozen_run_reads_the_feature_cache(
    tiny_bert: Path,
    intent_files: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = config_dict(intent_files, tiny_bert, tmp_path / "cache", body="frozen")
    first = launchml.train(config, out=tmp_path / "a")
    assert cache_stats(tmp_path / "a") == {"misses": 2}  # train and validation features
    assert len(list((tmp_path / "cache" / "features").glob("*.safetensors"))) == 2

    def no_encoding(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("features were recomputed despite the cache")

    monkeypatch.setattr(hf_encoder, "encode", no_encoding)
    second = launchml.train(config, out=tmp_path / "b")
    assert cache_stats(tmp_path / "b") == {"hits": 2}
    np.testing.assert_array_equal(second.predict_proba(RUN_TEXTS), first.predict_proba(RUN_TEXTS))


def cache_stats(run: Path) -> dict[str, int]:
    return json.loads((run / "model.json").read_text())["feature_cache"]


def test_cli_train_evaluate_predict(
    cli: Any, tiny_bert: Path, intent_files: dict[str, str], tmp_path: Path
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        f"data:\n  train: {intent_files['train']}\n  test: {intent_files['test']}\n"
        "model:\n  type: transformer\n"
        f"  transformer: {{pretrained: {tiny_bert}, cache_dir: {tmp_path / 'c'}, body: finetune}}\n"
        "train: {epochs: 1, batch_size: 8, lr: 0.001, threads: 1}\n",
        encoding="utf-8",
    )
    result = cli("train", config, "--out", tmp_path / "run")
    assert result.code == 0, result.err
    result = cli("evaluate", tmp_path / "run", "--data", intent_files["test"], "--json")
    assert result.code == 0, result.err
    assert "accuracy" in json.loads(result.out) or "accuracy" in result.out
    result = cli("predict", tmp_path / "run", "refund please")
    assert result.code == 0, result.err
    assert result.out.split("\t")[0] in {"order_status", "refund", "change_address"}


def test_bad_pretrained_path_names_the_key(intent_files: dict[str, str], tmp_path: Path) -> None:
    config = config_dict(intent_files, tmp_path / "nowhere", tmp_path / "c")
    with pytest.raises(LaunchMLError, match=r"model\.transformer\.pretrained"):
        launchml.train(config, out=tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_minilm_resolves_to_the_bundled_weights() -> None:
    path = resolve_pretrained("minilm")
    assert (path / "model.safetensors").is_file() and (path / "tokenizer.json").is_file()
    config = load_config({"data": {"train": "x.csv"}, "model": {"type": "transformer"}})
    assert config.model.transformer.pretrained == "minilm"


def test_param_groups_give_the_head_its_own_learning_rate(tiny_bert: Path) -> None:
    from launchml.models.hf_encoder import TransformerNet

    for pooling in ("cls", "mean"):
        net = TransformerNet.build(tiny_bert, n_classes=3, pooling=pooling)
        net.head_lr_scale = 10.0
        body, head = net.param_groups()
        assert head["lr_scale"] == 10.0 and body["lr_scale"] == 1.0
        ids = {id(p) for p in body["params"]} | {id(p) for p in head["params"]}
        assert ids == {id(p) for p in net.parameters()}  # every parameter, once
        assert not {id(p) for p in body["params"]} & {id(p) for p in head["params"]}
        assert {id(p) for p in net.head().parameters()} == {id(p) for p in head["params"]}


def test_layer_lr_decay_scales_each_layer_by_its_depth(tiny_bert: Path) -> None:
    from launchml.models.hf_encoder import TransformerNet
    from launchml.trainer import _optimizer

    for pooling in ("cls", "mean"):
        net = TransformerNet.build(tiny_bert, n_classes=3, pooling=pooling)
        net.head_lr_scale, net.layer_lr_decay = 10.0, 0.5
        net.freeze(embeddings=False, layers=0)
        optimizer = _optimizer(net, TrainConfig(lr=1e-3))
        scale = {id(p): g["lr_scale"] for g in optimizer.param_groups for p in g["params"]}
        assert len(scale) == sum(1 for _ in net.parameters())  # every parameter, once
        body = net.body
        expected = [
            (body.embeddings, 0.25),  # 2 layers: embeddings at 0.5^2
            (body.encoder.layer[0], 0.5),
            (body.encoder.layer[1], 1.0),
            (net.head(), 10.0),
        ]
        for module, value in expected:
            assert {scale[id(p)] for p in module.parameters()} == {value}, (pooling, module)


def test_fine_tuning_applies_layer_lr_decay(
    tiny_bert: Path, intent_files: dict[str, str], tmp_path: Path
) -> None:
    from transformers import BertModel

    config = config_dict(intent_files, tiny_bert, tmp_path / "c", body="finetune",
                         freeze_embeddings=False, layer_lr_decay=1e-4)  # fmt: skip
    run = launchml.train(config, out=tmp_path / "run")
    before = BertModel.from_pretrained(str(tiny_bert)).state_dict()
    after = run.model.module_.hf.base_model.state_dict()  # type: ignore[attr-defined]

    def moved(name: str) -> float:
        return float((after[name] - before[name]).abs().max())

    top = moved("encoder.layer.1.output.dense.weight")  # lr x 1
    assert top > 1e-5
    assert moved("encoder.layer.0.output.dense.weight") < top * 1e-3  # lr x 1e-4
    assert moved("embeddings.word_embeddings.weight") < top * 1e-6  # lr x 1e-8


def test_layer_lr_decay_must_be_in_0_1(intent_files: dict[str, str], tiny_bert: Path) -> None:
    for bad in (0.0, 1.5):
        config = config_dict(intent_files, tiny_bert, Path("."), layer_lr_decay=bad)
        with pytest.raises(LaunchMLError, match=r"model\.transformer\.layer_lr_decay"):
            load_config(config)


class _Killed(Exception):
    """Stands in for a crash right after a checkpoint was written."""


@pytest.mark.parametrize(
    ("body", "cache_frozen"), [("finetune", False), ("two_stage", False), ("finetune", True)]
)
def test_resume_after_a_crash_matches_an_uninterrupted_run(
    body: str,
    cache_frozen: bool,
    tiny_bert: Path,
    intent_files: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A run that dies after the first fine-tuning epoch's checkpoint, resumed, ends with the
    same weights as a run that never stopped (two_stage: the finished head stage is not redone;
    cache_frozen: the checkpoint holds only the layers above the cached prefix)."""
    from launchml import trainer

    config = config_dict(
        intent_files,
        tiny_bert,
        tmp_path / "cache",
        body=body,
        warm_start_epochs=2,
        freeze_layers=1 if cache_frozen else 0,
        cache_frozen=cache_frozen,
    )
    config["train"]["epochs"] = 3
    whole = launchml.train(config, out=tmp_path / "whole")

    real_save = trainer._save
    saved_stages: list[str] = []
    crash = {"armed": True}

    def save_then_die(path: Path, *args: Any, **kwargs: Any) -> None:
        real_save(path, *args, **kwargs)
        saved_stages.append(path.parent.name)
        if path.parent.name == "body" and crash["armed"]:
            raise _Killed

    monkeypatch.setattr(trainer, "_save", save_then_die)
    with pytest.raises(_Killed):
        launchml.train(config, out=tmp_path / "resumed")
    assert (tmp_path / "resumed.partial").is_dir() and not (tmp_path / "resumed").exists()
    head_epochs = saved_stages.count("head")
    assert head_epochs == (0 if body == "finetune" else 2)

    crash["armed"] = False
    resumed = launchml.train(config, resume=tmp_path / "resumed")
    assert saved_stages.count("head") == head_epochs  # the finished head stage was not redone
    assert saved_stages.count("body") == 3  # epoch 1 before the crash, epochs 2 and 3 after
    history = (tmp_path / "resumed" / "history.csv").read_text().splitlines()
    assert len(history) == len((tmp_path / "whole" / "history.csv").read_text().splitlines())
    np.testing.assert_allclose(
        resumed.predict_proba(RUN_TEXTS), whole.predict_proba(RUN_TEXTS), atol=1e-6
    )
