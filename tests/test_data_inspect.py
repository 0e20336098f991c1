"""``launchml data inspect``: class counts, duplicates, leakage, unseen labels, image folders."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from launchml.config import DataConfig
from launchml.data.inspect import RARE_CLASS, format_report, inspect_data
from launchml.errors import LaunchMLError
from tests.conftest import write_csv

TRAIN = [
    ("where is my order", "status"),
    ("where is my   ORDER", "status"),  # a duplicate once case and spaces are normalised
    ("track my parcel please now", "status"),
    ("has it shipped", "status"),
    ("is it on the way yet", "status"),
    ("i want a refund", "refund"),
    ("money back", "refund"),
    ("refund it", "refund"),
    ("please refund the whole charge today", "refund"),
    ("give it back", "refund"),
    ("money back", "refund"),  # exact duplicate
    ("has it shipped", "refund"),  # same text, another label
    ("", "refund"),  # empty text
    ("hello", "greet"),  # a rare class
]


def config(**paths: object) -> DataConfig:
    return DataConfig.model_validate({k: str(v) for k, v in paths.items()})


@pytest.fixture
def train_csv(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "train.csv", TRAIN)


def test_text_summary(train_csv: Path) -> None:
    report = inspect_data(config(train=train_csv))
    summary = report["sources"]["train"]
    assert summary["kind"] == "text" and summary["format"] == "csv"
    assert summary["rows"] == len(TRAIN)
    assert summary["per_class"] == dict(Counter(label for _, label in TRAIN))
    assert summary["classes"] == 3
    assert summary["empty_rows"] == 1
    assert summary["duplicate_rows"] == 2
    assert summary["conflicting_texts"] == 1
    warnings = "\n".join(report["warnings"])
    assert "2 duplicate row(s)" in warnings
    assert "1 row(s) with empty text" in warnings
    assert "1 text(s) appear with different labels" in warnings
    assert report["problems"] == []


def test_length_percentiles_equal_numpy(train_csv: Path) -> None:
    summary = inspect_data(config(train=train_csv))["sources"]["train"]
    texts = [text for text, _ in TRAIN if text.strip()]
    chars = np.array([len(t) for t in texts])
    words = np.array([len(t.split()) for t in texts])
    for key, values in (("length_chars", chars), ("length_words", words)):
        p5, p50, p95 = np.percentile(values, [5, 50, 95])
        assert summary[key] == pytest.approx(
            {"p5": p5, "p50": p50, "p95": p95, "max": values.max()}
        )


def test_rare_classes_are_a_warning(train_csv: Path) -> None:
    report = inspect_data(config(train=train_csv))
    counts = Counter(label for _, label in TRAIN)
    rare = sorted(label for label, n in counts.items() if n < RARE_CLASS)
    assert rare == ["greet"]
    [warning] = [w for w in report["warnings"] if "fewer than" in w]
    assert "'greet' (1)" in warning
    assert "'status'" not in warning and "'refund'" not in warning


def test_leakage_and_unseen_labels_in_test(tmp_path: Path, train_csv: Path) -> None:
    test_rows = [
        ("Where is my order", "status"),  # in train (case differs)
        ("money  back", "refund"),  # in train (spacing differs)
        ("brand new question", "status"),
        ("cancel it", "cancel"),
        ("stop my order", "cancel"),
        ("talk to a human", "agent"),
    ]
    test = write_csv(tmp_path / "test.csv", test_rows)
    report = inspect_data(config(train=train_csv, test=test))
    summary = report["sources"]["test"]
    assert summary["rows"] == len(test_rows)
    assert summary["shared_with_train"] == 2
    assert summary["unseen_labels"] == ["agent", "cancel"]
    warnings = "\n".join(report["warnings"])
    assert "test.csv: 2 example(s) also appear in training" in warnings
    assert "test.csv: labels never seen in training: 'agent', 'cancel'" in warnings
    text = format_report(report)
    assert "[test] 6 rows" in text and "shared with train: 2, unseen labels: 2" in text


def test_clean_validation_split_reports_nothing(tmp_path: Path, train_csv: Path) -> None:
    val = write_csv(tmp_path / "val.csv", [("a new text", "status"), ("another", "refund")])
    report = inspect_data(config(train=train_csv, val=val))
    assert report["sources"]["val"]["shared_with_train"] == 0
    assert report["sources"]["val"]["unseen_labels"] == []
    assert not any("val.csv" in w for w in report["warnings"])


def test_empty_labels_and_single_class_are_problems(tmp_path: Path) -> None:
    train = write_csv(tmp_path / "t.csv", [("a", "x"), ("b", ""), ("c", "x"), ("d", "")])
    report = inspect_data(config(train=train))
    problems = "\n".join(report["problems"])
    assert "t.csv: 2 row(s) with an empty or NaN label, first at line 3" in problems
    assert "only one class" in problems
    assert report["sources"]["train"]["per_class"] == {"x": 2}
    assert "problem: " in format_report(report)


def test_clean_data_says_so(tmp_path: Path) -> None:
    rows = [(f"{label} text {i}", label) for label in ("a", "b") for i in range(RARE_CLASS)]
    report = inspect_data(config(train=write_csv(tmp_path / "ok.csv", rows)))
    assert report["problems"] == [] and report["warnings"] == []
    assert format_report(report).endswith("no problems found")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(LaunchMLError, match=r"nope\.csv: file not found \(data\.train\)"):
        inspect_data(config(train=tmp_path / "nope.csv"))


def save(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def test_image_folder_sizes_modes_and_corrupt_file(tmp_path: Path) -> None:
    root = tmp_path / "imgs"
    gray = np.arange(16, dtype=np.uint8).reshape(4, 4)
    save(root / "cat" / "a.png", gray)
    save(root / "cat" / "b.png", gray)  # same bytes as a.png
    save(root / "cat" / "c.png", np.zeros((4, 4, 3), np.uint8))
    save(root / "dog" / "d.png", np.full((6, 5), 9, np.uint8))
    (root / "dog" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    (root / "dog" / "readme.txt").write_text("hi", encoding="utf-8")
    report = inspect_data(config(train=root))
    summary = report["sources"]["train"]
    assert summary["kind"] == "image" and summary["format"] == "folder"
    assert summary["per_class"] == {"cat": 3, "dog": 1}
    assert summary["image_sizes"] == {"4x4": 3, "5x6": 1}  # width x height, as PIL reports
    assert summary["image_modes"] == {"L": 3, "RGB": 1}
    assert summary["duplicate_rows"] == 1
    problems = "\n".join(report["problems"])
    assert f"{root / 'dog' / 'broken.png'}: corrupt or unreadable image" in problems
    assert f"{root / 'dog' / 'readme.txt'}: not an image file" in problems
    warnings = "\n".join(report["warnings"])
    assert "2 different sizes" in warnings
    assert "1 duplicate image file(s)" in warnings


def test_npz_summary_and_leakage(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x_train = rng.integers(0, 256, size=(6, 3, 3), dtype=np.uint8)
    x_train[5] = x_train[0]
    y_train = np.array([0, 1, 0, 1, 0, 0])
    x_test = np.stack([x_train[1], rng.integers(0, 256, size=(3, 3), dtype=np.uint8)])
    path = tmp_path / "d.npz"
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=np.array([1, 7]))
    report = inspect_data(config(train=path, test=path))
    train = report["sources"]["train"]
    assert train["image_shape"] == [3, 3, 1]
    assert train["per_class"] == {"0": 4, "1": 2}
    assert train["duplicate_rows"] == 1
    test = report["sources"]["test"]
    assert test["shared_with_train"] == 1
    assert test["unseen_labels"] == ["7"]
