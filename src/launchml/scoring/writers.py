"""Writing scored rows as they come: CSV or Parquet (by the output's extension), into a
temporary file beside the output that is renamed into place only when every row is written.

Columns: ``row`` (the input's data row, from 1; the line for a text file), the scored column
(as it was named in the input; ``text`` for a text file), the ``--keep`` columns, then
``prediction`` and ``probability`` (the top label), ``prediction_2``, ``probability_2``, ... up
to ``--top``. A row without a text has an empty prediction and empty probabilities.

Example::

    with open_writer(Path("scores.parquet"), columns) as writer:
        writer.write(table)          # {column: list of values}, one chunk
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

from launchml.errors import ConflictError, InvalidInputError
from launchml.outputs import check_output_file

OUTPUT_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def prediction_columns(top: int) -> list[str]:
    """``prediction, probability, prediction_2, probability_2, ...`` for ``top`` labels."""
    names = ["prediction", "probability"]
    for k in range(2, top + 1):
        names += [f"prediction_{k}", f"probability_{k}"]
    return names


def check_output(path: Path, columns: list[str]) -> str:
    """The output's format; a clear error for an unknown extension, a missing directory, an
    output that exists already (never overwritten) or a kept column whose name the predictions
    use."""
    fmt = OUTPUT_SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise InvalidInputError(
            f"{path}: --output must end in .csv or .parquet (the format is taken from the name)"
        )
    check_output_file(path, "--output")  # a writable directory, not a directory itself
    if path.exists():
        raise ConflictError(f"{path}: already exists; choose another --output or remove it")
    seen = set()
    for name in columns:
        if name in seen:
            raise InvalidInputError(
                f"--output {path}: two columns would be called '{name}'; the predictions use "
                "row, prediction and probability(_k): drop that --keep column"
            )
        seen.add(name)
    return fmt


class Writer:
    """Appends chunks to ``OUT.partial``; :meth:`commit` renames it to ``OUT``, :meth:`abort`
    removes it. A context manager: leaving with an exception aborts."""

    def __init__(self, path: Path, columns: list[str]) -> None:
        self.path = path
        self.columns = columns
        self.format = check_output(path, columns)
        self.tmp = path.with_name(f"{path.name}.partial")
        self._parquet: Any = None
        self._csv_handle: Any = None
        self._csv: Any = None
        self.rows = 0

    def __enter__(self) -> Writer:
        if self.format == "csv":
            self._csv_handle = self.tmp.open("w", newline="", encoding="utf-8")
            self._csv = csv.writer(self._csv_handle)
            self._csv.writerow(self.columns)
        return self

    def write(self, table: dict[str, list[Any]]) -> None:
        """One chunk: ``{column: values}`` with every column of ``columns``."""
        if self.format == "csv":
            self._csv.writerows(zip(*(table[c] for c in self.columns), strict=True))
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            batch = pa.Table.from_pydict({c: table[c] for c in self.columns}, schema=self._schema)
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.tmp, batch.schema)
            self._parquet.write_table(batch)
        self.rows += len(table[self.columns[0]])

    @property
    def _schema(self) -> Any:
        import pyarrow as pa

        def kind(name: str) -> Any:
            if name == "row":
                return pa.int64()
            return pa.float64() if name.startswith("probability") else pa.string()

        return pa.schema([(name, kind(name)) for name in self.columns])

    def commit(self) -> None:
        self._close()
        if self.format == "parquet" and self._parquet is None:  # no rows: an empty file
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.Table.from_pylist([], schema=self._schema), self.tmp)
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        self._close()
        self.tmp.unlink(missing_ok=True)

    def _close(self) -> None:
        if self._csv_handle is not None:
            self._csv_handle.close()
            self._csv_handle = None
        if self._parquet is not None:
            self._parquet.close()

    def __exit__(self, kind: Any, exc: Any, traceback: Any) -> None:
        if kind is None:
            self.commit()
        else:
            self.abort()


__all__ = ["OUTPUT_SUFFIXES", "Writer", "check_output", "prediction_columns"]
