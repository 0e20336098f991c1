"""Text cleaning options and the seeded stratified split."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from launchml.config import CleanConfig
from launchml.data.clean import clean_dataset, clean_text, clean_texts
from launchml.data.dataset import Dataset
from launchml.data.splits import stratified_split

RAW = CleanConfig(unicode="none", dedupe=False)


def text_data(texts: list[str], labels: list[str]) -> Dataset:
    return Dataset(texts, labels, "text", "mem.csv", [f"line {i + 2}" for i in range(len(texts))])


# ---------------------------------------------------------------------------------------------
# cleaning


def test_nfkc_folds_ligatures_and_full_width_digits() -> None:
    text = "\ufb01ne order \uff11\uff12\uff13"  # "ﬁ" ligature and full-width "123"
    assert clean_text(text, CleanConfig(unicode="NFKC")) == "fine order 123"
    assert clean_text(text, RAW) == text  # untouched without normalisation
    assert clean_text(text, CleanConfig(unicode="NFC")) == text  # NFC keeps compatibility chars


def test_nfc_composes_accents() -> None:
    decomposed = "cafe\u0301"
    assert len(clean_text(decomposed, CleanConfig(unicode="NFC"))) == 4
    assert clean_text(decomposed, CleanConfig(unicode="NFC")) == "caf\u00e9"


def test_lowercase() -> None:
    text = "Where IS My Order"
    assert clean_text(text, CleanConfig(lowercase=True)) == text.lower()
    assert clean_text(text, CleanConfig(lowercase=False)) == text


def test_whitespace_is_collapsed_and_stripped() -> None:
    assert clean_text("  a \t\n b   c ", RAW) == "a b c"


def test_strip_special_keeps_letters_digits_and_underscores() -> None:
    text = "Hello, world! It's order #42 (urgent) snake_case über-cool"
    got = clean_text(text, CleanConfig(strip_special=True, unicode="none"))
    # reference: every char that is neither alphanumeric, "_" nor space becomes a space
    kept = "".join(c if c.isalnum() or c == "_" or c.isspace() else " " for c in text)
    assert got == " ".join(kept.split())
    assert "," not in got and "#" not in got and "über" in got


def test_stopword_removal_uses_sklearns_english_list() -> None:
    text = "the cat is sitting on the mat because it is warm"
    got = clean_text(text, CleanConfig(remove_stopwords=True))
    assert got == " ".join(w for w in text.split() if w not in ENGLISH_STOP_WORDS)
    assert got.split() == ["cat", "sitting", "mat", "warm"]


def test_shipped_stop_words_are_sklearns() -> None:
    from launchml.data import stopwords

    assert stopwords.ENGLISH_STOP_WORDS == ENGLISH_STOP_WORDS


def test_stopwords_are_matched_case_insensitively_but_case_is_kept() -> None:
    got = clean_text("The Cat AND the Dog", CleanConfig(remove_stopwords=True))
    assert got == "Cat Dog"


def test_options_combine_in_order() -> None:
    options = CleanConfig(lowercase=True, strip_special=True, remove_stopwords=True)
    assert clean_text("  Where IS my \ufb01sh?! ", options) == "fish"
    assert clean_texts(["A!", "b"], CleanConfig(strip_special=True)) == ["A", "b"]


def test_dedupe_drops_exact_text_label_pairs_only() -> None:
    texts = ["Refund please", "refund  please", "refund please", "refund please", "hi"]
    labels = ["refund", "refund", "refund", "other", "greet"]
    data = text_data(texts, labels)
    cleaned, notes = clean_dataset(data, CleanConfig(lowercase=True))
    # after lowercasing and collapsing spaces the first three rows are one (text, label) pair
    assert cleaned.inputs == ["refund please", "refund please", "hi"]
    assert cleaned.labels == ["refund", "other", "greet"]
    assert cleaned.rows == ["line 2", "line 5", "line 6"]  # the first occurrence is kept
    assert notes == ["mem.csv: dropped 2 duplicate row(s)"]
    kept, notes = clean_dataset(data, CleanConfig(lowercase=True, dedupe=False))
    assert len(kept) == len(data)
    assert notes == []


def test_empty_rows_are_dropped_with_a_note() -> None:
    data = text_data(["ok", "   ", "?!", "fine"], ["a", "b", "a", "b"])
    cleaned, notes = clean_dataset(data, CleanConfig(strip_special=True))
    assert cleaned.inputs == ["ok", "fine"]
    assert cleaned.labels == ["a", "b"]
    assert cleaned.rows == ["line 2", "line 5"]
    assert len(notes) == 1
    assert "mem.csv" in notes[0] and "dropped 2 row(s) with empty text" in notes[0]


def test_clean_dataset_leaves_images_alone() -> None:
    images = Dataset(np.zeros((2, 2, 2, 1), np.uint8), ["a", "b"], "image", "imgs")
    same, notes = clean_dataset(images, CleanConfig())
    assert same is images and notes == []


# ---------------------------------------------------------------------------------------------
# stratified split


def labelled(counts: dict[str, int]) -> Dataset:
    """Interleaved classes so that no class is a contiguous block of rows."""
    labels = [label for label, n in counts.items() for _ in range(n)]
    order = np.random.default_rng(123).permutation(len(labels))
    labels = [labels[i] for i in order]
    return text_data([f"text {i}" for i in range(len(labels))], labels)


def test_per_class_proportions() -> None:
    counts = {"a": 40, "b": 20, "c": 10, "d": 2}
    data = labelled(counts)
    rest, held = stratified_split(data, 0.3, seed=0)
    assert held is not None
    held_counts = Counter(held.labels)
    for label, n in counts.items():
        expected = min(max(1, int(np.floor(0.3 * n + 0.5))), n - 1)
        assert held_counts[label] == expected, label
    assert Counter(rest.labels) == Counter(data.labels) - held_counts


def test_parts_are_disjoint_cover_the_input_and_keep_order() -> None:
    data = labelled({"a": 30, "b": 17, "c": 5})
    rest, held = stratified_split(data, 0.25, seed=3)
    assert held is not None
    assert set(rest.rows).isdisjoint(held.rows)
    assert sorted(rest.rows + held.rows) == sorted(data.rows)
    assert len(rest) + len(held) == len(data)
    position = {row: i for i, row in enumerate(data.rows)}
    for part in (rest, held):
        assert [position[r] for r in part.rows] == sorted(position[r] for r in part.rows)
        # every row keeps its own text and label
        for row, text, label in zip(part.rows, part.inputs, part.labels, strict=True):
            assert data.inputs[position[row]] == text
            assert data.labels[position[row]] == label


def test_same_seed_same_split_other_seed_other_split() -> None:
    data = labelled({"a": 50, "b": 50})
    first = stratified_split(data, 0.2, seed=7)[1]
    again = stratified_split(labelled({"a": 50, "b": 50}), 0.2, seed=7)[1]
    other = stratified_split(data, 0.2, seed=8)[1]
    assert first is not None and again is not None and other is not None
    assert first.rows == again.rows
    assert first.rows != other.rows
    assert Counter(first.labels) == Counter(other.labels)


def test_single_example_classes_stay_in_the_rest() -> None:
    data = labelled({"big": 10, "solo": 1, "pair": 2})
    rest, held = stratified_split(data, 0.5, seed=0)
    assert held is not None
    assert "solo" in rest.labels and "solo" not in held.labels
    assert rest.labels.count("pair") == 1 and held.labels.count("pair") == 1


def test_nothing_to_hold_out() -> None:
    data = labelled({"a": 1, "b": 1})
    assert stratified_split(data, 0.5, seed=0) == (data, None)
    assert stratified_split(labelled({"a": 3}), 0.0, seed=0)[1] is None


def test_image_datasets_split_their_arrays() -> None:
    images = np.arange(6 * 2 * 2, dtype=np.uint8).reshape(6, 2, 2, 1)
    data = Dataset(images, ["a", "b"] * 3, "image", "imgs", [f"f{i}" for i in range(6)])
    rest, held = stratified_split(data, 0.34, seed=1)
    assert held is not None
    for part in (rest, held):
        for row, image in zip(part.rows, part.inputs, strict=True):
            np.testing.assert_array_equal(image, images[int(row[1:])])


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9])
def test_held_out_never_takes_a_whole_class(fraction: float) -> None:
    rest, held = stratified_split(labelled({"a": 3, "b": 4}), fraction, seed=0)
    assert held is not None
    assert set(rest.labels) == {"a", "b"}
    assert set(held.labels) == {"a", "b"}
