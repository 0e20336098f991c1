"""Reading a file to score in chunks: a table (CSV, TSV, JSONL, Parquet) as a table, a plain
text file as one input per line.

The format comes from ``--format`` or the file's extension; the column to score from
``--column``, else the column the run was trained on (``data.text_column``), else the one whose
name says it holds texts (``text``, ``sentence``, ...) or, for image models, file paths
(``path``, ``image``, ...). Only that column and the ``keep`` columns are read, in chunks of
``chunk_rows`` rows, so memory does not grow with the file.

Example::

    source = open_source(Path("test.csv"), "auto", column=None, keep=["id"])
    for chunk in source.chunks(10_000):
        chunk.rows, chunk.texts, chunk.kept["id"]
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from launchml.data.tables import TEXT_COLUMN_NAMES
from launchml.errors import InvalidInputError, NotFoundError, did_you_mean

FORMATS = ("auto", "csv", "tsv", "jsonl", "parquet", "text")
SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl",
            ".parquet": "parquet", ".pq": "parquet"}  # fmt: skip
IMAGE_COLUMN_NAMES = ("path", "image", "file", "filename", "image_path")


@dataclass
class Chunk:
    """Consecutive rows: their numbers (data rows from 1; lines for text files), the texts
    (None where the cell is missing) and the kept columns' values."""

    rows: list[int]
    texts: list[str | None]
    kept: dict[str, list[Any]] = field(default_factory=dict)
    #: how far into the file the chunk ends (bytes, or rows of a Parquet file: ``Source.unit``)
    position: int = 0


@dataclass
class Source:
    """An input file, its format, and the column scored (``text`` for a plain text file)."""

    path: Path
    format: str
    column: str
    keep: list[str]
    total: int  # for the progress bar: rows (Parquet) or bytes (the others)
    unit: str  # "rows" or "bytes"

    def chunks(self, chunk_rows: int) -> Iterator[Chunk]:
        """The file in chunks of at most ``chunk_rows`` rows."""
        reader = {"parquet": _parquet, "jsonl": _jsonl, "text": _text}.get(self.format, _csv)
        for chunk, position in reader(self, chunk_rows):
            chunk.position = position
            yield chunk


def input_format(path: Path, fmt: str = "auto") -> str:
    """The format of ``path``: ``fmt`` when given, else by extension (``text`` for any other)."""
    if fmt != "auto":
        return fmt
    return SUFFIXES.get(path.suffix.lower(), "text")


def open_source(
    path: Path,
    fmt: str = "auto",
    column: str | None = None,
    keep: list[str] | None = None,
    trained_column: str | None = None,
    kind: str = "text",
) -> Source:
    """Check the file, find its columns and pick the one to score (see the module docstring)."""
    if not path.is_file():
        raise NotFoundError(f"{path}: input file not found")
    if fmt not in FORMATS:
        raise InvalidInputError(f"--format {fmt}: expected one of {', '.join(FORMATS)}")
    fmt = input_format(path, fmt)
    keep = list(keep or [])
    size = path.stat().st_size
    if fmt == "text":
        if column is not None or keep:
            raise InvalidInputError(
                f"{path}: a plain text file (one input per line) has no columns; --column and "
                "--keep are for CSV, TSV, JSONL and Parquet tables (or give --format)"
            )
        return Source(path, fmt, "text", [], size, "bytes")
    columns, total, unit = _columns(path, fmt), size, "bytes"
    if fmt == "parquet":
        import pyarrow.parquet as pq

        total, unit = pq.ParquetFile(path).metadata.num_rows, "rows"
    chosen = pick_column(path, columns, column, trained_column, kind)
    for name in keep:
        if name not in columns:
            raise InvalidInputError(
                f"{path}: no column '{name}' (--keep); columns are: {', '.join(columns)}"
                f"{did_you_mean(name, columns)}"
            )
    return Source(path, fmt, chosen, [k for k in keep if k != chosen], total, unit)


def pick_column(
    path: Path, columns: list[str], wanted: str | None, trained: str | None, kind: str
) -> str:
    """``--column``, else the training column when present, else the one obvious by name."""
    if wanted is not None:
        if wanted not in columns:
            raise InvalidInputError(
                f"{path}: no column '{wanted}' (--column); columns are: {', '.join(columns)}"
                f"{did_you_mean(wanted, columns)}"
            )
        return wanted
    if trained is not None and trained in columns:
        return trained
    names = IMAGE_COLUMN_NAMES if kind == "image" else TEXT_COLUMN_NAMES
    lowered = {c.lower(): c for c in columns}
    found = [lowered[n] for n in names if n in lowered]
    what = "image paths" if kind == "image" else "texts"
    if len(found) == 1:
        return found[0]
    if not found:
        raise InvalidInputError(
            f"{path}: cannot tell which column holds the {what}; give --column "
            f"(columns are: {', '.join(columns)})"
        )
    raise InvalidInputError(
        f"{path}: several columns could hold the {what} ({', '.join(found)}); give --column"
    )


def _columns(path: Path, fmt: str) -> list[str]:
    """The column names, from the header (CSV/TSV), the schema (Parquet) or the first record."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            return list(pq.ParquetFile(path).schema_arrow.names)
        except Exception as exc:  # pyarrow raises many types for a bad file
            raise InvalidInputError(f"{path}: not a readable Parquet file ({exc})") from None
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            line = _decode(raw, path, number).strip()
            if not line:
                continue
            if fmt == "jsonl":
                return list(_record(line, path, number))
            import csv

            return next(csv.reader([line], delimiter="\t" if fmt == "tsv" else ","))
    raise InvalidInputError(f"{path}: the file is empty")


def _csv(source: Source, chunk_rows: int) -> Iterator[tuple[Chunk, int]]:
    import pandas as pd

    wanted = [source.column, *source.keep]
    row = 0
    with source.path.open("rb") as handle:
        try:
            reader = pd.read_csv(
                handle,
                sep="\t" if source.format == "tsv" else ",",
                dtype=str,
                keep_default_na=False,  # "NA", "null" are texts; an empty cell is missing
                na_values=[""],
                usecols=wanted,
                chunksize=chunk_rows,
                encoding="utf-8-sig",
            )
            for frame in reader:
                n = len(frame)
                texts = [None if _missing(v) else str(v) for v in frame[source.column]]
                kept = {k: [None if _missing(v) else v for v in frame[k]] for k in source.keep}
                yield Chunk(list(range(row + 1, row + n + 1)), texts, kept), handle.tell()
                row += n
        except UnicodeDecodeError:
            raise InvalidInputError(
                f"{source.path}: not valid UTF-8 (after data row {row}); re-save the file as UTF-8"
            ) from None
        except pd.errors.ParserError as exc:
            message = str(exc).strip().splitlines()[-1]
            raise InvalidInputError(
                f"{source.path}: malformed {source.format.upper()} after data row {row}: {message}"
            ) from None


def _jsonl(source: Source, chunk_rows: int) -> Iterator[tuple[Chunk, int]]:
    with source.path.open("rb") as handle:
        chunk = Chunk([], [], {k: [] for k in source.keep})
        row = 0
        for number, raw in enumerate(handle, start=1):
            line = _decode(raw, source.path, number)
            if not line.strip():
                continue
            record = _record(line, source.path, number)
            row += 1
            value = record.get(source.column)
            chunk.rows.append(row)
            chunk.texts.append(None if value is None else str(value))
            for k in source.keep:
                chunk.kept[k].append(record.get(k))
            if len(chunk.rows) == chunk_rows:
                yield chunk, handle.tell()
                chunk = Chunk([], [], {k: [] for k in source.keep})
        if chunk.rows:
            yield chunk, handle.tell()


def _text(source: Source, chunk_rows: int) -> Iterator[tuple[Chunk, int]]:
    """One input per non-blank line; its row number is the line number."""
    with source.path.open("rb") as handle:
        chunk = Chunk([], [])
        for number, raw in enumerate(handle, start=1):
            line = _decode(raw, source.path, number).strip()
            if number == 1:
                line = line.removeprefix("\ufeff")
            if not line:
                continue
            chunk.rows.append(number)
            chunk.texts.append(line)
            if len(chunk.rows) == chunk_rows:
                yield chunk, handle.tell()
                chunk = Chunk([], [])
        if chunk.rows:
            yield chunk, handle.tell()


def _parquet(source: Source, chunk_rows: int) -> Iterator[tuple[Chunk, int]]:
    import pyarrow.parquet as pq

    row = 0
    columns = [source.column, *source.keep]
    for batch in pq.ParquetFile(source.path).iter_batches(batch_size=chunk_rows, columns=columns):
        values = batch.to_pydict()
        n = batch.num_rows
        texts = [None if v is None else str(v) for v in values[source.column]]
        kept = {k: values[k] for k in source.keep}
        yield Chunk(list(range(row + 1, row + n + 1)), texts, kept), row + n
        row += n


def _decode(raw: bytes, path: Path, number: int) -> str:
    try:
        return raw.decode("utf-8-sig" if number == 1 else "utf-8")
    except UnicodeDecodeError:
        raise InvalidInputError(
            f"{path}: not valid UTF-8 on line {number}; re-save the file as UTF-8"
        ) from None


def _record(line: str, path: Path, number: int) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{path}: line {number} is not valid JSON ({exc.msg})") from None
    if not isinstance(record, dict):
        raise InvalidInputError(f"{path}: line {number} is not a JSON object")
    return record


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


__all__ = ["FORMATS", "Chunk", "Source", "input_format", "open_source", "pick_column"]
