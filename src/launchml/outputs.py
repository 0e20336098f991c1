"""Can an output be written where the user asked? Checked once, before any work starts.

``train --out``, ``evaluate --out``, ``report --out`` and ``compare --html`` all name a place to
write; a typo there should cost a second, not a training run. Missing parent directories of an
output directory are created later; what cannot work (a parent that is a file, a directory
without write permission) is an error naming the option and the path.

Example::

    check_output_dir(Path("runs/shop"), "--out")          # None, or InvalidInputError
    check_output_file(Path("out/report.html"), "--out")
"""

from __future__ import annotations

import os
from pathlib import Path

from launchml.errors import InvalidInputError, NotFoundError


def check_output_dir(path: Path, option: str) -> None:
    """``path`` is a directory already, or one that can be created (with its parents)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InvalidInputError(f"{path}: exists and is not a directory ({option})")
    _check_creatable(path if path.is_dir() else _nearest_existing(path), path, option)


def check_output_file(path: Path, option: str) -> None:
    """``path`` can be written as a file: its directory exists and is writable."""
    path = Path(path)
    if path.is_dir():
        raise InvalidInputError(f"{path}: is a directory; give a file name ({option})")
    parent = path.parent
    if not parent.exists():
        ancestor = _nearest_existing(parent)
        if not ancestor.is_dir():
            raise InvalidInputError(
                f"{path}: cannot be written ({option}): {ancestor} is a file, not a directory"
            )
        raise NotFoundError(f"{parent}: directory not found ({option})")
    _check_creatable(parent, path, option)


def _nearest_existing(path: Path) -> Path:
    """``path`` or its closest ancestor that exists (a file or a directory)."""
    current = Path(os.path.abspath(path))
    while not current.exists() and current != current.parent:
        current = current.parent
    return current


def _check_creatable(ancestor: Path, target: Path, option: str) -> None:
    if not ancestor.is_dir():
        raise InvalidInputError(
            f"{target}: cannot be created ({option}): {ancestor} is a file, not a directory"
        )
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise InvalidInputError(
            f"{target}: cannot be created ({option}): no permission to write in {ancestor}"
        )


__all__ = ["check_output_dir", "check_output_file"]
