"""``manifest.json``: the sha256 of every file of a finished artifact (a run, an exported bundle).

Written last, when the artifact is complete, so that a reader can tell a file that is missing,
truncated or edited after the fact from one that is as it was made.

Example::

    write_manifest(run_dir, {"kind": "run"})      # run_dir/manifest.json
    problems = verify_manifest(run_dir)           # [] when every file is as written
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
_BLOCK = 1 << 20


def sha256_file(path: Path) -> str:
    """``"sha256:<hex>"`` of a file's bytes, read in blocks (files may be large)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()


def file_digests(directory: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """``{posix relative path: "sha256:..."}`` for every file under ``directory``, sorted.

    ``manifest.json`` itself and the top-level names in ``skip`` (e.g. a report written later)
    are left out.
    """
    directory = Path(directory)
    left_out = {MANIFEST, *skip}
    digests = {}
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory)
        if path.is_file() and relative.parts[0] not in left_out:
            digests[relative.as_posix()] = sha256_file(path)
    return digests


def write_manifest(
    directory: Path, extra: dict[str, Any] | None = None, skip: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Write ``directory/manifest.json`` (``{"files": {...}, **extra}``) atomically; return it."""
    directory = Path(directory)
    manifest = {**(extra or {}), "files": file_digests(directory, skip)}
    tmp = directory / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, directory / MANIFEST)
    return manifest


def read_manifest(directory: Path) -> dict[str, Any] | None:
    """The manifest of ``directory``, or None when it has none (or it is not a JSON object)."""
    path = Path(directory) / MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("files"), dict) else None


def verify_manifest(directory: Path, manifest: dict[str, Any] | None = None) -> list[str]:
    """What differs from the manifest: ``["missing: labels.json", "modified: model.skops"]``.

    Files added after the manifest was written are not problems (a report, an evaluation).
    Returns ``[]`` when there is no manifest to check against.
    """
    directory = Path(directory)
    manifest = manifest if manifest is not None else read_manifest(directory)
    if manifest is None:
        return []
    problems = []
    for name, digest in manifest["files"].items():
        path = directory / name
        if not path.is_file():
            problems.append(f"missing: {name}")
        elif sha256_file(path) != digest:
            problems.append(f"modified: {name}")
    return problems


__all__ = [
    "MANIFEST",
    "file_digests",
    "read_manifest",
    "sha256_file",
    "verify_manifest",
    "write_manifest",
]
