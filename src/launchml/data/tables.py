"""Text tables: CSV, TSV, JSONL and Parquet files with a text column and a label column."""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from launchml.data.dataset import Dataset
from launchml.errors import InvalidConfigError, InvalidInputError, did_you_mean

TEXT_COLUMN_NAMES = ("text", "sentence", "utterance", "query", "question", "review", "content")
LABEL_COLUMN_NAMES = ("label", "labels", "category", "intent", "class", "target", "label_name")


def read_table(path: Path, fmt: str, quoting: str = "minimal") -> pd.DataFrame:
    """Read a whole table as strings (missing cells as NaN). ``fmt`` is csv|tsv|jsonl|parquet."""
    if fmt == "parquet":
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises many types for a bad file
            raise InvalidInputError(f"{path}: not a readable Parquet file ({exc})") from None
        if frame.empty:
            raise InvalidInputError(f"{path}: the file has no rows")
        # Native values, not strings: a float label column (3.0) must read as "3" like JSONL does.
        return frame.astype(object).where(frame.notna(), None)
    text = _read_utf8(path)
    if not text.strip():
        raise InvalidInputError(f"{path}: the file is empty")
    if fmt == "jsonl":
        return _read_jsonl(path, text)
    quoting_constant: Literal[0, 3] = csv.QUOTE_NONE if quoting == "none" else csv.QUOTE_MINIMAL
    sep = _check_header(path, text, fmt, quoting_constant)
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            dtype=str,
            quoting=quoting_constant,
            skip_blank_lines=True,
        )
    except pd.errors.ParserError as exc:
        message = _parser_message(exc, text, sep, quoting_constant)
        raise InvalidInputError(f"{path}: malformed {fmt.upper()}: {message}") from None
    except pd.errors.EmptyDataError:
        raise InvalidInputError(f"{path}: the file is empty") from None
    if frame.empty:
        raise InvalidInputError(f"{path}: the file has a header but no rows")
    if text.count("\n") + (not text.endswith("\n")) != len(frame) + 1:
        # blank lines or quoted line breaks: record i no longer starts on line i + 2
        lines = _record_lines(text, sep, quoting_constant)
        if lines is not None and len(lines) == len(frame):
            frame.attrs["lines"] = lines
    return frame


def _check_header(path: Path, text: str, fmt: str, quoting: Literal[0, 3]) -> str:
    """The delimiter to read ``text`` with, after checking its header line.

    A ``.csv`` whose header holds no comma but splits on ``;``, a tab or ``|`` on every one of
    its first lines is read with that delimiter (spreadsheets export ``;`` in many locales).
    A header with one field, more than :data:`MAX_COLUMNS` fields, or a name used twice is an
    error (before pandas reads the whole file).
    """
    sep = "\t" if fmt == "tsv" else ","
    header = _header_fields(text, sep, quoting)
    if fmt == "csv" and len(header) == 1:
        sep = _sniff_delimiter(text, quoting) or sep
        header = _header_fields(text, sep, quoting)
    if len(header) == 1:
        shown = header[0] if len(header[0]) <= 60 else header[0][:57] + "..."
        by = "tabs" if sep == "\t" else "commas"
        raise InvalidInputError(
            f"{path}: the header line has a single column ({shown!r}); a table needs a text "
            f"and a label column separated by {by}"
        )
    if len(header) > MAX_COLUMNS:
        raise InvalidInputError(
            f"{path}: the header line has {len(header)} columns; launchml reads tables of at most "
            f"{MAX_COLUMNS} columns (it needs a text and a label column)"
        )
    counts = Counter(name.strip() for name in header)
    twice = [name for name, n in counts.items() if n > 1]
    if twice:
        raise InvalidInputError(
            f"{path}: column name(s) used more than once in the header: "
            f"{', '.join(repr(name) for name in twice[:5])}; give each column its own name"
        )
    return sep


#: a table with more columns than this is refused before it is read
MAX_COLUMNS = 1000
_OTHER_DELIMITERS = (";", "\t", "|")


def _header_fields(text: str, sep: str, quoting: Literal[0, 3]) -> list[str]:
    """The first non-blank record of ``text`` (only as much of the text is parsed)."""
    try:
        for record in csv.reader(io.StringIO(text), delimiter=sep, quoting=quoting):
            if record and any(field.strip() for field in record):
                return record
    except csv.Error:
        pass  # pandas reports malformed files with their line numbers
    return ["", ""]


def _sniff_delimiter(text: str, quoting: Literal[0, 3], lines: int = 20) -> str | None:
    """A delimiter other than ',' that splits the first ``lines`` records into the same number
    (2 or more) of fields, or None."""
    sample = "\n".join(text.split("\n", lines)[:lines])
    for sep in _OTHER_DELIMITERS:
        try:
            reader = csv.reader(io.StringIO(sample), delimiter=sep, quoting=quoting)
            widths = {len(record) for record in reader if record}
        except csv.Error:
            continue
        if len(widths) == 1 and widths.pop() >= 2:
            return sep
    return None


def _record_lines(text: str, sep: str, quoting: Literal[0, 3]) -> list[int] | None:
    """The 1-based line on which each data record starts, or None if the csv module disagrees."""
    records = _data_records(text, sep, quoting)
    return None if records is None else [line for line, _ in records]


def _data_records(
    text: str, sep: str, quoting: Literal[0, 3]
) -> list[tuple[int, list[str]]] | None:
    """Each data record with the line it starts on (as pandas reads them: blank lines skipped,
    header dropped), or None if the csv module cannot parse the text."""
    records: list[tuple[int, list[str]]] = []
    end = 0
    try:
        reader = csv.reader(io.StringIO(text), delimiter=sep, quoting=quoting)
        for record in reader:
            start, end = end + 1, reader.line_num
            if record and not (len(record) == 1 and not record[0].strip()):  # pandas skips blanks
                records.append((start, record))
    except csv.Error:
        return None
    return records[1:]  # the first record is the header


def _read_utf8(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")  # accepts files with and without a BOM
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InvalidInputError(
            f"{path}: not valid UTF-8 (byte 0x{data[exc.start]:02x} on line {line}); "
            "re-save the file as UTF-8"
        ) from None


def _read_jsonl(path: Path, text: str) -> pd.DataFrame:
    records = []
    lines = []
    # split on "\n" only: str.splitlines() would also break on U+2028 inside a JSON string
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        lines.append(number)
        try:
            record = json.loads(line, object_pairs_hook=_unique_keys)
        except _DuplicateKeyError as exc:
            raise InvalidInputError(
                f"{path}: line {number} names the key {exc.key!r} twice; give each key once"
            ) from None
        except json.JSONDecodeError as exc:
            raise InvalidInputError(
                f"{path}: line {number} is not valid JSON ({exc.msg})"
            ) from None
        if not isinstance(record, dict):
            raise InvalidInputError(f"{path}: line {number} is not a JSON object")
        records.append(record)
    frame = pd.DataFrame.from_records(records)
    frame = frame.astype(object).where(frame.notna(), None)
    frame.attrs["lines"] = lines  # blank lines are skipped, so rows keep their true line numbers
    return frame


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``json.loads``'s object hook: a key given twice is an error (json keeps the last)."""
    record: dict[str, Any] = {}
    for key, value in pairs:
        if key in record:
            raise _DuplicateKeyError(key)
        record[key] = value
    return record


def _parser_message(exc: Exception, text: str, sep: str, quoting: Literal[0, 3]) -> str:
    message = str(exc).strip().splitlines()[-1]
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if found:
        expected, line, saw = found.groups()
        # pandas counts records, not lines: after a quoted line break its number is too small
        line = str(_first_long_record_line(text, sep, quoting, int(expected)) or line)
        return f"line {line} has {saw} fields, expected {expected} (ragged row)"
    return message


def _first_long_record_line(
    text: str, sep: str, quoting: Literal[0, 3], expected: int
) -> int | None:
    """The line on which the first record with more than ``expected`` fields starts."""
    for line, record in _data_records(text, sep, quoting) or []:
        if len(record) > expected:
            return line
    return None


def pick_column(
    frame: pd.DataFrame, wanted: str | None, candidates: tuple[str, ...], role: str, path: Path
) -> str:
    """The column to use for ``role`` ("text" or "label"): the configured one, or a unique guess."""
    columns = [str(c) for c in frame.columns]
    listed = ", ".join(columns[:20]) + (
        f", ... ({len(columns)} in all)" if len(columns) > 20 else ""
    )
    key = f"data.{role}_column"
    if wanted is not None:
        if wanted not in columns:
            raise InvalidConfigError(
                f"{path}: no column '{wanted}' ({key}); columns are: {listed}"
                f"{did_you_mean(wanted, columns)}"
            )
        return wanted
    lowered = {c.lower(): c for c in columns}
    found = [lowered[name] for name in candidates if name in lowered]
    if len(found) == 1:
        return found[0]
    if not found:
        raise InvalidInputError(
            f"{path}: cannot tell which column holds the {role}s; set {key} (columns are: {listed})"
        )
    raise InvalidInputError(
        f"{path}: several columns could hold the {role}s ({', '.join(found)}); set {key}"
    )


def load_table(
    path: Path,
    fmt: str,
    text_column: str | None,
    label_column: str | None,
    quoting: str = "minimal",
    require_labels: bool = True,
) -> Dataset:
    """Read a text table into a :class:`Dataset`. Rows are named by their line numbers."""
    frame = read_table(path, fmt, quoting)
    text_col = pick_column(frame, text_column, TEXT_COLUMN_NAMES, "text", path)
    label_col = pick_column(frame, label_column, LABEL_COLUMN_NAMES, "label", path)
    if text_col == label_col:
        raise InvalidInputError(f"{path}: text and label column are both '{text_col}'")
    first_line = 2 if fmt in ("csv", "tsv") else 1  # header line for CSV/TSV
    unit = "row" if fmt == "parquet" else "line"
    numbers = frame.attrs.get("lines") or [i + first_line for i in range(len(frame))]
    rows = [f"{unit} {n}" for n in numbers]
    for column in (text_col, label_col):
        _check_plain_values(path, frame[column], column, rows)
    texts = ["" if _missing(v) else str(v) for v in frame[text_col]]
    labels: list[str] = []
    bad: list[str] = []
    for row, value in zip(rows, frame[label_col], strict=True):
        label = "" if _missing(value) else _label_string(value)
        if not label:
            bad.append(row)
        labels.append(label)
    if bad and require_labels:
        shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise InvalidInputError(f"{path}: empty or NaN label in column '{label_col}' at {shown}")
    return Dataset(texts, labels, "text", str(path), rows)


def _check_plain_values(path: Path, values: Any, column: str, rows: list[str]) -> None:
    """Texts and labels are strings or numbers, not nested JSON objects/lists (JSONL, Parquet)."""
    for row, value in zip(rows, values, strict=True):
        if isinstance(value, dict | list | tuple | set | np.ndarray):
            kind = "an object" if isinstance(value, dict) else "a list"
            plain = value.tolist() if isinstance(value, np.ndarray) else value
            shown = json.dumps(plain, default=str, ensure_ascii=False)
            shown = shown if len(shown) <= 40 else shown[:37] + "..."
            raise InvalidInputError(
                f"{path}: {row}: column '{column}' holds {kind} ({shown}); expected a string "
                "or a number"
            )


def _missing(value: Any) -> bool:
    """A table cell that holds nothing (None, NaN, NA, NaT)."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _label_string(value: object) -> str:
    """Label as text; ``3.0`` read from a float column becomes ``"3"``."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    if text.lower() in ("nan", "none", "null"):
        return ""
    return text
