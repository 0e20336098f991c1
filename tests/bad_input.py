"""What the bad-input tables share: a row type and the promise every row must keep.

Each row of a table says how to make the bad input (a function that writes files into a fresh
temporary directory and returns the command's arguments), the exit status expected, and
fragments of the one ``error:`` line expected on stderr. :func:`check_row` runs the real CLI
in-process and asserts the promise of the README's "Bad input" section: one line, the fragments,
no traceback, and nothing left on disk that was not there before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import INTENTS, CliResult, write_csv

GOOD_ROWS = [(text, label) for label, texts in INTENTS.items() for text in texts]


@dataclass
class Row:
    """One bad input: ``make(tmp) -> CLI args``, the exit status and message fragments."""

    make: Callable[[Path], list[str]]
    fragments: list[str]
    status: int = 2
    #: stderr is a warning (``warning: ...``) and the command still succeeds
    warning: bool = False


def snapshot(directory: Path) -> dict[str, int]:
    """Every file under ``directory`` with its size: what a failed command must not change."""
    return {
        str(p.relative_to(directory)): p.stat().st_size
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def check_row(row: Row, tmp: Path, cli: Callable[..., CliResult]) -> CliResult:
    """Make the bad input, run the command, and assert the promise of one clear line."""
    args = row.make(tmp)
    before = snapshot(tmp)
    result = cli(*args)
    assert result.code == row.status, (result.code, result.out, result.err)
    assert "Traceback" not in result.err, result.err
    lines = result.err.strip().splitlines()
    prefix = "warning: " if row.warning else "error: "
    matching = [line for line in lines if line.startswith(prefix)]
    if row.warning:
        assert matching, result.err
    else:
        assert len(lines) == 1 and matching, result.err
    for fragment in row.fragments:
        assert any(fragment in line for line in matching), f"{fragment!r} not in {matching!r}"
    if not row.warning:
        assert snapshot(tmp) == before, "a failed command left files behind or changed them"
    return result


def write_config(tmp: Path, data_lines: str, extra: str = "", name: str = "config.yaml") -> Path:
    """``tmp/config.yaml`` with the given ``data:`` lines (indented) and further sections."""
    path = tmp / name
    path.write_text(f"data:\n{data_lines}\n{extra}", encoding="utf-8")
    return path


def good_csv(tmp: Path, name: str = "train.csv") -> Path:
    return write_csv(tmp / name, GOOD_ROWS)


def train_args(config: Path, *overrides: str, out: str = "run") -> list[str]:
    args = ["train", str(config), "--out", str(config.parent / out), "-q"]
    for item in overrides:
        args += ["--set", item]
    return args
