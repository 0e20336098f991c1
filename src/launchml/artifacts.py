"""Reading the files of a saved artifact (a run, a model's own files), or saying which is wrong.

Each helper either returns what it read or raises :class:`DamagedArtifactError` with one line
that names the file, what is wrong with it, and what to do. They read as little as they can
(a safetensors header, a zip's table of contents), so checking a run stays cheap; the sha256
manifest (:mod:`launchml.manifest`) is what tells an edited file from the one training wrote.

Example::

    spec = read_json(run / "model.json", dict)
    shapes = safetensors_shapes(run / "weights.safetensors")   # {"out.weight": [3, 128], ...}
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import yaml

from launchml.config import Config, validate_config
from launchml.errors import DamagedArtifactError, LaunchMLError
from launchml.manifest import MANIFEST, read_manifest, verify_manifest

#: what to do about a damaged run, said at the end of every message
FIX = "copy the whole run directory again, or retrain"


def damaged(path: Path, problem: str) -> DamagedArtifactError:
    """``"<path>: <problem>; copy the whole run directory again, or retrain"``."""
    return DamagedArtifactError(f"{path}: {problem}; {FIX}")


def require_file(path: Path) -> Path:
    """``path`` when it is a file; else a damaged-artifact error naming it."""
    if path.is_dir():
        raise damaged(path, "is a directory, expected a file")
    if not path.is_file():
        raise damaged(path, "missing")
    return path


def require_dir(path: Path) -> Path:
    if not path.is_dir():
        raise damaged(path, "missing (a directory)" if not path.exists() else "not a directory")
    return path


def read_json(path: Path, expected: type = dict) -> Any:
    """The JSON value in ``path``, which must be an instance of ``expected`` (dict or list)."""
    try:
        value = json.loads(require_file(path).read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise damaged(path, "not UTF-8 text (not JSON)") from None
    except json.JSONDecodeError as exc:
        raise damaged(path, f"not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(value, expected):
        what = "object" if expected is dict else "list"
        raise damaged(path, f"expected a JSON {what}, got {type(value).__name__}")
    return value


def safetensors_shapes(path: Path) -> dict[str, list[int]]:
    """Tensor name -> shape from a safetensors file's header (checks that the file is whole)."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(require_file(path)), framework="np") as handle:
            return {key: list(handle.get_slice(key).get_shape()) for key in handle.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise damaged(
            path, f"not a readable safetensors file, truncated or damaged ({first})"
        ) from None


def check_zip(path: Path, what: str) -> list[str]:
    """The member names of a zip archive (skops files are zips): checks its table of contents."""
    try:
        with zipfile.ZipFile(require_file(path)) as archive:
            return archive.namelist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise damaged(path, f"not a readable {what}, truncated or damaged ({exc})") from None


def check_tokenizer_dir(directory: Path) -> None:
    """A saved Hugging Face tokenizer: ``tokenizer.json`` (parseable) or ``vocab.txt``."""
    require_dir(directory)
    if (directory / "tokenizer.json").is_file():
        read_json(directory / "tokenizer.json", dict)
    elif not (directory / "vocab.txt").is_file():
        raise damaged(directory, "holds neither tokenizer.json nor vocab.txt")


def check_hf_dir(directory: Path) -> dict[str, Any]:
    """A saved Hugging Face model directory: ``config.json``, readable weights, a tokenizer.

    Returns the parsed ``config.json``.
    """
    config = read_json(require_dir(directory) / "config.json", dict)
    safetensors_shapes(directory / "model.safetensors")
    check_tokenizer_dir(directory)
    return config


# --------------------------------------------------------------------------------------------
# The files every run has.


def check_manifest(path: Path, digests: bool) -> None:
    """Every file ``manifest.json`` lists is there (and, with ``digests``, unchanged)."""
    if not (path / MANIFEST).exists():
        return  # a run from before manifests: the other checks still apply
    manifest = read_manifest(path)
    if manifest is None:
        raise damaged(path / MANIFEST, "not a launchml manifest (JSON with a 'files' object)")
    if digests:
        problems = verify_manifest(path, manifest)
    else:
        problems = [f"missing: {name}" for name in manifest["files"] if not (path / name).is_file()]
    if not problems:
        return
    kind, _, name = problems[0].partition(": ")
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    if kind == "missing":
        raise damaged(path / name, f"missing, though manifest.json lists it{more}")
    raise damaged(
        path / name,
        f"modified after training (its sha256 differs from manifest.json's){more}",
    )


def read_run_config(path: Path) -> Config:
    try:
        raw = yaml.safe_load(require_file(path).read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise damaged(path, f"not valid YAML ({first})") from None
    if not isinstance(raw, dict):
        raise damaged(path, "not a launchml config (expected a mapping of keys)")
    try:
        return validate_config(raw, str(path), resolved=True)
    except LaunchMLError as exc:
        raise DamagedArtifactError(f"{exc}; {FIX}") from None


def read_labels(path: Path) -> list[str]:
    """``labels.json`` (``{"0": "first label", "1": ...}``) as a list in class-index order."""
    mapping = read_json(path, dict)
    expected = [str(i) for i in range(len(mapping))]
    if sorted(mapping, key=lambda k: (len(k), k)) != expected:
        raise damaged(path, f"keys must be the class indices 0..{len(mapping) - 1}")
    labels = [mapping[key] for key in expected]
    if not all(isinstance(label, str) and label for label in labels):
        raise damaged(path, "every label must be a non-empty string")
    if len(set(labels)) != len(labels) or len(labels) < 2:
        raise damaged(path, "expected at least two labels, each named once")
    return labels


def saved_model_type(path: Path) -> tuple[str | None, str]:
    """The model type the files in ``path`` were saved by, and the file that says so."""
    if (path / "ensemble.json").is_file():
        return "ensemble", "ensemble.json"
    if (path / "model.json").is_file():
        spec = read_json(path / "model.json", dict)
        return (str(spec["type"]) if "type" in spec else None), "model.json"
    if (path / "model.skops").is_file():
        return "tfidf_logreg", "model.skops"
    return None, ""


__all__ = [
    "FIX",
    "check_hf_dir",
    "check_manifest",
    "check_tokenizer_dir",
    "check_zip",
    "damaged",
    "read_json",
    "read_labels",
    "read_run_config",
    "require_dir",
    "require_file",
    "safetensors_shapes",
    "saved_model_type",
]
