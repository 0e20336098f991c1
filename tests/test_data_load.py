"""From ``config.data`` to cleaned train / validation / test sets; formats and fingerprints."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from launchml.config import DataConfig
from launchml.data.load import detect_format, fingerprint, load_dataset, load_splits
from launchml.errors import LaunchMLError
from tests.conftest import write_csv

ROWS = [(f"{word} number {i}", label) for label, word in (("a", "apple"), ("b", "banana"),
        ("c", "cherry")) for i in range(10)]  # fmt: skip


def data_config(**kwargs: object) -> DataConfig:
    return DataConfig.model_validate(kwargs)


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("x.csv", "csv"),
        ("x.CSV", "csv"),
        ("x.tsv", "tsv"),
        ("x.tab", "tsv"),
        ("x.jsonl", "jsonl"),
        ("x.ndjson", "jsonl"),
        ("x.parquet", "parquet"),
        ("x.pq", "parquet"),
        ("x.npz", "npz"),
        ("train-images-idx3-ubyte", "idx"),
        ("train-images-idx3-ubyte.gz", "idx"),
    ],
)
def test_detect_format_from_the_name(tmp_path: Path, name: str, fmt: str) -> None:
    assert detect_format(tmp_path / name) == fmt


def test_detect_format_folder_configured_and_unknown(tmp_path: Path) -> None:
    assert detect_format(tmp_path) == "folder"
    assert detect_format(tmp_path / "x.txt", "tsv") == "tsv"
    with pytest.raises(LaunchMLError) as info:
        detect_format(tmp_path / "x.txt")
    assert "x.txt" in str(info.value) and "data.format" in str(info.value)


def test_given_val_and_test_files_are_used_as_is(tmp_path: Path) -> None:
    train = write_csv(tmp_path / "train.csv", ROWS)
    val = write_csv(tmp_path / "val.csv", [("apple pie", "a"), ("banana split", "b")])
    test = write_csv(tmp_path / "test.csv", [("cherry", "c"), ("apple", "a"), ("x", "b")])
    config = data_config(
        train=str(train), val=str(val), test=str(test), split={"val": 0.5, "test": 0.5}
    )
    splits = load_splits(config)
    assert len(splits.train) == len(ROWS)  # fractions are ignored when files are given
    assert splits.val is not None and splits.val.inputs == ["apple pie", "banana split"]
    assert splits.test is not None and splits.test.labels == ["c", "a", "b"]
    assert splits.labels == ["a", "b", "c"]
    assert splits.notes == []


def test_fractions_carve_val_and_test_out_of_train(tmp_path: Path) -> None:
    train = write_csv(tmp_path / "train.csv", ROWS)
    config = data_config(train=str(train), split={"val": 0.2, "test": 0.3, "seed": 4})
    splits = load_splits(config)
    assert splits.val is not None and splits.test is not None
    parts = [splits.train, splits.val, splits.test]
    rows = [row for part in parts for row in part.rows]
    assert len(rows) == len(set(rows)) == len(ROWS)
    # test is taken first (30% of 10 per class), validation from what is left (20% of 7)
    assert Counter(splits.test.labels) == {"a": 3, "b": 3, "c": 3}
    assert Counter(splits.val.labels) == {"a": 1, "b": 1, "c": 1}
    assert load_splits(config).test.rows == splits.test.rows  # type: ignore[union-attr]


def test_no_fractions_no_files(tmp_path: Path) -> None:
    train = write_csv(tmp_path / "train.csv", ROWS)
    splits = load_splits(data_config(train=str(train), split={"val": 0.0}))
    assert splits.val is None and splits.test is None
    assert len(splits.train) == len(ROWS)


def test_numeric_labels_are_ordered_as_numbers(tmp_path: Path) -> None:
    rows = [(f"t{i}", str(label)) for i, label in enumerate([10, 2, 1, 2, 10, 1])]
    train = write_csv(tmp_path / "train.csv", rows)
    splits = load_splits(data_config(train=str(train), split={"val": 0.0}))
    assert splits.labels == ["1", "2", "10"]


def test_unseen_test_labels_are_a_note_not_an_error(tmp_path: Path) -> None:
    train = write_csv(tmp_path / "train.csv", ROWS)
    test = write_csv(
        tmp_path / "test.csv", [("apple", "a"), ("cancel it", "cancel"), ("stop", "cancel")]
    )
    splits = load_splits(data_config(train=str(train), test=str(test), split={"val": 0.0}))
    assert splits.test is not None and len(splits.test) == 3
    assert "cancel" not in splits.labels
    [note] = splits.notes
    assert "test.csv" in note
    assert "2 test row(s)" in note
    assert "'cancel'" in note


def test_cleaning_notes_are_collected(tmp_path: Path) -> None:
    train = write_csv(tmp_path / "train.csv", [*ROWS, ROWS[0], ("  ", "a")])
    splits = load_splits(data_config(train=str(train), split={"val": 0.0}))
    assert len(splits.train) == len(ROWS)
    assert any("dropped 1 duplicate row(s)" in note for note in splits.notes)
    assert any("dropped 1 row(s) with empty text" in note for note in splits.notes)


def test_only_one_class_is_an_error(tmp_path: Path) -> None:
    train = write_csv(tmp_path / "one.csv", [("x", "only"), ("y", "only"), ("z", "only")])
    with pytest.raises(LaunchMLError) as info:
        load_splits(data_config(train=str(train)))
    assert "one.csv" in str(info.value) and "only one class ('only')" in str(info.value)


def test_nothing_left_after_cleaning(tmp_path: Path) -> None:
    train = write_csv(tmp_path / "t.csv", [("!!", "a"), ("?", "b")])
    config = data_config(train=str(train), clean={"strip_special": True})
    with pytest.raises(LaunchMLError, match=r"t\.csv: no usable rows left after cleaning"):
        load_splits(config)


def test_load_dataset_errors(tmp_path: Path) -> None:
    with pytest.raises(LaunchMLError, match=r"missing\.csv: file not found \(data\.test\)"):
        load_dataset(str(tmp_path / "missing.csv"), data_config(train="x"), "test")
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(LaunchMLError, match=r"empty\.csv: the file is empty"):
        load_dataset(str(tmp_path / "empty.csv"), data_config(train="x"))
    (tmp_path / "dir").mkdir()
    with pytest.raises(LaunchMLError, match=r"dir: is a directory; expected a csv file"):
        load_dataset(str(tmp_path / "dir"), data_config(train="x", format="csv"))
    with pytest.raises(LaunchMLError, match="not a directory"):
        load_dataset(str(tmp_path / "empty.csv"), data_config(train="x", format="folder"))


def test_configured_columns_and_format_are_passed_on(tmp_path: Path) -> None:
    path = tmp_path / "data.txt"
    path.write_text("msg\ttag\nhello\tg\nbye\tl\n", encoding="utf-8")
    config = data_config(train=str(path), format="tsv", text_column="msg", label_column="tag")
    data = load_dataset(str(path), config)
    assert data.inputs == ["hello", "bye"] and data.labels == ["g", "l"]


def test_image_splits_must_share_a_shape(tmp_path: Path) -> None:
    for root, size in (("train", 4), ("test", 5)):
        for label in ("x", "y"):
            folder = tmp_path / root / label
            folder.mkdir(parents=True)
            for i in range(2):
                Image.fromarray(np.full((size, size), i * 50, np.uint8)).save(folder / f"{i}.png")
    config = data_config(train=str(tmp_path / "train"), test=str(tmp_path / "test"))
    with pytest.raises(LaunchMLError, match="data.image.size"):
        load_splits(config)
    resized = data_config(
        train=str(tmp_path / "train"), test=str(tmp_path / "test"), image={"size": [3, 3]}
    )
    splits = load_splits(resized)
    assert splits.train.inputs.shape[1:] == (3, 3, 1)
    assert splits.test is not None and splits.test.inputs.shape == (4, 3, 3, 1)


def test_fingerprint_is_stable_and_sensitive_to_one_byte(tmp_path: Path) -> None:
    a = write_csv(tmp_path / "a.csv", ROWS)
    b = write_csv(tmp_path / "b.csv", ROWS[:5])
    first = fingerprint([str(a), None, str(b)])
    assert first == fingerprint([str(a), None, str(b)])
    assert len(first) == 64 and int(first, 16) >= 0
    data = bytearray(a.read_bytes())
    data[10] ^= 1
    a.write_bytes(bytes(data))
    assert fingerprint([str(a), None, str(b)]) != first
    data[10] ^= 1
    a.write_bytes(bytes(data))
    assert fingerprint([str(a), None, str(b)]) == first


def test_fingerprint_of_a_folder(tmp_path: Path) -> None:
    root = tmp_path / "imgs"
    (root / "cat").mkdir(parents=True)
    (root / "cat" / "1.png").write_bytes(b"one")
    (root / "cat" / "2.png").write_bytes(b"two")
    first = fingerprint([str(root)])
    assert fingerprint([str(root)]) == first
    (root / "cat" / "2.png").write_bytes(b"twO")
    assert fingerprint([str(root)]) != first
    (root / "cat" / "2.png").write_bytes(b"two")
    (root / "cat" / "2.png").rename(root / "cat" / "3.png")  # a renamed file is different data
    assert fingerprint([str(root)]) != first
