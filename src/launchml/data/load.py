"""From ``config.data`` to train / validation / test datasets, cleaned and checked.

Example::

    splits = load_splits(load_config("examples/shop/config.yaml").data)
    splits.labels        # class names in index order
    len(splits.train), len(splits.val or []), len(splits.test or [])
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from launchml.config import DataConfig
from launchml.data.clean import clean_dataset
from launchml.data.dataset import Dataset, sort_labels
from launchml.data.images import Role, load_idx, load_image_folder, load_npz
from launchml.data.pii import protect
from launchml.data.splits import stratified_split
from launchml.data.tables import load_table
from launchml.errors import InvalidConfigError, InvalidInputError, NotFoundError

_SUFFIX_FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".npz": "npz",
}


def detect_format(path: Path, configured: str = "auto") -> str:
    if configured != "auto":
        return configured
    if path.is_dir():
        return "folder"
    if "-ubyte" in path.name:
        return "idx"
    suffix = path.suffix.lower()
    if suffix in _SUFFIX_FORMATS:
        return _SUFFIX_FORMATS[suffix]
    raise InvalidInputError(
        f"{path}: cannot tell the format from the name; set data.format to one of "
        "csv, tsv, jsonl, parquet, npz, idx, folder"
    )


def load_dataset(path_text: str, config: DataConfig, role: Role = "train") -> Dataset:
    """Read one data source (a file or an image folder) as configured; no cleaning."""
    path = Path(path_text)
    if not path.exists():
        raise NotFoundError(f"{path}: file not found (data.{role})")
    fmt = detect_format(path, config.format)
    if fmt == "folder":
        if not path.is_dir():
            raise InvalidConfigError(f"{path}: data.format is 'folder' but this is not a directory")
        return load_image_folder(path, config.image.size, config.image.mode)
    if path.is_dir():
        raise InvalidInputError(f"{path}: is a directory; expected a {fmt} file")
    if path.stat().st_size == 0:
        raise InvalidInputError(f"{path}: the file is empty")
    if fmt == "npz":
        return load_npz(path, role)
    if fmt == "idx":
        return load_idx(path)
    return load_table(path, fmt, config.text_column, config.label_column, config.quoting)


@dataclass
class Splits:
    """The data of one run. ``labels`` are the class names in index order (from train)."""

    train: Dataset
    val: Dataset | None
    test: Dataset | None
    labels: list[str]
    notes: list[str] = field(default_factory=list)
    #: ``data.pii`` at work: ``{"train": {"rows": n, "kinds": {...}}, ...}`` (empty when off)
    pii: dict[str, Any] = field(default_factory=dict)


def load_splits(config: DataConfig) -> Splits:
    """Load, clean and split the data; given val/test files win over split fractions."""
    notes: list[str] = []
    pii: dict[str, Any] = {}  # role -> rows with personal data found (data.pii on)

    def load_clean(path: str, role: Role) -> Dataset:
        # Duplicates are dropped from training data only: a given val/test file is scored whole.
        options = (
            config.clean if role == "train" else config.clean.model_copy(update={"dedupe": False})
        )
        # personal data first: cleaning could strip what an address or a number is found by
        raw, pii_notes, found = protect(load_dataset(path, config, role), config.pii, role)
        if found is not None:
            pii[role] = found.to_json()
        data, dropped = clean_dataset(raw, options)
        notes.extend(pii_notes + dropped)
        if len(data) == 0:
            raise InvalidInputError(f"{path}: no usable rows left after cleaning (data.{role})")
        return data

    train = load_clean(config.train, "train")
    notes.extend(check_labels(train))
    test = load_clean(config.test, "test") if config.test else None
    val = load_clean(config.val, "val") if config.val else None
    for role, given in (("val", val), ("test", test)):
        if given is not None and given.kind != train.kind:
            raise InvalidInputError(
                f"{given.source}: holds {given.kind}s, but the training data ({config.train}) "
                f"are {train.kind}s; data.{role} must be {train.kind} data too"
            )
    if test is None and config.split.test > 0:
        train, test = stratified_split(train, config.split.test, config.split.seed)
    if val is None and config.split.val > 0:
        train, val = stratified_split(train, config.split.val, config.split.seed + 1)

    labels = sort_labels(train.labels)
    if len(labels) < 2:
        raise InvalidInputError(
            f"{config.train}: only one class ('{labels[0]}'); a classifier needs at least two"
        )
    if train.kind == "image":
        _check_same_image_shape(train, [d for d in (val, test) if d is not None])
    for name, data in (("validation", val), ("test", test)):
        if data is not None:
            notes.extend(unseen_label_notes(data, labels, name))
    return Splits(train, val, test, labels, notes, pii)


#: at least this many rows, each with its own label, are ids rather than classes (an error)
UNIQUE_LABEL_ROWS = 10


def check_labels(data: Dataset) -> list[str]:
    """Refuse labels that are not classes; return warnings about doubtful ones.

    A column of distinct decimal numbers is a regression target, and a label per row (from
    :data:`UNIQUE_LABEL_ROWS` rows on) is an id column: both are errors, since a classifier
    cannot learn either. More classes than half the rows is a warning.
    """
    error, warning = label_problems(data.labels)
    if error:
        raise InvalidInputError(f"{data.source}: {error}")
    return [f"{data.source}: {warning}"] if warning else []


def label_problems(labels: list[str]) -> tuple[str | None, str | None]:
    """``(error, warning)`` about a training set's labels (each None when there is none)."""
    rows, classes = len(labels), set(labels)
    numbers = _as_numbers(classes)
    if numbers is not None and any(not n.is_integer() for n in numbers) and len(classes) > rows / 2:
        examples = ", ".join(sorted(classes, key=float)[:3])
        return (
            f"the labels look like a regression target ({len(classes)} distinct numbers in "
            f"{rows} rows, e.g. {examples}); launchml trains classifiers: bin the numbers into "
            "classes, or set data.label_column to a column of class names",
            None,
        )
    if len(classes) == rows and rows >= UNIQUE_LABEL_ROWS:
        return (
            f"every one of the {rows} rows has its own label, so the label column looks like "
            "unique ids rather than classes; set data.label_column to the column of classes",
            None,
        )
    if len(classes) > rows / 2 and len(classes) > 2:
        return None, (
            f"{len(classes)} classes for {rows} rows: most classes have a single example, too "
            "few to learn or to validate; is data.label_column the column of classes?"
        )
    return None, None


def _as_numbers(values: set[str]) -> list[float] | None:
    """The labels as numbers, or None when one of them is not a (finite) number."""
    numbers = []
    for value in values:
        try:
            number = float(value)
        except ValueError:
            return None
        if number != number or number in (float("inf"), float("-inf")):
            return None
        numbers.append(number)
    return numbers


def unseen_label_notes(data: Dataset, labels: list[str], name: str) -> list[str]:
    known = set(labels)
    unseen = sorted({label for label in data.labels if label not in known})
    if not unseen:
        return []
    count = sum(label not in known for label in data.labels)
    shown = ", ".join(f"'{u}'" for u in unseen[:5]) + (" ..." if len(unseen) > 5 else "")
    return [
        f"{data.source}: {count} {name} row(s) have labels never seen in training ({shown}); "
        "they count as errors"
    ]


def _check_same_image_shape(train: Dataset, others: list[Dataset]) -> None:
    shape = train.inputs.shape[1:]  # type: ignore[union-attr]
    for other in others:
        if other.inputs.shape[1:] != shape:  # type: ignore[union-attr]
            raise InvalidInputError(
                f"{other.source}: images are {other.inputs.shape[1:]} (H, W, C) but training "  # type: ignore[union-attr]
                f"images are {shape}; set data.image.size to resize both"
            )


def fingerprint(paths: list[str | None]) -> str:
    """sha256 over the bytes of the given files (folders: every file, in sorted order)."""
    digest = hashlib.sha256()
    for text in paths:
        if text is None:
            continue
        path = Path(text)
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            digest.update(str(file.relative_to(path) if path.is_dir() else file.name).encode())
            with file.open("rb") as handle:
                for block in iter(functools.partial(handle.read, 1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()
