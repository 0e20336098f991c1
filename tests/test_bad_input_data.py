"""Class 4 of the bad inputs: data the loaders accepted but should not, or without a word.

Labels that are not classes (a regression target, unique ids, NaN, nested JSON), npz arrays of
objects or NaN pixels, headers that cannot be a table, predictions asked for nothing. Each row
is an error naming the file and what was seen; where training can honestly go on (another
delimiter, 16-bit images), the data are read correctly instead, and tested as such below.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import launchml
from launchml.data.images import load_image_folder
from launchml.data.tables import load_table
from tests.bad_input import GOOD_ROWS, Row, check_row, good_csv, train_args, write_config


def train_on(name: str, content: str | bytes) -> Callable[[Path], list[str]]:
    def make(tmp: Path) -> list[str]:
        data = content.encode() if isinstance(content, str) else content
        (tmp / name).write_bytes(data)
        return train_args(write_config(tmp, f"  train: {name}"))

    return make


def train_on_npz(**arrays: np.ndarray) -> Callable[[Path], list[str]]:
    def make(tmp: Path) -> list[str]:
        np.savez(tmp / "digits.npz", **arrays)  # type: ignore[arg-type]
        return train_args(write_config(tmp, "  train: digits.npz", "model:\n  type: mlp\n"))

    return make


def csv_text(rows: list[tuple[str, str]], header: str = "text,label", sep: str = ",") -> str:
    return header + "\n" + "".join(f"{text}{sep}{label}\n" for text, label in rows)


def jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


RNG = np.random.default_rng(0)
PIXELS = RNG.integers(0, 255, (20, 6, 6)).astype(np.uint8)
DIGITS = np.arange(20) % 2
NAN_LABELS = np.where(np.arange(20) == 3, np.nan, DIGITS.astype(float))
NAN_PIXELS = PIXELS.astype(float)
NAN_PIXELS[5, 1, 1] = np.nan
OBJECT_LABELS = np.array(["a", 1] * 10, dtype=object)
DECIMALS = [(f"reading number {i}", f"{0.37 * i + 0.01:.2f}") for i in range(30)]
IDS = [(f"message number {i}", f"id-{i}") for i in range(30)]

TABLE: dict[str, Row] = {
    "regression target as labels": Row(
        train_on("train.csv", csv_text(DECIMALS)),
        ["train.csv", "look like a regression target", "30 distinct numbers", "data.label_column"],
    ),
    "unique ids as labels": Row(
        train_on("train.csv", csv_text(IDS)),
        ["train.csv", "every one of the 30 rows has its own label", "unique ids"],
    ),
    "label is a JSON object": Row(
        train_on("t.jsonl", jsonl([{"text": "hi", "label": {"name": "greet"}}] * 3)),
        ["t.jsonl", "line 1", "column 'label' holds an object", '{"name": "greet"}'],
    ),
    "label is a JSON list": Row(
        train_on("t.jsonl", jsonl([{"text": "hi", "label": ["a", "b"]}] * 3)),
        ["t.jsonl", "column 'label' holds a list"],
    ),
    "a JSON key given twice": Row(
        train_on("t.jsonl", '{"text": "hi", "label": "a", "label": "b"}\n'),
        ["t.jsonl", "line 1 names the key 'label' twice"],
    ),
    "duplicate column names": Row(
        train_on("train.csv", csv_text([("hi", "a,a"), ("yo", "b,b")], "text,label,label")),
        ["train.csv", "used more than once", "'label'"],
    ),
    "a header of one column": Row(
        train_on("train.csv", csv_text([("hi there", "a")], "text label", " ")),
        ["train.csv", "single column ('text label')", "separated by commas"],
    ),
    "a header of very many columns": Row(
        train_on("train.csv", ",".join(f"c{i}" for i in range(50_000)) + "\n" + "x," * 49_999),
        ["train.csv", "50000 columns", "at most 1000"],
    ),
    "NaN labels in an npz": Row(
        train_on_npz(x=PIXELS, y=NAN_LABELS),
        ["digits.npz", "1 label(s) in 'y' are NaN", "index 3"],
    ),
    "NaN pixels in an npz": Row(
        train_on_npz(x=NAN_PIXELS, y=DIGITS), ["digits.npz", "NaN or infinite pixels", "index 5"]
    ),
    "object-dtype array in an npz": Row(
        train_on_npz(x=PIXELS, y=OBJECT_LABELS),
        ["digits.npz", "array 'y' holds Python objects", "dtype object"],
    ),
    "pixel values beyond 16 bits": Row(
        train_on_npz(x=PIXELS.astype(np.int64) * 1000, y=DIGITS),
        ["digits.npz", "run from 0 to", "expected 0-1 or 0-255"],
    ),
}


@pytest.mark.parametrize("name", list(TABLE))
def test_bad_data_gives_one_clear_line(name: str, tmp_path: Path, cli) -> None:
    check_row(TABLE[name], tmp_path, cli)


# -- prediction inputs ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("finished")
    config = {
        "data": {"train": str(good_csv(root)), "split": {"val": 0.25}},
        "model": {"type": "tfidf_logreg"},
    }
    config["data"]["clean"] = {"strip_special": True}
    return launchml.train(config, out=root / "run").path


def predict(*args: str) -> Callable[[Path, Path], list[str]]:
    def make(tmp: Path, run: Path) -> list[str]:
        shutil.copytree(run, tmp / "run")
        return ["predict", str(tmp / "run"), *args]

    return make


PREDICT_TABLE: dict[str, Row] = {
    "--top 0": Row(predict("where is my order", "--top", "0"), ["--top 0", "1 or more"]),
    "--top negative": Row(predict("where is my order", "--top", "-2"), ["--top -2", "1 or more"]),
    "an empty text": Row(predict(""), ["the text is empty", "trained without empty texts"]),
    "a blank text": Row(predict("   "), ["the text is empty", "send some words"]),
    "a text that cleaning empties": Row(
        predict("?!?"), ["the text is empty after cleaning ('?!?')"]
    ),
}


@pytest.mark.parametrize("name", list(PREDICT_TABLE))
def test_bad_prediction_input_gives_one_clear_line(
    name: str, finished_run: Path, tmp_path: Path, cli
) -> None:
    row = PREDICT_TABLE[name]
    make = row.make
    check_row(Row(lambda tmp: make(tmp, finished_run), row.fragments), tmp_path, cli)


def test_predicting_a_batch_names_the_empty_text(finished_run: Path) -> None:
    run = launchml.Run.load(finished_run)
    with pytest.raises(launchml.errors.InvalidInputError, match="text 2 of 3 is empty"):
        run.predict(["where is my order", " ", "refund please"])


# -- read correctly, instead of refused ------------------------------------------------------


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_a_csv_with_another_delimiter_is_read_with_it(sep: str, tmp_path: Path) -> None:
    rows = [*GOOD_ROWS, ("hello, how are you", "order_status")]  # a comma inside a text
    path = tmp_path / "train.csv"
    path.write_text(csv_text(rows, f"text{sep}label", sep), encoding="utf-8")
    data = load_table(path, "csv", None, None)
    assert data.inputs == [text for text, _ in rows]
    assert data.labels == [label for _, label in rows]


def test_16_bit_pngs_are_scaled_not_clipped(tmp_path: Path, cli) -> None:
    values = np.linspace(0, 65535, 64).reshape(8, 8).astype(np.uint16)
    for label in ("a", "b"):
        (tmp_path / label).mkdir()
        for i in range(3):
            Image.fromarray(values).save(tmp_path / label / f"{i}.png")
    assert Image.open(tmp_path / "a" / "0.png").mode == "I;16"
    data = load_image_folder(tmp_path)
    expected = np.round(values / 257.0).astype(np.uint8)  # 65535 -> 255, 0 -> 0, linear between
    np.testing.assert_array_equal(data.inputs[0, ..., 0], expected)
    assert len(np.unique(data.inputs[0])) > 50  # before: everything above 255 became white
    report = cli("data", "inspect", tmp_path)
    assert "6 image(s) are 16-bit grayscale; they are scaled to 8 bits" in report.out


def test_inspect_flags_images_that_are_one_flat_colour(tmp_path: Path, cli) -> None:
    for label in ("a", "b"):
        (tmp_path / label).mkdir()
        for i in range(5):
            Image.fromarray(RNG.integers(0, 255, (6, 6), dtype=np.uint8)).save(
                tmp_path / label / f"{i}.png"
            )
    Image.fromarray(np.full((6, 6), 255, np.uint8)).save(tmp_path / "b" / "white.png")
    report = cli("data", "inspect", tmp_path)
    assert "1 image(s) are one flat colour" in report.out and "white.png" in report.out


def test_inspect_reports_labels_that_are_not_classes(tmp_path: Path, cli) -> None:
    (tmp_path / "train.csv").write_text(csv_text(IDS))
    result = cli("data", "inspect", tmp_path / "train.csv")
    assert result.code == 1
    assert "problem:" in result.out and "unique ids" in result.out
