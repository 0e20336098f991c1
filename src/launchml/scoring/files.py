"""``launchml predict MODEL --input FILE --output OUT``: a whole file scored into another, with
a progress bar on stderr.

Example::

    summary = score_file("runs/banking", "big.parquet", "scores.parquet", top=3, nproc=2)
    summary.rows, summary.rows_per_second
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from launchml.scoring.readers import Source, open_source
from launchml.scoring.score import model_facts, scored_tables
from launchml.scoring.writers import Writer, prediction_columns


@dataclass(frozen=True)
class Summary:
    """What a scoring pass did: rows read, rows without a text (not scored), the time taken."""

    output: Path
    rows: int
    empty: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")

    def line(self) -> str:
        empty = f" ({self.empty:,} without a text, not scored)" if self.empty else ""
        return (
            f"scored {self.rows:,} rows{empty} in {self.seconds:.1f} s "
            f"({self.rows_per_second:,.0f} rows/s): {self.output}"
        )


def score_file(
    model: str | Path,
    input: str | Path,
    output: str | Path,
    *,
    fmt: str = "auto",
    column: str | None = None,
    keep: list[str] | None = None,
    top: int = 3,
    chunk_rows: int = 10_000,
    nproc: int = 1,
    device: str | None = None,
    quiet: bool = True,
) -> Summary:
    """Score every row of ``input`` with the run or bundle ``model`` into ``output`` (CSV or
    Parquet by its extension; see :mod:`launchml.scoring.writers` for the columns).

    Nothing is left behind when it fails: rows go to ``OUTPUT.partial``, renamed at the end.
    """
    started = time.perf_counter()
    model, output = Path(model), Path(output)
    facts = model_facts(model)
    source = open_source(Path(input), fmt, column, keep, facts.text_column, facts.kind)
    columns = ["row", source.column, *source.keep, *prediction_columns(min(top, len(facts.labels)))]
    rows = empty = 0
    with Writer(output, columns) as writer, ProgressBar(source, quiet) as advance:
        for table in scored_tables(
            model, source, facts, top, chunk_rows, nproc, device, progress=advance
        ):
            writer.write(table)
            rows += len(table["row"])
            empty += sum(p is None for p in table["prediction"])
            advance(None, rows)
    return Summary(output, rows, empty, time.perf_counter() - started)


class ProgressBar:
    """A rich progress bar on stderr over the file (bytes read, or rows of a Parquet file) with
    the rows scored and their rate; ``advance(done, rows)`` moves it. Silent when ``quiet``."""

    def __init__(self, source: Source, quiet: bool) -> None:
        self.source, self.quiet = source, quiet
        self.progress: Any = None

    def __enter__(self) -> Any:
        if self.quiet:
            return lambda done=None, rows=None: None
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn(f"scoring {self.source.path.name}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[rows]:>12,} rows {task.fields[rate]:>8,.0f}/s"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        self.progress.start()
        task = self.progress.add_task("", total=self.source.total, rows=0, rate=0.0)
        started = time.perf_counter()

        def advance(done: int | None = None, rows: int | None = None) -> None:
            fields: dict[str, Any] = {}
            if rows is not None:
                fields = {"rows": rows, "rate": rows / max(time.perf_counter() - started, 1e-9)}
            if done is not None:
                fields["completed"] = done
            self.progress.update(task, **fields)

        return advance

    def __exit__(self, *exc: Any) -> None:
        if self.progress is not None:
            self.progress.stop()


def iter_scored(
    model: str | Path,
    input: str | Path,
    *,
    fmt: str = "auto",
    column: str | None = None,
    top: int = 3,
    chunk_rows: int = 10_000,
    nproc: int = 1,
    device: str | None = None,
) -> Iterator[dict[str, Any]]:
    """Each input row with its ``label`` and ``top`` labels (``launchml predict --input``
    without ``--output``): ``{"row", "input", "label", "top": [{"label", "probability"}]}``."""
    model = Path(model)
    facts = model_facts(model)
    source = open_source(Path(input), fmt, column, None, facts.text_column, facts.kind)
    names = prediction_columns(min(top, len(facts.labels)))
    for table in scored_tables(model, source, facts, top, chunk_rows, nproc, device):
        for i, row in enumerate(table["row"]):
            if table["prediction"][i] is None:
                continue
            ranked = [
                {"label": table[label][i], "probability": round(table[probability][i], 6)}
                for label, probability in zip(names[::2], names[1::2], strict=True)
            ]
            yield {"row": row, "input": table[source.column][i], "label": ranked[0]["label"],
                   "top": ranked}  # fmt: skip


__all__ = ["Summary", "iter_scored", "score_file"]
