"""Word vocabulary and the offline WordPiece tokenizer loader."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from launchml.data.vocab import PAD, UNK, WordVocab, load_wordpiece, split_words
from launchml.errors import LaunchMLError

TEXTS = ["the cat sat", "the dog sat", "The cat ran!", "a bird"]
# counts (lowercased): the 3, cat 2, sat 2, dog 1, ran 1, ! 1, a 1, bird 1


def test_split_words() -> None:
    assert split_words("Where's it?") == ["where", "'", "s", "it", "?"]
    assert split_words("Where's it?", lowercase=False)[0] == "Where"
    assert split_words("café  ünïcode") == ["café", "ünïcode"]


def test_ids_follow_frequency_then_alphabet() -> None:
    vocab = WordVocab.build(TEXTS)
    assert vocab.words[:2] == [PAD, UNK]
    assert vocab.words[2:] == ["the", "cat", "sat", "!", "a", "bird", "dog", "ran"]
    assert vocab.pad_id == vocab.words.index(PAD) == 0
    assert vocab.unk_id == vocab.words.index(UNK) == 1


def test_ids_do_not_depend_on_text_order() -> None:
    shuffled = TEXTS[:]
    random.Random(0).shuffle(shuffled)
    assert shuffled != TEXTS
    assert WordVocab.build(shuffled).words == WordVocab.build(TEXTS).words


def test_min_freq() -> None:
    vocab = WordVocab.build(TEXTS, min_freq=2)
    assert vocab.words == [PAD, UNK, "the", "cat", "sat"]
    assert WordVocab.build(TEXTS, min_freq=4).words == [PAD, UNK]


def test_max_size_counts_pad_and_unk() -> None:
    vocab = WordVocab.build(TEXTS, max_size=4)
    assert len(vocab) == 4
    assert vocab.words == [PAD, UNK, "the", "cat"]
    assert len(WordVocab.build(TEXTS, max_size=100)) == 2 + 8
    assert len(WordVocab.build(TEXTS, max_size=1)) == 2  # never fewer than PAD and UNK


def test_encode_and_out_of_vocabulary() -> None:
    vocab = WordVocab.build(TEXTS)
    ids = vocab.encode("The cat flew!")
    assert ids == [vocab.index["the"], vocab.index["cat"], vocab.unk_id, vocab.index["!"]]
    assert [vocab.words[i] for i in ids] == ["the", "cat", UNK, "!"]
    assert vocab.encode("") == []


def test_case_sensitive_vocabulary() -> None:
    vocab = WordVocab.build(["The the THE"], lowercase=False)
    assert set(vocab.words[2:]) == {"The", "the", "THE"}
    assert vocab.encode("tHe") == [vocab.unk_id]


def test_save_load_round_trip(tmp_path: Path) -> None:
    vocab = WordVocab.build(["Ünïcode wörds", "plain words"], lowercase=False)
    path = tmp_path / "vocab.json"
    vocab.save(path)
    loaded = WordVocab.load(path)
    assert loaded.words == vocab.words
    assert loaded.lowercase is False
    assert loaded.encode("Ünïcode plain other") == vocab.encode("Ünïcode plain other")
    assert "Ünïcode" in path.read_text(encoding="utf-8")  # stored readably, not \\u-escaped


def test_load_rejects_a_foreign_file(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"lowercase": True, "words": ["a", "b"]}), encoding="utf-8")
    with pytest.raises(LaunchMLError, match=r"other\.json: not a launchml vocabulary"):
        WordVocab.load(path)


WORDPIECE = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "play", "foot", "##ing", "##ball",
             "the", "cat", ","]  # fmt: skip


@pytest.fixture
def wordpiece_dir(tmp_path: Path) -> Path:
    from transformers import BertTokenizerFast

    vocab_file = tmp_path / "vocab.txt"
    vocab_file.write_text("\n".join(WORDPIECE) + "\n", encoding="utf-8")
    model_dir = tmp_path / "tiny-bert"
    # transformers 5 takes the vocabulary file as `vocab` (a `vocab_file=` keyword is ignored)
    BertTokenizerFast(vocab=str(vocab_file), do_lower_case=True).save_pretrained(model_dir)
    return model_dir


def test_load_wordpiece_tokenises_into_word_pieces(wordpiece_dir: Path) -> None:
    tokenizer = load_wordpiece(wordpiece_dir)
    assert tokenizer.tokenize("The cat, playing FOOTBALL dogs") == [
        "the",
        "cat",
        ",",
        "play",
        "##ing",
        "foot",
        "##ball",
        "[UNK]",
    ]
    ids = tokenizer("the football")["input_ids"]
    names = ["[CLS]", "the", "foot", "##ball", "[SEP]"]
    assert ids == [WORDPIECE.index(name) for name in names]
    assert load_wordpiece(str(wordpiece_dir)).pad_token_id == WORDPIECE.index("[PAD]")


def test_load_wordpiece_without_tokenizer_files(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    with pytest.raises(LaunchMLError) as info:
        load_wordpiece(tmp_path)
    assert str(tmp_path) in str(info.value)
    assert "tokenizer.json or vocab.txt" in str(info.value)
    with pytest.raises(LaunchMLError):
        load_wordpiece(tmp_path / "does-not-exist")


def test_load_wordpiece_vocab_txt_with_a_config(tmp_path: Path) -> None:
    (tmp_path / "vocab.txt").write_text("\n".join(WORDPIECE) + "\n", encoding="utf-8")
    (tmp_path / "config.json").write_text('{"model_type": "bert"}', encoding="utf-8")
    tokenizer = load_wordpiece(tmp_path)
    assert tokenizer.tokenize("the playing cat") == ["the", "play", "##ing", "cat"]


def test_load_wordpiece_unloadable_directories_are_user_errors(tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "vocab.txt").write_text("\n".join(WORDPIECE) + "\n", encoding="utf-8")
    with pytest.raises(LaunchMLError, match=r"bare: cannot load the tokenizer"):
        load_wordpiece(bare)  # no config says which tokenizer class the vocab.txt belongs to
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "tokenizer.json").write_text('{"model": ', encoding="utf-8")
    with pytest.raises(LaunchMLError, match=r"broken: cannot load the tokenizer"):
        load_wordpiece(broken)
