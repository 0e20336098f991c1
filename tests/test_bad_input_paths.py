"""Class 3 of the bad inputs: output paths that cannot be written.

``train --out``, ``evaluate --out``, ``report --out`` and ``compare --html`` are checked once,
before any work starts: a parent that is a file, a directory without write permission, a
missing directory for a file. Nothing is written.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

import launchml
from tests.bad_input import Row, check_row, good_csv, train_args, write_config


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("finished")
    config = {"data": {"train": str(good_csv(root)), "split": {"val": 0.25}}}
    return launchml.train(config, out=root / "run").path


def with_file(make: Callable[..., list[str]]) -> Callable[..., list[str]]:
    """``tmp/file.txt`` exists (a file where a directory is expected), then ``make``."""

    def setup(tmp: Path, *rest: Path) -> list[str]:
        (tmp / "file.txt").write_text("not a directory\n")
        return make(tmp, *rest)

    return setup


def train_to(out: str, data: str = "train.csv") -> Callable[[Path], list[str]]:
    def make(tmp: Path) -> list[str]:
        good_csv(tmp)
        return train_args(write_config(tmp, f"  train: {data}"), out=out)

    return make


def on_run(command: str, *options: str) -> Callable[[Path, Path], list[str]]:
    def make(tmp: Path, run: Path) -> list[str]:
        copy = tmp / "run"
        shutil.copytree(run, copy)
        data = good_csv(tmp, "data.csv")
        args = {
            "evaluate": ["evaluate", str(copy), "--data", str(data)],
            "report": ["report", str(copy)],
            "compare": ["compare", str(copy)],
        }[command]
        return args + [option.replace("TMP", str(tmp)) for option in options]

    return make


TRAIN_TABLE: dict[str, Row] = {
    "train --out under a file": Row(
        with_file(train_to("file.txt/run")), ["file.txt is a file, not a directory", "(--out)"]
    ),
    "train --out is a file": Row(
        with_file(train_to("file.txt")), ["file.txt: exists and is not a directory (--out)"]
    ),
    "train --out checked before the data are read": Row(
        with_file(train_to("file.txt/deeper/run", data="missing.csv")),
        ["file.txt is a file", "(--out)"],
    ),
}
RUN_TABLE: dict[str, Row] = {
    "evaluate --out under a file": Row(
        with_file(on_run("evaluate", "--out", "TMP/file.txt/eval")),
        ["file.txt is a file, not a directory", "(--out)"],
    ),
    "evaluate --out is a file": Row(
        with_file(on_run("evaluate", "--out", "TMP/file.txt")),
        ["file.txt: exists and is not a directory (--out)"],
    ),
    "evaluate --out is a run directory": Row(
        on_run("evaluate", "--out", "TMP/run"), ["is a run directory", "choose another --out"]
    ),
    "report --out under a file": Row(
        with_file(on_run("report", "--out", "TMP/file.txt/report.html")),
        ["file.txt is a file, not a directory", "(--out)"],
    ),
    "report --out in a missing directory": Row(
        on_run("report", "--out", "TMP/nowhere/report.html"),
        ["nowhere: directory not found (--out)"],
    ),
    "compare --html under a file": Row(
        with_file(on_run("compare", "--html", "TMP/file.txt/board.html")),
        ["file.txt is a file, not a directory", "(--html)"],
    ),
    "compare --html is a directory": Row(
        on_run("compare", "--html", "TMP"), ["is a directory; give a file name (--html)"]
    ),
}


@pytest.mark.parametrize("name", list(TRAIN_TABLE))
def test_unwritable_train_out_gives_one_clear_line(name: str, tmp_path: Path, cli) -> None:
    check_row(TRAIN_TABLE[name], tmp_path, cli)


@pytest.mark.parametrize("name", list(RUN_TABLE))
def test_unwritable_output_of_a_run_command(
    name: str, finished_run: Path, tmp_path: Path, cli
) -> None:
    row = RUN_TABLE[name]
    make = row.make
    check_row(dataclasses.replace(row, make=lambda tmp: make(tmp, finished_run)), tmp_path, cli)


def test_a_directory_without_write_permission(
    tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As root every directory is writable, so the permission is denied by a stand-in for
    ``os.access`` that refuses ``tmp/locked`` (the check asks ``os.access`` first)."""
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = __import__("os").access
    monkeypatch.setattr(
        "launchml.outputs.os.access",
        lambda path, mode: False if Path(path) == locked else real_access(path, mode),
    )
    row = Row(train_to("locked/run"), ["locked/run: cannot be created (--out)", "no permission"])
    check_row(row, tmp_path, cli)
