"""The inference layer: tokenisers that match training's, the sentence encoder (against
sentence-transformers, and shared with a run's classifier), the ``inference`` config section and
its migration from ``train.eval_batch_size``, and that it never imports the training code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import launchml
from launchml.config import load_config, validate_config
from launchml.data.vocab import WordVocab, load_wordpiece
from launchml.errors import LaunchMLError
from launchml.inference.encoder import SentenceEncoder, load_encoder, resolve_pretrained
from launchml.inference.inputs import prepare, softmax
from launchml.inference.text import WordPieceTokenizer, WordTokenizer
from tests.conftest import write_csv
from tests.test_transformer import tiny_bert_dir

TEXTS = [
    "Where is my parcel?",
    "",
    "café naïve 東京 🙂 [SEP] [CLS] don't",
    "refund " * 200,
    "  spaced   out  ",
]
RUN_TEXTS = [t for t in TEXTS if t.strip()]  # a run refuses empty texts for prediction


def test_old_config_with_train_eval_batch_size_still_loads() -> None:
    old = {"data": {"train": "t.csv"}, "train": {"epochs": 2, "eval_batch_size": 64}}
    config = validate_config(old)
    assert config.inference.batch_size == 64
    assert config.train.epochs == 2
    assert "eval_batch_size" not in config.model_dump()["train"]
    assert old["train"] == {"epochs": 2, "eval_batch_size": 64}  # the caller's dict untouched
    same = validate_config({**old, "inference": {"batch_size": 64, "threads": 2}})
    assert (same.inference.batch_size, same.inference.threads) == (64, 2)
    with pytest.raises(LaunchMLError, match="train.eval_batch_size .*inference.batch_size"):
        validate_config({**old, "inference": {"batch_size": 32}})


def test_inference_section_from_the_command_line(text_config: Path) -> None:
    config = load_config(text_config, ["inference.batch_size=8", "inference.threads=1"])
    assert (config.inference.batch_size, config.inference.threads) == (8, 1)
    with pytest.raises(LaunchMLError, match="unknown key 'train.eval_batch_siz'"):
        load_config(text_config, ["train.eval_batch_siz=8"])


def test_wordpiece_tokenizer_gives_the_transformers_ids() -> None:
    path = resolve_pretrained("minilm")
    hf = load_wordpiece(path)
    with_special = WordPieceTokenizer.from_file(path / "tokenizer.json", max_length=32)
    assert with_special.encode(TEXTS) == hf(TEXTS, truncation=True, max_length=32)["input_ids"]
    plain = WordPieceTokenizer.from_hf(hf, max_length=16, special_tokens=False)
    plain_ids = [hf(t, add_special_tokens=False)["input_ids"][:16] for t in TEXTS]
    assert plain.encode(TEXTS) == [ids or [hf.unk_token_id] for ids in plain_ids]
    assert (plain.pad_id, plain.unk_id) == (hf.pad_token_id, hf.unk_token_id)


def test_word_tokenizer_cuts_and_never_gives_an_empty_sequence() -> None:
    vocab = WordVocab.build(["the cat sat", "the dog"], 1, 100)
    tokenizer = WordTokenizer(vocab, max_length=2)
    assert tokenizer.encode(["the cat sat on", ""]) == [
        [vocab.index["the"], vocab.index["cat"]],
        [vocab.unk_id],
    ]


def test_prepare_and_softmax() -> None:
    from launchml.config import CleanConfig

    texts, single = prepare("  Hi  THERE ", "text", CleanConfig(lowercase=True), None)
    assert (texts, single) == (["hi there"], True)
    images, single = prepare(np.zeros((2, 4, 4)), "image", None, (4, 4, 1))
    assert images.shape == (2, 4, 4, 1) and images.dtype == np.uint8 and not single
    logits = np.array([[1.0, 2.0, 3.0], [1000.0, 0.0, -1000.0]], dtype=np.float32)
    expected = torch.softmax(torch.tensor(logits).double(), dim=1).numpy()
    np.testing.assert_allclose(softmax(logits), expected, rtol=1e-12)


def test_bundled_minilm_encoder_matches_sentence_transformers() -> None:
    from sentence_transformers import SentenceTransformer

    encoder = SentenceEncoder.load("minilm")
    texts = ["my card was stolen", "how do I get a refund", "hello"]
    ours = encoder.encode(texts)
    assert ours.shape == (3, encoder.dim) == (3, 384) and ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    reference = SentenceTransformer(str(resolve_pretrained("minilm")), device="cpu")
    np.testing.assert_allclose(ours, reference.encode(texts), atol=2e-5)
    assert encoder.encode("hello").shape == (384,)


@pytest.fixture(scope="module")
def tiny_transformer_run(tmp_path_factory: pytest.TempPathFactory) -> launchml.Run:
    from tests.conftest import INTENTS

    root = tmp_path_factory.mktemp("encoder-run")
    rows = [(text, label) for label, texts in INTENTS.items() for text in texts]
    train = write_csv(root / "train.csv", rows)
    config = {
        "data": {"train": str(train), "split": {"val": 0.25, "seed": 0}},
        "model": {
            "type": "transformer",
            "transformer": {
                "pretrained": str(tiny_bert_dir(root / "bert")),
                "body": "finetune",
                "pooling": "mean",
                "precision": "fp32",  # as the encoder computes (finetune's recipe says bf16)
                "cache_dir": str(root / "cache"),
            },
        },
        "train": {"epochs": 1, "batch_size": 8, "lr": 1e-3, "threads": 1},
    }
    return launchml.train(config, out=root / "run", quiet=True)


def test_a_runs_encoder_is_the_classifiers_own(tiny_transformer_run: launchml.Run) -> None:
    run = tiny_transformer_run
    encoder = run.encoder()
    net = run.model.module_  # type: ignore[attr-defined]
    assert all(a is b for a, b in zip(encoder.parameters(), net.body.parameters(), strict=True)), (
        "shared weights, not a copy"
    )
    vectors = encoder.encode(RUN_TEXTS)
    with torch.inference_mode():
        logits = net.head()(torch.from_numpy(vectors)).numpy()
    np.testing.assert_allclose(softmax(logits), run.model.predict_proba(RUN_TEXTS), atol=1e-6)
    # read from the directory alone, without the classifier: the same vectors
    np.testing.assert_allclose(load_encoder(run.path).encode(RUN_TEXTS), vectors, atol=1e-6)
    np.testing.assert_allclose(load_encoder(run).encode(RUN_TEXTS), vectors, atol=0)


def test_models_without_an_encoder_say_so(text_config: Path, tmp_path: Path) -> None:
    run = launchml.train(text_config, out=tmp_path / "tfidf", quiet=True)
    with pytest.raises(LaunchMLError, match="'tfidf_logreg' model has no sentence encoder"):
        run.encoder()
    with pytest.raises(LaunchMLError, match="no sentence encoder"):
        load_encoder(tmp_path / "tfidf")


def test_run_directories_written_with_train_eval_batch_size_load(
    tiny_transformer_run: launchml.Run, tmp_path: Path
) -> None:
    import shutil

    import yaml

    old = tmp_path / "old-run"
    shutil.copytree(tiny_transformer_run.path, old)
    raw = yaml.safe_load((old / "config.yaml").read_text(encoding="utf-8"))
    raw["train"]["eval_batch_size"] = raw.pop("inference")["batch_size"]
    (old / "config.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    (old / "manifest.json").unlink(missing_ok=True)  # the edit is deliberate
    reloaded = launchml.Run.load(old)
    assert reloaded.config.inference.batch_size == 512
    texts = [text for text in TEXTS if text]  # a run refuses empty texts
    np.testing.assert_allclose(
        reloaded.predict_proba(texts), tiny_transformer_run.predict_proba(texts), atol=1e-6
    )


def test_the_inference_layer_does_not_import_the_training_code() -> None:
    code = (
        "import sys, launchml.inference.inputs, launchml.inference.text, "
        "launchml.inference.batching, launchml.inference.encoder, launchml.inference.predictor\n"
        "bad = [m for m in sys.modules if m.startswith(('launchml.trainer', 'launchml.models', "
        "'launchml.pipeline', 'launchml.checkpoint'))]\n"
        "print(json.dumps(bad))"
    )
    out = subprocess.run(
        [sys.executable, "-c", "import json\n" + code],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout) == []
