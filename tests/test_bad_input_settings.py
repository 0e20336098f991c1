"""Class 2 of the bad inputs: settings that pass the type check but cannot work.

Each is refused before training starts, naming the key and the range it allows, and leaves no
run directory behind, not even a ``RUN.partial`` that would block rerunning with a fix.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.bad_input import Row, check_row, good_csv, train_args, write_config


def image_folder(root: Path, size: tuple[int, int] = (8, 8)) -> Path:
    rng = np.random.default_rng(0)
    for label in ("cat", "dog"):
        (root / label).mkdir(parents=True)
        for i in range(4):
            pixels = rng.integers(0, 255, size, dtype=np.uint8)
            Image.fromarray(pixels).save(root / label / f"{i}.png")
    return root


def text_run(*overrides: str, extra: str = "") -> Callable[[Path], list[str]]:
    """Train on the good 24-text CSV with ``--set`` overrides (and YAML sections)."""

    def make(tmp: Path) -> list[str]:
        good_csv(tmp)
        return train_args(write_config(tmp, "  train: train.csv", extra), *overrides)

    return make


def image_run(*overrides: str) -> Callable[[Path], list[str]]:
    def make(tmp: Path) -> list[str]:
        image_folder(tmp / "images")
        config = write_config(tmp, "  train: images", "model:\n  type: mlp\n")
        return train_args(config, *overrides)

    return make


def text_with_image_test(tmp: Path) -> list[str]:
    good_csv(tmp)
    image_folder(tmp / "images")
    return train_args(write_config(tmp, "  train: train.csv\n  test: images"))


def images_with_text_val(tmp: Path) -> list[str]:
    good_csv(tmp)
    image_folder(tmp / "images")
    config = write_config(tmp, "  train: images\n  val: train.csv", "model:\n  type: mlp\n")
    return train_args(config)


MLP = "model.type=mlp"
TABLE: dict[str, Row] = {
    "infinite learning rate": Row(text_run("train.lr=.inf"), ["train.lr", "finite number"]),
    "NaN learning rate": Row(text_run("train.lr=.nan"), ["train.lr", "finite number"]),
    "word n-grams low > high": Row(
        text_run("model.tfidf_logreg.word_ngrams=[3, 1]"),
        ["model.tfidf_logreg.word_ngrams", "[3, 1]", "1 <= low <= high"],
    ),
    "char n-grams from 0": Row(
        text_run("model.tfidf_logreg.char_ngrams=[0, 2]"),
        ["model.tfidf_logreg.char_ngrams", "1 <= low <= high"],
    ),
    "min_df above the data": Row(
        text_run("model.tfidf_logreg.min_df=1000"),
        ["model.tfidf_logreg.min_df", "1000 is more than the", "training texts", "use 1 to"],
    ),
    "mlp hidden size 0": Row(
        text_run(MLP, "model.mlp.hidden=[16, 0]"),
        ["model.mlp.hidden[1]", "greater than or equal to 1", "got 0"],
    ),
    "cnn width negative": Row(
        image_run("model.type=cnn", "model.cnn.widths=[-4]"),
        ["model.cnn.widths[0]", "greater than or equal to 1"],
    ),
    "image size 0": Row(
        image_run("data.image.size=[0, 8]"), ["data.image.size[0]", "greater than or equal to 1"]
    ),
    "image size negative": Row(
        image_run("data.image.size=[8, -2]"), ["data.image.size[1]", "greater than or equal to 1"]
    ),
    "split fractions add up to 1": Row(
        text_run("data.split.val=0.5", "data.split.test=0.5"),
        ["split.val 0.5 + split.test 0.5", "less than 1"],
    ),
    "image folder as test data for a text model": Row(
        text_with_image_test, ["images: holds images", "data.test must be text data"]
    ),
    "text file as validation data for an image model": Row(
        images_with_text_val, ["train.csv: holds texts", "data.val must be image data"]
    ),
    "huge train.threads": Row(
        text_run(MLP, "train.threads=100000"), ["train.threads", "100000", "CPU cores", "use 1 to"]
    ),
    "huge inference.threads": Row(
        text_run("inference.threads=100000"), ["inference.threads", "CPU cores", "use 1 to"]
    ),
    "transformer max_length beyond the encoder": Row(
        text_run("model.type=transformer", "model.transformer.max_length=100000"),
        ["model.transformer.max_length", "512 positions", "use 2 to 512"],
    ),
    "class weights of the wrong length (fails inside training)": Row(
        text_run(MLP, "train.epochs=1", "train.threads=1", "train.class_weights=[1.0, 2.0]"),
        ["train.class_weights has 2 values but there are 3 classes"],
    ),
    "zero epochs": Row(text_run("train.epochs=0"), ["train.epochs", "greater than or equal to 1"]),
}


@pytest.mark.parametrize("name", list(TABLE))
def test_impossible_setting_gives_one_clear_line(name: str, tmp_path: Path, cli) -> None:
    check_row(TABLE[name], tmp_path, cli)  # also: no run and no run.partial left


def test_rerunning_after_a_failed_start_is_not_blocked(tmp_path: Path, cli) -> None:
    row = TABLE["class weights of the wrong length (fails inside training)"]
    args = row.make(tmp_path)
    assert cli(*args).code == 2
    assert not (tmp_path / "run.partial").exists()
    fixed = [a.replace("[1.0, 2.0]", "[1.0, 2.0, 1.0]") for a in args]
    result = cli(*fixed)
    assert result.code == 0, result.err
    assert (tmp_path / "run" / "weights.safetensors").is_file()
