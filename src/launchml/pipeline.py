"""``train(config) -> Run``: data in, a complete run directory out.

Reads top to bottom: resolve the config, load and check the data (before anything is written),
build the model, fit it inside ``RUN.partial/``, evaluate, write the artifact, rename into place.
"""

from __future__ import annotations

import platform
import random
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from launchml import __version__
from launchml.config import Config, load_config, validate_config
from launchml.data.dataset import Dataset
from launchml.data.load import Splits, fingerprint, load_splits
from launchml.errors import ConflictError, InvalidConfigError, LaunchMLError, NotFoundError
from launchml.evaluate import classification_metrics
from launchml.models import FitContext, get_model_class
from launchml.profiling import package_versions
from launchml.runs import (
    Run,
    default_run_dir,
    finish_run,
    partial_dir,
    write_history,
    write_json,
)


def train(
    config: Config | dict[str, Any] | str | Path,
    out: str | Path | None = None,
    *,
    resume: str | Path | None = None,
    quiet: bool = True,
    log: Any = None,
) -> Run:
    """Train a model as ``config`` describes and return the finished :class:`Run`.

    Parameters
    ----------
    config: a :class:`Config`, a dict of the same shape, or the path of a YAML file.
    out: the run directory to create (must not exist); default ``runs/<time>-<model type>``.
    resume: the run directory of an interrupted run (its ``RUN.partial`` is continued).
    quiet: no progress output.
    log: a callable taking one line of text (warnings and notes); default: ignore.

    Example::

        run = launchml.train("examples/shop/config.yaml", out="runs/shop")
        run.metrics["test"]["accuracy"]
    """
    started = time.perf_counter()
    say = log or (lambda line: None)
    if not isinstance(config, Config):
        config = load_config(config)

    splits = load_splits(config.data)
    for note in splits.notes:
        say(f"warning: {note}")
    model_cls = get_model_class(config.model.type)
    if splits.train.kind not in model_cls.kinds:
        raise InvalidConfigError(
            f"model.type '{config.model.type}' works on {' or '.join(model_cls.kinds)} data, "
            f"but {config.data.train} holds {splits.train.kind}s"
        )
    loaded = time.perf_counter()

    final, work = _prepare_run_dir(config, out, resume)
    try:
        write_labels(work / "labels.json", splits.labels)
        seed_everything(config.train.seed)
        model = model_cls.from_config(config, splits.labels)
        ctx = FitContext(
            config, splits.labels, work / "work", quiet=quiet, resume=resume is not None
        )
        ctx.work_dir.mkdir(exist_ok=True)
        y_train = encode_labels(splits.train, splits.labels)
        y_val = encode_labels(splits.val, splits.labels) if splits.val else None
        model.fit(splits.train, y_train, splits.val, y_val, ctx)
        fitted = time.perf_counter()

        metrics = {
            name: classification_metrics(
                data.labels, model.predict_proba(data.inputs), splits.labels
            )
            for name, data in (("val", splits.val), ("test", splits.test))
            if data is not None
        }
        evaluated = time.perf_counter()
        model.save(work)
        write_history(work / "history.csv", ctx.history)
        write_json(work / "metrics.json", metrics)
        timings = {
            "load_seconds": round(loaded - started, 3),
            "fit_seconds": round(fitted - loaded, 3),
            "eval_seconds": round(evaluated - fitted, 3),
            "total_seconds": round(time.perf_counter() - started, 3),
        }
        write_json(work / "meta.json", _meta(config, splits, timings))  # last: marks complete
        finish_run(work, final)
    except LaunchMLError:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return Run.load(final)


def encode_labels(data: Dataset, labels: list[str]) -> np.ndarray:
    """Class indices for ``data``'s labels; labels unknown to training become -1."""
    index = {label: i for i, label in enumerate(labels)}
    return np.array([index.get(label, -1) for label in data.labels], dtype=np.int64)


def _prepare_run_dir(
    config: Config, out: str | Path | None, resume: str | Path | None
) -> tuple[Path, Path]:
    """Return ``(final, partial)`` paths; the partial directory exists afterwards."""
    if resume is not None:
        final = Path(resume)
        if final.name.endswith(".partial"):
            final = final.with_name(final.name.removesuffix(".partial"))
        work = partial_dir(final)
        if final.exists():
            raise ConflictError(f"{final}: this run already finished; nothing to resume")
        if not work.is_dir():
            raise NotFoundError(f"{final}: no interrupted run to resume ({work.name} not found)")
        saved = validate_config(yaml.safe_load((work / "config.yaml").read_text("utf-8")))
        if saved.model_dump() != config.model_dump():
            raise ConflictError(
                f"{final}: the config differs from the interrupted run's ({work / 'config.yaml'});"
                " resume with the same config"
            )
        return final, work
    final = Path(out) if out is not None else default_run_dir(config.model.type)
    work = partial_dir(final)
    if final.exists():
        raise ConflictError(f"{final}: already exists; choose another --out or remove it")
    if work.exists():
        raise ConflictError(
            f"{work}: an interrupted run is there; continue it with --resume {final} or remove it"
        )
    work.mkdir(parents=True)
    (work / "config.yaml").write_text(config.to_yaml(), encoding="utf-8")
    return final, work


def seed_everything(seed: int) -> None:
    """Seed Python's and NumPy's global generators (torch is seeded by the engine)."""
    random.seed(seed)
    np.random.seed(seed)  # legacy global RNG, for libraries that still use it


def _meta(config: Config, splits: Splits, timings: dict[str, float]) -> dict[str, Any]:
    train = splits.train
    return {
        "launchml_version": __version__,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "model_type": config.model.type,
        "seed": config.train.seed,
        "data_kind": train.kind,
        "data_fingerprint": "sha256:"
        + fingerprint([config.data.train, config.data.val, config.data.test]),
        "input_shape": list(train.inputs.shape[1:]) if train.kind == "image" else None,  # type: ignore[union-attr]
        "split_sizes": {
            "train": len(train),
            "val": len(splits.val) if splits.val else 0,
            "test": len(splits.test) if splits.test else 0,
        },
        "data_notes": splits.notes,
        "timings": timings,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": package_versions(),
    }


def write_labels(path: Path, labels: list[str]) -> None:
    write_json(path, {str(i): label for i, label in enumerate(labels)})
