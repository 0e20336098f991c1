"""Bad input: one clear line on stderr, exit code != 0, no traceback, no run directory left behind.

Each case writes its own broken input into a temporary directory and runs the real CLI.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import INTENTS, write_csv

GOOD_ROWS = [(text, label) for label, texts in INTENTS.items() for text in texts]


def config(tmp: Path, data: str, extra: str = "") -> Path:
    path = tmp / "config.yaml"
    path.write_text(f"data:\n{data}\n{extra}", encoding="utf-8")
    return path


def train_with(data_lines: str, extra: str = "") -> Callable[[Path], list[str]]:
    """A case that writes a config with the given ``data:`` lines and trains on it."""

    def setup(tmp: Path) -> list[str]:
        return ["train", str(config(tmp, data_lines, extra)), "--out", str(tmp / "run"), "-q"]

    return setup


def with_file(name: str, content: bytes, data_lines: str = "") -> Callable[[Path], list[str]]:
    def setup(tmp: Path) -> list[str]:
        (tmp / name).write_bytes(content)
        return train_with(f"  train: {name}\n{data_lines}")(tmp)

    return setup


def good_csv(
    tmp: Path, name: str = "train.csv", header: tuple[str, str] = ("text", "label")
) -> None:
    write_csv(tmp / name, GOOD_ROWS, header)


def with_good_csv(data_lines: str, extra: str = "", header=("text", "label")):
    def setup(tmp: Path) -> list[str]:
        good_csv(tmp, header=header)
        return train_with(f"  train: train.csv\n{data_lines}", extra)(tmp)

    return setup


def image_folder(problem: str) -> Callable[[Path], list[str]]:
    def setup(tmp: Path) -> list[str]:
        rng = np.random.default_rng(0)
        for label in ("cat", "dog"):
            (tmp / "imgs" / label).mkdir(parents=True)
            for i in range(3):
                pixels = rng.integers(0, 255, (8, 8), dtype=np.uint8)
                Image.fromarray(pixels).save(tmp / "imgs" / label / f"{i}.png")
        if problem == "corrupt":
            (tmp / "imgs" / "dog" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
        elif problem == "not_image":
            (tmp / "imgs" / "cat" / "notes.txt").write_text("hello")
        elif problem == "mixed_sizes":
            Image.fromarray(np.zeros((10, 12), np.uint8)).save(tmp / "imgs" / "cat" / "big.png")
        return train_with("  train: imgs", "model:\n  type: tfidf_logreg\n")(tmp)

    return setup


def npz_without_keys(tmp: Path) -> list[str]:
    np.savez(tmp / "digits.npz", images=np.zeros((4, 8, 8), np.uint8), labels=np.arange(4))
    return train_with("  train: digits.npz")(tmp)


def set_override(*items: str) -> Callable[[Path], list[str]]:
    def setup(tmp: Path) -> list[str]:
        args = with_good_csv("")(tmp)
        for item in items:
            args += ["--set", item]
        return args

    return setup


def evaluate_missing_run(tmp: Path) -> list[str]:
    return ["evaluate", str(tmp / "no-such-run"), "--data", str(tmp / "x.csv")]


def predict_without_input(tmp: Path) -> list[str]:
    return ["predict", str(tmp / "run")]


def missing_config(tmp: Path) -> list[str]:
    return ["train", str(tmp / "nope.yaml")]


def jsonl_bad_line(tmp: Path) -> list[str]:
    (tmp / "t.jsonl").write_text('{"text": "a", "label": "x"}\n{"text": "b", label: y}\n')
    return train_with("  train: t.jsonl")(tmp)


CASES: dict[str, tuple[Callable[[Path], list[str]], list[str]]] = {
    "missing data file": (train_with("  train: nope.csv"), ["nope.csv", "file not found"]),
    "empty file": (with_file("train.csv", b""), ["train.csv", "empty"]),
    "header only": (with_file("train.csv", b"text,label\n"), ["train.csv", "no rows"]),
    "ragged csv": (
        with_file("train.csv", b"text,label\nhello,a\nhi,b,extra\nyo,a\n"),
        ["train.csv", "line 3 has 3 fields, expected 2"],
    ),
    "missing text column": (
        with_good_csv("  text_column: txt"),
        ["no column 'txt'", "data.text_column", "text, label", "did you mean 'text'"],
    ),
    "missing label column": (
        with_good_csv("  label_column: intnet", header=("text", "intent")),
        ["no column 'intnet'", "did you mean 'intent'"],
    ),
    "cannot guess columns": (
        with_good_csv("", header=("message", "tag")),
        ["cannot tell which column holds the texts", "data.text_column", "message, tag"],
    ),
    "only one class": (
        with_file("train.csv", b"text,label\nhello,a\nhi there,a\nhey,a\n"),
        ["train.csv", "only one class"],
    ),
    "empty label": (
        with_file("train.csv", b"text,label\nhello,a\nhi there,\nhey,b\n"),
        ["train.csv", "empty or NaN label", "line 3"],
    ),
    "NaN label": (
        with_file("train.csv", b"text,label\nhello,a\nhi there,b\nhey,NaN\n"),
        ["train.csv", "empty or NaN label", "line 4"],
    ),
    "non-UTF-8 bytes": (
        with_file("train.csv", "text,label\ncaf\u00e9,a\nhi,b\n".encode("latin-1")),
        ["train.csv", "not valid UTF-8", "line 2"],
    ),
    "malformed JSONL": (jsonl_bad_line, ["t.jsonl", "line 2 is not valid JSON"]),
    "corrupt image": (image_folder("corrupt"), ["broken.png", "corrupt"]),
    "non-image file": (image_folder("not_image"), ["notes.txt", "not an image"]),
    "mixed image sizes": (image_folder("mixed_sizes"), ["data.image.size", "12x10"]),
    "npz without x/y": (npz_without_keys, ["digits.npz", "x_train", "images, labels"]),
    "unknown config key": (
        with_good_csv("", extra="trian:\n  epochs: 3\n"),
        ["unknown key 'trian'", "did you mean 'train'"],
    ),
    "mistyped nested key": (
        with_good_csv("", extra="train:\n  epocs: 3\n"),
        ["unknown key 'train.epocs'", "did you mean 'epochs'"],
    ),
    "wrong value type": (
        with_good_csv("", extra="train:\n  epochs: ten\n"),
        ["train.epochs", "integer", "'ten'"],
    ),
    "unknown model type": (
        with_good_csv("", extra="model:\n  type: tfidf_logrg\n"),
        ["unknown model type 'tfidf_logrg'", "did you mean 'tfidf_logreg'"],
    ),
    "--set without =": (set_override("train.epochs"), ["expected KEY=VALUE"]),
    "--set unknown key": (set_override("train.lr_rate=0.1"), ["unknown key 'train.lr_rate'"]),
    "--set wrong type": (set_override("train.batch_size=big"), ["train.batch_size", "'big'"]),
    "missing config file": (missing_config, ["nope.yaml", "config file not found"]),
    "model for other data kind": (image_folder("none"), ["tfidf_logreg", "text", "image"]),
    "evaluate missing run": (evaluate_missing_run, ["no-such-run", "run directory not found"]),
    "predict without input": (predict_without_input, ["give either one TEXT argument or --input"]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_gives_one_clear_line(name: str, tmp_path: Path, cli) -> None:
    setup, expected = CASES[name]
    args = setup(tmp_path)
    result = cli(*args)

    assert result.code != 0, result.out
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in result.err
    for fragment in expected:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    assert not (tmp_path / "run").exists()
    assert not (tmp_path / "run.partial").exists()


def test_bad_input_table_is_large_enough() -> None:
    assert len(CASES) >= 15


def test_unseen_test_labels_warn_and_still_evaluate(tmp_path: Path, cli) -> None:
    good_csv(tmp_path)
    write_csv(
        tmp_path / "test.csv",
        [("where is my order", "order_status"), ("refund please", "refund"),
         ("cancel my subscription", "cancel"), ("stop my plan", "cancel")],
    )  # fmt: skip
    cfg = config(tmp_path, "  train: train.csv\n  test: test.csv")
    result = cli("train", cfg, "--out", tmp_path / "run", "-q")
    assert result.code == 0, result.err
    assert "never seen in training ('cancel')" in result.err
    evaluated = cli("evaluate", tmp_path / "run", "--data", tmp_path / "test.csv", "--json")
    assert evaluated.code == 0
    import json

    metrics = json.loads(evaluated.out)
    assert metrics["n"] == 4
    assert metrics["unseen_labels"] == {"cancel": 2}
    # the two 'cancel' rows are errors; the rest is scored normally
    assert metrics["accuracy"] == pytest.approx(metrics["accuracy_known"] * 2 / 4)
