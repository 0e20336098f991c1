"""The run artifact: one self-describing directory per training run.

Layout::

    RUN/
      config.yaml    the resolved config
      labels.json    class index -> the user's label string
      model files    safetensors (tensors) or skops (scikit-learn objects), never pickle
      metrics.json   {"val": {...}, "test": {...}}
      history.csv    one row per epoch
      meta.json      launchml version, data fingerprint, seed, timings, package versions

A run is assembled in ``RUN.partial/`` and renamed to ``RUN`` only when complete, so a crash
never leaves a directory that looks like a finished run. ``meta.json`` is written last.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np

from launchml.artifacts import (
    FIX,
    check_manifest,
    damaged,
    read_json,
    read_labels,
    read_run_config,
    require_file,
    saved_model_type,
)
from launchml.config import Config
from launchml.errors import DamagedArtifactError, InvalidInputError, LaunchMLError, NotFoundError
from launchml.inference.inputs import prepare
from launchml.inference.predictor import Predictions
from launchml.manifest import MANIFEST, write_manifest
from launchml.models import Model, get_model_class

PARTIAL_SUFFIX = ".partial"
#: in RUN.partial/: what resuming must match (the data fingerprint), written when training starts
RESUME_FILE = "resume.json"


def partial_dir(final: Path) -> Path:
    return final.with_name(final.name + PARTIAL_SUFFIX)


def default_run_dir(model_type: str, root: Path = Path("runs")) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    candidate = root / f"{stamp}-{model_type}"
    n = 1
    while candidate.exists() or partial_dir(candidate).exists():
        n += 1
        candidate = root / f"{stamp}-{model_type}-{n}"
    return candidate


def write_text_atomic(path: Path, text: str) -> None:
    """Write a text file through a temporary file and a rename: never half-written."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_json(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def write_history(path: Path, history: list[dict[str, Any]]) -> None:
    columns: list[str] = []
    for row in history:
        columns.extend(k for k in row if k not in columns)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns or ["epoch"])
        writer.writeheader()
        writer.writerows(history)


def finish_run(partial: Path, final: Path) -> None:
    """Make a complete run visible under its final name (an atomic rename on one filesystem).

    The scratch state of training (``work/``, ``resume.json``) is removed first, then
    ``manifest.json`` (the sha256 of every file) is written last, then the directory is renamed.
    """
    work = partial / "work"
    if work.exists():
        shutil.rmtree(work)
    (partial / RESUME_FILE).unlink(missing_ok=True)
    write_manifest(partial, {"kind": "run"})
    os.rename(partial, final)


class Run(Predictions):
    """A finished run loaded from disk: its config, labels, metrics and fitted model.

    Example::

        run = Run.load("runs/shop")
        run.predict("where is my parcel?")         # -> "order_status"
        run.predict(["refund please", "hi"])       # -> ["refund_request", ...]
        run.predict_proba("refund please")         # -> array of len(run.labels)
    """

    def __init__(
        self,
        path: Path,
        config: Config,
        labels: list[str],
        model: Model,
        metrics: dict[str, Any],
        meta: dict[str, Any],
    ) -> None:
        self.path = path
        self.config = config
        self.labels = labels
        self.model = model
        self.metrics = metrics
        self.meta = meta
        self._redactor: Any = None  # data.pii: redact, made on first use

    @property
    def name(self) -> str:
        """The run directory's name (how a server names the model by default)."""
        return self.path.name

    @property
    def kind(self) -> Literal["text", "image"]:
        return "image" if self.meta.get("data_kind") == "image" else "text"

    @property
    def input_shape(self) -> tuple[int, int, int] | None:
        """``(H, W, C)`` of the images an image model takes; None for text models."""
        shape = self.meta.get("input_shape")
        return (int(shape[0]), int(shape[1]), int(shape[2])) if shape else None

    def describe(self) -> dict[str, Any]:
        """JSON-able facts about the model (see :class:`launchml.inference.Predictor`)."""
        from launchml.manifest import MANIFEST, sha256_file

        manifest = self.path / MANIFEST
        return {
            "name": self.name,
            "type": self.config.model.type,
            "kind": self.kind,
            "labels": list(self.labels),
            "format": "run",
            "metrics": {
                split: {k: m.get(k) for k in ("n", "accuracy", "macro_f1", "ece")}
                for split, m in self.metrics.items()
                if isinstance(m, dict)
            },
            "sha256": sha256_file(manifest) if manifest.is_file() else None,
        }

    @classmethod
    def load(cls, path: str | Path, device: str | None = None) -> Run:
        """Load a finished run, after :func:`check_run_dir` found it whole and unaltered;
        ``device`` (auto, cpu, cuda, cuda:N) overrides where it predicts (default:
        ``inference.device``, else the run's ``train.device``, the CPU when that is absent)."""
        path = Path(path)
        config, labels, metrics, meta = _checked_run(path, digests=True)
        if device is not None:
            from launchml.devices import resolve_device

            resolve_device(device, "device")  # a clear error for a name or GPU that is not there
            config.inference.device = device
        try:
            model = get_model_class(config.model.type).load(path, config, labels)
        except DamagedArtifactError:
            raise
        except LaunchMLError as exc:  # e.g. a saved tokenizer that no longer loads
            raise DamagedArtifactError(f"{path}: {exc}; {FIX}") from None
        except _LOAD_ERRORS as exc:
            said = " ".join(str(exc).split())  # torch's messages span several lines
            said = said if len(said) <= 300 else said[:300] + "..."
            raise damaged(
                path, f"the model files cannot be loaded ({type(exc).__name__}: {said})"
            ) from None
        return cls(path, config, labels, model, metrics, meta)

    # -- prediction: one input in -> one answer out; a list/batch in -> a list/batch out --------

    def _prepare(self, inputs: Any) -> tuple[list[str] | np.ndarray, bool]:
        if self.kind == "text" and self.config.data.pii.mode == "redact":
            inputs = self._redact(inputs)  # as the training texts were
        return prepare(inputs, self.kind, self.config.data.clean, self.input_shape)

    def _redact(self, inputs: Any) -> Any:
        from launchml.pii import Redactor

        if self._redactor is None:
            self._redactor = Redactor(self.config.data.pii)
        if isinstance(inputs, str):
            return self._redactor.redact(inputs)
        return [self._redactor.redact(str(text)) for text in inputs]

    def _proba(self, inputs: Any) -> tuple[np.ndarray, bool]:
        prepared, single = self._prepare(inputs)
        return self.model.predict_proba(prepared), single

    def explain(self, inputs: Any, *, target: str | None = None, steps: int | None = None) -> Any:
        """Why the model decided: token attributions (texts) or a heat map (images) for one
        input, or a list of them for many (see :mod:`launchml.explain`).

        ``target`` explains another label than the predicted one; ``steps`` fixes the number of
        Integrated Gradients steps (default: as many as the completeness check needs)."""
        from launchml.explain import explain

        return explain(self, inputs, target=target, steps=steps)

    def encoder(self, member: int = 0) -> Any:
        """The sentence encoder of a ``transformer`` run (:class:`launchml.inference.encoder.
        SentenceEncoder`): the module the classifier itself uses, so a retriever built on it
        shares its weights. An ensemble of transformers hands out member ``member``'s."""
        found = getattr(self.model, "encoder", None)
        if found is None:
            raise InvalidInputError(
                f"{self.path}: a '{self.config.model.type}' model has no sentence encoder; "
                "only transformer runs (or ensembles of them) do"
            )
        return found(member) if self.config.model.type == "ensemble" else found()


def check_run_dir(path: str | Path, *, digests: bool = True) -> None:
    """Check that ``path`` is a whole, unaltered run, before anything loads it.

    Every file must be present and parseable: ``config.yaml`` (a valid config), ``labels.json``,
    ``meta.json``, ``metrics.json`` and the model's own files (each model type checks those in
    :meth:`~launchml.models.Model.check_saved`); ``config.yaml`` must name the model type of the
    saved files, and ``labels.json`` must hold as many labels as the model has outputs. With
    ``digests``, every file listed in ``manifest.json`` must have the sha256 it had when training
    finished, so a hand-edited or truncated file is reported as modified after training.

    Raises :class:`NotFoundError` when there is no run at ``path``, else
    :class:`DamagedArtifactError` naming the file and what to do.

    Example::

        check_run_dir("runs/shop")      # None, or an error such as
        # runs/shop/labels.json: modified after training (its sha256 differs from manifest.json)
    """
    _checked_run(Path(path), digests)


RUN_FILES = ("config.yaml", "labels.json", "meta.json", "metrics.json")
_LOAD_ERRORS: tuple[type[Exception], ...] = (
    OSError, ValueError, KeyError, TypeError, RuntimeError, IndexError, zipfile.BadZipFile,
)  # fmt: skip


def _checked_run(
    path: Path, digests: bool
) -> tuple[Config, list[str], dict[str, Any], dict[str, Any]]:
    """``check_run_dir``'s work; returns what it read: config, labels, metrics, meta."""
    if not path.is_dir():
        if path.exists():
            raise NotFoundError(f"{path}: is a file, not a run directory")
        hint = (
            " (it was interrupted: resume it with --resume)" if partial_dir(path).is_dir() else ""
        )
        raise NotFoundError(f"{path}: run directory not found{hint}")
    if not any((path / name).exists() for name in (*RUN_FILES, MANIFEST)):
        raise NotFoundError(
            f"{path}: not a launchml run directory (no {', '.join(RUN_FILES)}); "
            "`launchml runs list DIR` shows the runs in a directory"
        )
    check_manifest(path, digests)
    for name in RUN_FILES:
        require_file(path / name)
    config = read_run_config(path / "config.yaml")
    labels = read_labels(path / "labels.json")
    meta = read_json(path / "meta.json", dict)
    metrics = read_json(path / "metrics.json", dict)
    model_type = config.model.type
    saved_type, evidence = saved_model_type(path)
    if saved_type is not None and saved_type != model_type:
        raise damaged(
            path / "config.yaml",
            f"names model.type '{model_type}' but the saved model is a '{saved_type}' ({evidence})",
        )
    if meta.get("model_type") not in (None, model_type):
        raise damaged(
            path / "config.yaml",
            f"names model.type '{model_type}' but meta.json says '{meta.get('model_type')}' "
            "was trained",
        )
    outputs = get_model_class(model_type).check_saved(path, config)
    if outputs is not None and outputs != len(labels):
        raise damaged(
            path / "labels.json",
            f"names {len(labels)} labels but the model has {outputs} outputs",
        )
    return config, labels, metrics, meta


def list_runs(root: Path, log: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """Summaries of the complete runs directly under ``root`` (newest first).

    A damaged run is left out, and ``log`` gets one ``warning:`` line naming it and what is
    wrong. Interrupted runs (``*.partial``) and directories that hold no run are skipped.
    """
    if not root.is_dir():
        raise NotFoundError(f"{root}: directory not found")
    rows = []
    for path in sorted(root.iterdir()):
        if not path.is_dir() or path.name.endswith(PARTIAL_SUFFIX) or path.is_symlink():
            continue  # a link (a study's best) is no new run
        if not any((path / name).exists() for name in (*RUN_FILES, MANIFEST)):
            continue
        try:
            _config, _labels, metrics, meta = _checked_run(path, digests=False)
        except LaunchMLError as exc:
            if log is not None:
                log(f"warning: skipped a damaged run: {exc}")
            continue
        timings = meta.get("timings")
        timings = timings if isinstance(timings, dict) else {}
        rows.append(
            {
                "run": path.name,
                "model": meta.get("model_type"),
                "created": meta.get("created_at"),
                "val_accuracy": _metric(metrics, "val", "accuracy"),
                "test_accuracy": _metric(metrics, "test", "accuracy"),
                "test_macro_f1": _metric(metrics, "test", "macro_f1"),
                "train_seconds": timings.get("fit_seconds"),
            }
        )
    rows.sort(key=lambda r: str(r["created"] or ""), reverse=True)
    return rows


def _metric(metrics: dict[str, Any], split: str, key: str) -> Any:
    values = metrics.get(split)
    return values.get(key) if isinstance(values, dict) else None


__all__ = [
    "Run",
    "check_run_dir",
    "default_run_dir",
    "finish_run",
    "list_runs",
    "partial_dir",
]
