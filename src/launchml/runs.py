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
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, overload

import numpy as np
import yaml

from launchml.config import Config, validate_config
from launchml.errors import DamagedArtifactError, InvalidInputError, NotFoundError
from launchml.inference.inputs import prepare
from launchml.models import Model, get_model_class

PARTIAL_SUFFIX = ".partial"


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
    """Make a complete run visible under its final name (an atomic rename on one filesystem)."""
    work = partial / "work"
    if work.exists():
        shutil.rmtree(work)
    os.rename(partial, final)


class Run:
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
    def load(cls, path: str | Path) -> Run:
        path = Path(path)
        if not path.is_dir():
            hint = (
                " (it was interrupted: resume it with --resume)"
                if partial_dir(path).is_dir()
                else ""
            )
            raise NotFoundError(f"{path}: run directory not found{hint}")
        if not (path / "meta.json").is_file():
            raise DamagedArtifactError(f"{path}: not a complete launchml run (no meta.json)")
        raw = yaml.safe_load((path / "config.yaml").read_text(encoding="utf-8"))
        config = validate_config(raw, str(path / "config.yaml"))
        labels_map = json.loads((path / "labels.json").read_text(encoding="utf-8"))
        labels = [labels_map[str(i)] for i in range(len(labels_map))]
        model = get_model_class(config.model.type).load(path, config, labels)
        metrics = json.loads((path / "metrics.json").read_text(encoding="utf-8"))
        meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
        return cls(path, config, labels, model, metrics, meta)

    # -- prediction: one input in -> one answer out; a list/batch in -> a list/batch out --------

    def _prepare(self, inputs: Any) -> tuple[list[str] | np.ndarray, bool]:
        return prepare(inputs, self.kind, self.config.data.clean, self.input_shape)

    @overload
    def predict(self, inputs: str) -> str: ...
    @overload
    def predict(self, inputs: Any) -> Any: ...

    def predict(self, inputs: Any) -> Any:
        """The predicted label (the user's string) for one input, or a list for many."""
        proba, single = self._proba(inputs)
        predicted = [self.labels[i] for i in proba.argmax(axis=1)]
        return predicted[0] if single else predicted

    def predict_proba(self, inputs: Any) -> np.ndarray:
        """Class probabilities in ``self.labels`` order: shape ``(n_classes,)`` for one input,
        ``(n, n_classes)`` for many."""
        proba, single = self._proba(inputs)
        return proba[0] if single else proba

    def _proba(self, inputs: Any) -> tuple[np.ndarray, bool]:
        prepared, single = self._prepare(inputs)
        return self.model.predict_proba(prepared), single

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


def list_runs(root: Path) -> list[dict[str, Any]]:
    """Summaries of the complete runs directly under ``root`` (newest first)."""
    if not root.is_dir():
        raise NotFoundError(f"{root}: directory not found")
    rows = []
    for path in sorted(root.iterdir()):
        meta_path = path / "meta.json"
        if not meta_path.is_file():
            continue
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        metrics_path = path / "metrics.json"
        metrics = (
            json.loads(metrics_path.read_text(encoding="utf-8")) if metrics_path.is_file() else {}
        )
        rows.append(
            {
                "run": path.name,
                "model": meta.get("model_type"),
                "created": meta.get("created_at"),
                "val_accuracy": metrics.get("val", {}).get("accuracy"),
                "test_accuracy": metrics.get("test", {}).get("accuracy"),
                "test_macro_f1": metrics.get("test", {}).get("macro_f1"),
                "train_seconds": meta.get("timings", {}).get("fit_seconds"),
            }
        )
    rows.sort(key=lambda r: r["created"] or "", reverse=True)
    return rows


__all__ = ["Run", "default_run_dir", "finish_run", "list_runs", "partial_dir"]
