"""``train(config) -> Run``: data in, a complete run directory out.

Reads top to bottom: resolve the config, load and check the data (before anything is written),
build the model, fit it inside ``RUN.partial/``, evaluate, write the artifact, rename into place.

Under ``torchrun`` (``launchml train --nproc N``) every process runs this function: all load the
data and train together (:mod:`launchml.distributed`), but only rank 0 checks, prepares, writes
and finishes the run directory (its refusals reach the others, which stop with the same error);
the others wait for it and then load the same finished run. The run directory must therefore
be on storage every node sees (one machine always does).
"""

from __future__ import annotations

import os
import platform
import random
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from launchml import __version__, distributed, tracking
from launchml.artifacts import read_json, read_run_config
from launchml.config import Config, load_config
from launchml.data.dataset import Dataset
from launchml.data.load import Splits, fingerprint, load_splits
from launchml.errors import ConflictError, InvalidConfigError, InvalidInputError, NotFoundError
from launchml.evaluate import classification_metrics
from launchml.models import FitContext, Model, get_model_class
from launchml.outputs import check_output_dir
from launchml.profiling import package_versions
from launchml.runs import (
    PARTIAL_SUFFIX,
    RESUME_FILE,
    Run,
    default_run_dir,
    finish_run,
    partial_dir,
    write_history,
    write_json,
)
from launchml.tracking import Tracker


def train(
    config: Config | dict[str, Any] | str | Path,
    out: str | Path | None = None,
    *,
    resume: str | Path | None = None,
    quiet: bool = True,
    log: Any = None,
    on_epoch_end: Callable[[dict[str, Any]], None] | None = None,
    tracker: Tracker | None = None,
    fit: Callable[[Model, Splits, FitContext], None] | None = None,
) -> Run:
    """Train a model as ``config`` describes and return the finished :class:`Run`.

    Parameters
    ----------
    config: a :class:`Config`, a dict of the same shape, or the path of a YAML file.
    out: the run directory to create (must not exist); default ``runs/<time>-<model type>``.
    resume: the run directory of an interrupted run (its ``RUN.partial`` is continued).
    quiet: no progress output.
    log: a callable taking one line of text (warnings and notes); default: ignore.
    on_epoch_end: called with each epoch's history row as it is done (may raise to stop).
    tracker: where the run is tracked; default the one ``config.tracking`` configures.
    fit: trains the model instead of ``model.fit`` (federated training does), filling the
        context's ``history`` and ``meta``; everything else about the run stays the same.

    Example::

        run = launchml.train("examples/shop/config.yaml", out="runs/shop")
        run.metrics["test"]["accuracy"]
    """
    if not isinstance(config, Config):
        config = load_config(config)
    session = distributed.setup(config.train.device)  # under torchrun: join the group
    if not session.is_main:  # one voice, one writer and one tracker: rank 0
        quiet, log, tracker, on_epoch_end = True, None, Tracker(), None
    tracker = tracker or tracking.for_config(config)
    with tracker:
        run = _train(config, out, resume, quiet, log, _both(tracker.log_epoch, on_epoch_end), fit)
        tracker.log_run(run)
    return run


def _train(
    config: Config,
    out: str | Path | None,
    resume: str | Path | None,
    quiet: bool,
    log: Any,
    on_epoch_end: Callable[[dict[str, Any]], None],
    fit: Callable[[Model, Splits, FitContext], None] | None = None,
) -> Run:
    started = time.perf_counter()
    session = distributed.session()
    say = log or (lambda line: None)
    check_machine_limits(config)
    # checked before the data are read; by rank 0 (e.g. the default run name is its clock's)
    final = distributed.on_main(lambda: _final_path(config, out, resume))
    if resume is not None:  # before the data are read: the cheap refusals first
        distributed.on_main(lambda: _check_resumable(final, config))

    splits = load_splits(config.data)
    for note in splits.notes:
        say(f"warning: {note}")
    model_cls = get_model_class(config.model.type)
    if splits.train.kind not in model_cls.kinds:
        raise InvalidConfigError(
            f"model.type '{config.model.type}' works on {' or '.join(model_cls.kinds)} data, "
            f"but {config.data.train} holds {splits.train.kind}s"
        )
    if config.train.privacy is not None:
        from launchml.privacy import check_private

        check_private(config, splits.train.kind)
    model = model_cls.from_config(config, splits.labels)
    model.check_data(splits.train)  # options that cannot work on these data, e.g. min_df
    sources = data_fingerprints(config)
    loaded = time.perf_counter()

    work = distributed.on_main(
        lambda: (
            _check_same_data(final, sources)
            if resume is not None
            else _create_partial(final, config, sources)
        )
    )
    finishing = False
    try:
        if session.is_main:
            write_labels(work / "labels.json", splits.labels)
        seed_everything(config.train.seed)
        ctx = FitContext(
            config, splits.labels, work / "work", quiet=quiet, resume=resume is not None
        )
        ctx.on_epoch_end = on_epoch_end
        if session.is_main:
            ctx.work_dir.mkdir(exist_ok=True)
        y_train = encode_labels(splits.train, splits.labels)
        y_val = encode_labels(splits.val, splits.labels) if splits.val else None
        if fit is None:
            model.fit(splits.train, y_train, splits.val, y_val, ctx)
        else:
            fit(model, splits, ctx)
        fitted = time.perf_counter()
        if not session.is_main:  # rank 0 evaluates and writes; the others wait for the result
            distributed.follow_main()
            return Run.load(final)
        finishing = True
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
        meta = {**_meta(config, splits, timings, sources), **ctx.meta}  # the model's facts too
        write_json(work / "meta.json", meta)
        finish_run(work, final)  # writes manifest.json last, then renames
        distributed.report(None)
    except BaseException as exc:
        if finishing:
            distributed.report(exc)
        kept = _after_failure(work, resumed=resume is not None) if session.is_main else True
        if isinstance(exc, KeyboardInterrupt):
            raise TrainingInterrupted(final, kept) from None
        raise
    return Run.load(final)


def _both(
    first: Callable[[dict[str, Any]], None], then: Callable[[dict[str, Any]], None] | None
) -> Callable[[dict[str, Any]], None]:
    """One epoch hook calling ``first`` (the tracker), then ``then`` (e.g. a pruner)."""

    def hook(row: dict[str, Any]) -> None:
        first(row)
        if then is not None:
            then(row)

    return hook


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during training. ``kept``: the partial run (``run``.partial) holds checkpoints
    and can be continued with ``--resume run``; else nothing was left behind."""

    def __init__(self, run: Path, kept: bool) -> None:
        super().__init__(str(run))
        self.run = run
        self.kept = kept


def _after_failure(work: Path, resumed: bool) -> bool:
    """Clean up after a failed run; return True when the partial run is kept.

    A resumed run is never touched (it holds earlier work). A new run is removed whole while it
    holds only what was written before training (so rerunning with a fixed config is not
    blocked); once a checkpoint or a saved model is there, it is kept for ``--resume``.
    """
    if resumed:
        return True
    written_first = {"config.yaml", RESUME_FILE, "labels.json", "labels.json.tmp"}
    if any(p.is_file() and p.name not in written_first for p in work.rglob("*")):
        return True
    shutil.rmtree(work, ignore_errors=True)
    return False


def check_machine_limits(config: Config) -> None:
    """Settings that depend on this machine: ``train.threads`` and ``inference.threads`` at most
    4x its CPU cores (more threads than that only slow torch down, and very many crash its
    thread pool). Not a config validator: a run trained here must still load on a smaller
    machine, where prediction caps the threads instead."""
    cores = os.cpu_count() or 1
    for key, threads in (
        ("train.threads", config.train.threads),
        ("inference.threads", config.inference.threads),
    ):
        if threads is not None and threads > MAX_THREADS_PER_CORE * cores:
            raise InvalidConfigError(
                f"{key}: {threads} is more than {MAX_THREADS_PER_CORE} x the {cores} CPU cores "
                f"of this machine; use 1 to {MAX_THREADS_PER_CORE * cores}, or leave it unset"
            )


MAX_THREADS_PER_CORE = 4


def encode_labels(data: Dataset, labels: list[str]) -> np.ndarray:
    """Class indices for ``data``'s labels; labels unknown to training become -1."""
    index = {label: i for i, label in enumerate(labels)}
    return np.array([index.get(label, -1) for label in data.labels], dtype=np.int64)


def _final_path(config: Config, out: str | Path | None, resume: str | Path | None) -> Path:
    """The run directory to create (or to resume), checked before any work starts."""
    if resume is not None:
        final = Path(resume)
        if final.name.endswith(PARTIAL_SUFFIX):
            final = final.with_name(final.name.removesuffix(PARTIAL_SUFFIX))
        return final
    final = Path(out) if out is not None else default_run_dir(config.model.type)
    check_output_dir(final, "--out")
    if final.exists():
        raise ConflictError(f"{final}: already exists; choose another --out or remove it")
    if partial_dir(final).exists():
        raise ConflictError(
            f"{partial_dir(final)}: an interrupted run is there; continue it with "
            f"--resume {final} or remove it"
        )
    return final


def _check_resumable(final: Path, config: Config) -> None:
    """Refuse to resume what is not an interrupted run, or with another config."""
    work = partial_dir(final)
    if final.exists():
        raise ConflictError(f"{final}: this run already finished; nothing to resume")
    if not work.is_dir():
        raise NotFoundError(f"{final}: no interrupted run to resume ({work.name} not found)")
    saved = read_run_config(work / "config.yaml")
    differing = config_differences(saved, config)
    if differing:
        shown = ", ".join(differing[:5]) + (
            f" and {len(differing) - 5} more" if len(differing) > 5 else ""
        )
        raise ConflictError(
            f"{final}: the config differs from the interrupted run's in {shown}; resume with "
            f"the same config ({work / 'config.yaml'})"
        )


def _check_same_data(final: Path, sources: dict[str, str | None]) -> Path:
    """The partial run's directory, when the data are those it started with."""
    work = partial_dir(final)
    resume_file = work / RESUME_FILE
    if not resume_file.is_file():  # started before launchml saved fingerprints
        return work
    saved = read_json(resume_file, dict).get("data_fingerprints", {})
    changed = [f"data.{role}" for role, digest in sources.items() if saved.get(role) != digest]
    if changed:
        raise ConflictError(
            f"{final}: the data changed since this run started ({', '.join(changed)}: other "
            "contents than the interrupted run trained on); resuming would mix two datasets, "
            "so restore the data or start a new run with another --out"
        )
    return work


def _create_partial(final: Path, config: Config, sources: dict[str, str | None]) -> Path:
    """``RUN.partial/`` with the resolved config and what a resume must match."""
    work = partial_dir(final)
    try:
        work.mkdir(parents=True)
    except OSError as exc:
        raise InvalidInputError(
            f"{final}: cannot create the run directory (--out): {exc.strerror}"
        ) from None
    header = "# The resolved config: every value this run was trained with (keys the config left\n"
    header += "# out took the model type's recipe, launchml.recipes, then the defaults).\n"
    (work / "config.yaml").write_text(header + config.to_yaml(), encoding="utf-8")
    write_json(work / RESUME_FILE, {"data_fingerprints": sources})
    return work


def config_differences(saved: Config, given: Config) -> list[str]:
    """The dotted keys whose values differ between two configs, e.g. ``["train.epochs"]``."""
    return sorted(_diff(saved.model_dump(mode="json"), given.model_dump(mode="json"), ""))


def _diff(a: Any, b: Any, prefix: str) -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        keys = list(a) + [k for k in b if k not in a]
        return [d for k in keys for d in _diff(a.get(k), b.get(k), f"{prefix}{k}.")]
    return [] if a == b else [prefix.rstrip(".")]


def data_fingerprints(config: Config) -> dict[str, str | None]:
    """``{"train": "sha256:...", "val": ..., "test": ...}`` of the data files (None: not given)."""
    return {
        role: None if path is None else "sha256:" + fingerprint([path])
        for role, path in (
            ("train", config.data.train),
            ("val", config.data.val),
            ("test", config.data.test),
        )
    }


def seed_everything(seed: int) -> None:
    """Seed Python's and NumPy's global generators (torch is seeded by the engine)."""
    random.seed(seed)
    np.random.seed(seed)  # legacy global RNG, for libraries that still use it


def _meta(
    config: Config, splits: Splits, timings: dict[str, float], sources: dict[str, str | None]
) -> dict[str, Any]:
    train = splits.train
    return {
        "launchml_version": __version__,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "model_type": config.model.type,
        "seed": config.train.seed,
        "data_kind": train.kind,
        "data_fingerprint": "sha256:"
        + fingerprint([config.data.train, config.data.val, config.data.test]),
        "data_fingerprints": sources,
        "input_shape": list(train.inputs.shape[1:]) if train.kind == "image" else None,  # type: ignore[union-attr]
        "split_sizes": {
            "train": len(train),
            "val": len(splits.val) if splits.val else 0,
            "test": len(splits.test) if splits.test else 0,
        },
        "data_notes": splits.notes,
        **({"pii": {"mode": config.data.pii.mode, **splits.pii}} if splits.pii else {}),
        "timings": timings,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": package_versions(),
    }


def write_labels(path: Path, labels: list[str]) -> None:
    write_json(path, {str(i): label for i, label in enumerate(labels)})
