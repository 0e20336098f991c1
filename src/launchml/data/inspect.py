"""The validation report behind ``launchml data inspect``: what is in the data, and what is wrong.

``problems`` would stop training (empty labels, a single class, unreadable images ...);
``warnings`` deserve a look (duplicates, leakage between splits, rare classes, unseen labels).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from launchml.config import DataConfig
from launchml.data.dataset import sort_labels
from launchml.data.images import IMAGE_SUFFIXES, WIDE_GRAYSCALE_MODES, to_8bit
from launchml.data.load import detect_format, label_problems, load_dataset
from launchml.data.pii import count_pii
from launchml.data.tables import load_table
from launchml.errors import NotFoundError
from launchml.pii import Redactor

RARE_CLASS = 5  # fewer examples than this in training is flagged


def inspect_data(config: DataConfig) -> dict[str, Any]:
    """Build the report for the sources named in ``config`` (train, and val/test when given)."""
    report: dict[str, Any] = {"sources": {}, "problems": [], "warnings": []}
    keys: dict[str, set[str]] = {}
    labels: dict[str, list[str]] = {}
    for role in ("train", "val", "test"):
        path = getattr(config, role)
        if path is None:
            continue
        summary, row_keys, row_labels = _inspect_source(Path(path), config, role, report)
        report["sources"][role] = summary
        keys[role] = row_keys
        labels[role] = row_labels

    train_labels = set(labels.get("train", []))
    counts = Counter(labels.get("train", []))
    if train_labels:
        error, warning = label_problems(labels["train"])
        report["problems"].extend([f"{config.train}: {error}"] if error else [])
        report["warnings"].extend([f"{config.train}: {warning}"] if warning else [])
        if len(train_labels) < 2:
            report["problems"].append(f"{config.train}: only one class; at least two are needed")
        rare = sorted(label for label, n in counts.items() if n < RARE_CLASS)
        if rare:
            report["warnings"].append(
                f"{config.train}: {len(rare)} class(es) have fewer than {RARE_CLASS} examples: "
                + ", ".join(f"'{r}' ({counts[r]})" for r in rare[:10])
            )
    for role in ("val", "test"):
        if role not in labels or not train_labels:
            continue
        unseen = sorted(set(labels[role]) - train_labels)
        report["sources"][role]["unseen_labels"] = unseen
        if unseen:
            report["warnings"].append(
                f"{getattr(config, role)}: labels never seen in training: "
                + ", ".join(f"'{u}'" for u in unseen[:10])
            )
        shared = keys.get("train", set()) & keys[role]
        report["sources"][role]["shared_with_train"] = len(shared)
        if shared:
            report["warnings"].append(
                f"{getattr(config, role)}: {len(shared)} example(s) also appear in training "
                "(leakage: scores on this split will be too optimistic)"
            )
    return report


def _inspect_source(
    path: Path, config: DataConfig, role: str, report: dict[str, Any]
) -> tuple[dict[str, Any], set[str], list[str]]:
    if not path.exists():
        raise NotFoundError(f"{path}: file not found (data.{role})")
    fmt = detect_format(path, config.format)
    if fmt == "folder":
        return _inspect_folder(path, report)
    if fmt in ("npz", "idx"):
        data = load_dataset(str(path), config, role)  # type: ignore[arg-type]
        images = data.inputs
        assert isinstance(images, np.ndarray)
        keys = [hashlib.sha1(image.tobytes()).hexdigest() for image in images]
        flat = np.flatnonzero(images.min(axis=(1, 2, 3)) == images.max(axis=(1, 2, 3)))
        first = f"index {flat[0]}" if len(flat) else ""
        report["warnings"].extend(_flat_warning(path, len(flat), first))
        summary = _class_summary(data.labels) | {
            "kind": "image",
            "format": fmt,
            "image_shape": list(images.shape[1:]),
            "duplicate_rows": len(keys) - len(set(keys)),
        }
        return summary, set(keys), data.labels
    data = load_table(path, fmt, config.text_column, config.label_column, config.quoting, False)
    texts = data.inputs
    assert isinstance(texts, list)
    empty_labels = [row for row, label in zip(data.rows, data.labels, strict=True) if not label]
    if empty_labels:
        report["problems"].append(
            f"{path}: {len(empty_labels)} row(s) with an empty or NaN label, first at "
            f"{empty_labels[0]}"
        )
    normalised = [" ".join(t.lower().split()) for t in texts]
    empty_text = sum(not t for t in normalised)
    pairs = Counter(zip(normalised, data.labels, strict=True))
    by_text: dict[str, set[str]] = {}
    for text, label in zip(normalised, data.labels, strict=True):
        by_text.setdefault(text, set()).add(label)
    conflicting = sum(1 for t, ls in by_text.items() if t and len(ls) > 1)
    duplicates = sum(n - 1 for n in pairs.values() if n > 1)
    if empty_text:
        report["warnings"].append(f"{path}: {empty_text} row(s) with empty text (dropped)")
    if duplicates:
        report["warnings"].append(f"{path}: {duplicates} duplicate row(s)")
    if conflicting:
        report["warnings"].append(
            f"{path}: {conflicting} text(s) appear with different labels (label noise)"
        )
    pii = count_pii(texts, Redactor(config.pii))
    if pii.rows:
        action = {
            "off": "set data.pii: redact (or drop) to keep it out of the model",
            "redact": "data.pii: redact replaces it before training",
            "drop": "data.pii: drop leaves these rows out of training"
            if role == "train"
            else "data.pii: drop redacts it in this file",
        }[config.pii.mode]
        report["warnings"].append(f"{path}: {pii.describe()} contain personal data; {action}")
    chars = np.array([len(t) for t in texts if t.strip()] or [0])
    words = np.array([len(t.split()) for t in texts if t.strip()] or [0])
    summary = _class_summary([label for label in data.labels if label]) | {
        "kind": "text",
        "format": fmt,
        "empty_rows": empty_text,
        "duplicate_rows": duplicates,
        "conflicting_texts": conflicting,
        "pii": pii.to_json(),
        "length_chars": _percentiles(chars),
        "length_words": _percentiles(words),
    }
    return summary, {t for t in normalised if t}, [label for label in data.labels if label]


def _inspect_folder(
    root: Path, report: dict[str, Any]
) -> tuple[dict[str, Any], set[str], list[str]]:
    labels: list[str] = []
    keys: set[str] = set()
    sizes: Counter[str] = Counter()
    modes: Counter[str] = Counter()
    duplicates = 0
    flat: list[Path] = []
    for class_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for path in sorted(p for p in class_dir.rglob("*") if p.is_file()):
            if path.name.startswith("."):
                continue
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                report["problems"].append(f"{path}: not an image file")
                continue
            try:
                with Image.open(path) as image:
                    image.load()  # decodes every pixel: a stronger check than verify()
                    sizes[f"{image.size[0]}x{image.size[1]}"] += 1
                    modes[image.mode] += 1
                    pixels = np.asarray(to_8bit(image))
            except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
                report["problems"].append(f"{path}: corrupt or unreadable image")
                continue
            if pixels.size and pixels.min() == pixels.max():
                flat.append(path)
            digest = hashlib.sha1(path.read_bytes()).hexdigest()
            duplicates += digest in keys
            keys.add(digest)
            labels.append(class_dir.name)
    if len(sizes) > 1:
        report["warnings"].append(
            f"{root}: images have {len(sizes)} different sizes; set data.image.size to resize"
        )
    if duplicates:
        report["warnings"].append(f"{root}: {duplicates} duplicate image file(s)")
    wide = sum(n for mode, n in modes.items() if mode in WIDE_GRAYSCALE_MODES)
    if wide:
        report["warnings"].append(
            f"{root}: {wide} image(s) are 16-bit grayscale; they are scaled to 8 bits "
            "(value / 257) for training and prediction"
        )
    report["warnings"].extend(_flat_warning(root, len(flat), str(flat[0]) if flat else ""))
    summary = _class_summary(labels) | {
        "kind": "image",
        "format": "folder",
        "image_sizes": dict(sizes.most_common()),
        "image_modes": dict(modes.most_common()),
        "duplicate_rows": duplicates,
    }
    return summary, keys, labels


def _flat_warning(source: Path, count: int, first: str) -> list[str]:
    """Images whose pixels all have one value: blank, or decoded wrongly (e.g. clipped)."""
    if not count:
        return []
    return [
        f"{source}: {count} image(s) are one flat colour (every pixel the same value), first "
        f"{first}; check that they are not blank or wrongly exported"
    ]


def _class_summary(labels: list[str]) -> dict[str, Any]:
    counts = Counter(labels)
    return {
        "rows": len(labels),
        "classes": len(counts),
        "per_class": {label: counts[label] for label in sort_labels(list(counts))}
        if counts
        else {},
    }


def _percentiles(values: np.ndarray) -> dict[str, float]:
    p5, p50, p95 = np.percentile(values, [5, 50, 95])
    return {"p5": float(p5), "p50": float(p50), "p95": float(p95), "max": float(values.max())}


def format_report(report: dict[str, Any]) -> str:
    """The report as plain text for a terminal."""
    lines: list[str] = []
    for role, s in report["sources"].items():
        lines.append(
            f"[{role}] {s['rows']} {'images' if s['kind'] == 'image' else 'rows'}, "
            f"{s['classes']} classes ({s['format']})"
        )
        per_class = s["per_class"]
        if per_class:
            smallest = min(per_class.values())
            largest = max(per_class.values())
            lines.append(f"  per class: min {smallest}, max {largest}")
            for label, n in list(per_class.items())[:30]:
                lines.append(f"    {label:<30} {n}")
            if len(per_class) > 30:
                lines.append(f"    ... and {len(per_class) - 30} more classes")
        if "length_words" in s:
            w = s["length_words"]
            lines.append(
                f"  words per text: p5 {w['p5']:.0f}, median {w['p50']:.0f}, "
                f"p95 {w['p95']:.0f}, max {w['max']:.0f}"
            )
            lines.append(f"  empty rows: {s['empty_rows']}, duplicate rows: {s['duplicate_rows']}")
            found = s["pii"]
            kinds = ", ".join(f"{kind} {n}" for kind, n in found["kinds"].items())
            lines.append(
                f"  rows with personal data: {found['rows']}" + (f" ({kinds})" if kinds else "")
            )
        if "image_sizes" in s:
            lines.append(f"  sizes: {s['image_sizes']}  modes: {s['image_modes']}")
        if "image_shape" in s:
            lines.append(f"  image shape (H, W, C): {tuple(s['image_shape'])}")
        if "shared_with_train" in s:
            lines.append(
                f"  shared with train: {s['shared_with_train']}, "
                f"unseen labels: {len(s['unseen_labels'])}"
            )
    for problem in report["problems"]:
        lines.append(f"problem: {problem}")
    for warning in report["warnings"]:
        lines.append(f"warning: {warning}")
    if not report["problems"] and not report["warnings"]:
        lines.append("no problems found")
    return "\n".join(lines)
