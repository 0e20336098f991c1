"""``tune(config, trials) -> StudyResult``: an Optuna study whose trials are launchml runs.

Reads top to bottom: check the ``tune:`` section, open (or create, or join) the study in its
storage, then run trials — each draws its parameters (:mod:`launchml.tuning.space`), trains a
normal run directory ``STUDY_DIR/trial-NNNN`` with :func:`launchml.pipeline.train`, reports
each epoch's validation metric to the pruner through the engine's ``on_epoch_end`` hook, and
returns the run's final validation metric. Test data is never looked at to choose.

A pruned trial stops at once; its unfinished ``trial-NNNN.partial/`` is removed (its epochs
stay in the study: the report draws them). A failed trial (a user error such as a sampled
combination the config rejects) is recorded with its message and the study goes on. The best
finished trial is linked as ``STUDY_DIR/best``.

Trials are counted for the whole study: ``trials=20`` means 20 trials finished (or running)
in the study, whoever runs them, so workers started on several machines with the same
``--storage`` and ``--study`` share the budget. ``jobs=K`` starts K worker processes here.

Example::

    result = tune("examples/shop/tune.yaml", trials=20)
    result.best_run          # Path("studies/tune/trial-0007")
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from launchml.config import Config, load_config
from launchml.errors import ConflictError, InvalidConfigError, LaunchMLError, NotFoundError
from launchml.runs import write_json
from launchml.tuning import space
from launchml.tuning.sampling import SeededPerTrial, make_pruner
from launchml.tuning.storage import open_storage, requeue_interrupted, shown_url, storage_url
from launchml.tuning.trial import Objective, Printer


@dataclass
class StudyResult:
    """What a finished ``tune`` call leaves: the study folder and its best trial."""

    path: Path
    name: str
    storage: str
    metric: str
    direction: str
    counts: dict[str, int]
    best_trial: int | None
    best_value: float | None
    best_params: dict[str, Any]
    best_run: Path | None
    report: Path | None


def tune(
    config: Config | str | Path,
    trials: int,
    *,
    timeout: float | None = None,
    storage: str | None = None,
    study: str | None = None,
    jobs: int = 1,
    resume: bool = False,
    out: str | Path | None = None,
    log: Any = None,
    worker: bool = False,
) -> StudyResult:
    """Search ``config.tune.space`` for ``trials`` trials; return the study's best.

    Parameters
    ----------
    config: a :class:`Config` with a ``tune:`` section, or the path of its YAML file.
    trials: the study's total number of trials (finished or running, over all workers).
    timeout: no new trial starts after this many seconds (a running one finishes).
    storage: a SQLAlchemy database URL shared by workers; default ``STUDY_DIR/optuna.db``.
    study: the study's name; default the config file's name (``tune`` for ``tune.yaml``).
    jobs: worker processes to run here (they share the storage).
    resume: continue the study in ``out`` (its trials so far count towards ``trials``).
    out: the study folder; default ``studies/<study>``.
    log: a callable taking one line of text per trial; default: ignore.
    worker: join an existing study and only run trials (no report); used by ``jobs``.
    """
    say = log or (lambda line: None)
    source = config if not isinstance(config, Config) else None
    if not isinstance(config, Config):
        config = load_config(config)
    tune_options = _check_tune_section(config, trials, jobs)
    name = study or (Path(source).stem if source is not None else "study")
    folder = Path(out) if out is not None else Path("studies") / name
    shared = storage is not None
    url = storage_url(storage, folder)
    _prepare_folder(folder, config, name, url, resume=resume, worker=worker, shared=shared)

    import optuna
    from optuna.exceptions import ExperimentalWarning

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # our own line per trial instead
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        rdb = open_storage(url)
        opened = _open_study(rdb, config, name, url, join=resume or worker or shared)
        if resume and not shared:
            requeued = requeue_interrupted(rdb, opened, folder)
            if requeued:
                say(f"resuming: {requeued} interrupted trial(s) queued again")
        parent = _mlflow_parent(config, opened, name) if not worker else None
        started = time.monotonic()
        if jobs > 1 and not worker:
            _run_workers(folder, name, storage, trials, timeout, jobs, config)
        else:
            objective = Objective(config, folder, name, _parent_id(opened, parent))
            remaining = trials - _alive(opened, waiting=False)  # optimize runs queued ones too
            if remaining > 0:  # a finished study resumed with the same --trials runs none
                opened.optimize(
                    objective,
                    n_trials=remaining,
                    timeout=timeout,
                    catch=(LaunchMLError,),
                    callbacks=[_budget(trials), Printer(say, tune_options.metric)],
                )
    result = summarize(opened, folder, name, url)
    if worker:
        return result
    if result.counts["complete"] == 0:
        raise InvalidConfigError(_no_finished_trial(opened))
    _link_best(folder, result)
    from launchml.tuning.report import build_study_report

    result.report = build_study_report(folder, opened, seconds=time.monotonic() - started)
    if parent is not None:
        parent.finish_study(result)
    return result


def _check_tune_section(config: Config, trials: int, jobs: int) -> Any:
    if config.tune is None or not config.tune.space:
        raise InvalidConfigError(
            "the config has no tune.space to search; add e.g. "
            "tune: {space: {train.lr: {low: 1e-4, high: 1e-2, log: true}}}"
        )
    if trials < 1:
        raise InvalidConfigError(f"--trials {trials}: expected at least 1")
    if jobs < 1:
        raise InvalidConfigError(f"--jobs {jobs}: expected at least 1")
    if config.data.val is None and config.data.split.val == 0:
        raise InvalidConfigError(
            f"tune.metric {config.tune.metric} is measured on validation data, and there is "
            "none: set data.val or data.split.val above 0 (test data is never used to choose)"
        )
    space.check_space(config)
    return config.tune


def _fingerprint(config: Config) -> str:
    """What every worker of a study must agree on: the config, bar threads and tracking."""
    raw = config.model_dump(mode="json")
    raw["train"].pop("threads", None)
    raw.pop("tracking", None)
    return hashlib.sha256(json.dumps(raw, sort_keys=True).encode()).hexdigest()


def _prepare_folder(
    folder: Path, config: Config, name: str, url: str, *, resume: bool, worker: bool, shared: bool
) -> None:
    marker = folder / "study.json"
    if resume and not marker.is_file():
        raise NotFoundError(f"{folder}: no study to resume (study.json not found)")
    if marker.is_file() and not (resume or worker or shared):
        raise ConflictError(
            f"{folder}: a study is already there; continue it with --resume, or choose "
            "another --study or --out"
        )
    if marker.is_file():
        known = json.loads(marker.read_text("utf-8"))
        if known.get("name") != name:
            raise ConflictError(
                f"{folder}: holds study '{known.get('name')}', not '{name}'; pass --study "
                f"{known.get('name')} or another --out"
            )
        return
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(config.to_yaml(), encoding="utf-8")
    write_json(
        marker,
        {"name": name, "storage": shown_url(url), "metric": config.tune.metric,  # type: ignore[union-attr]
         "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")},
    )  # fmt: skip


def _open_study(rdb: Any, config: Config, name: str, url: str, *, join: bool) -> Any:
    import optuna

    assert config.tune is not None
    options = config.tune
    try:
        opened = optuna.create_study(
            storage=rdb,
            study_name=name,
            sampler=SeededPerTrial(options.sampler, options.seed, options.startup_trials),
            pruner=make_pruner(options),
            direction=options.resolved_direction(),
            load_if_exists=join,
        )
    except optuna.exceptions.DuplicatedStudyError:
        raise ConflictError(
            f"study '{name}' already exists in {shown_url(url)}; continue it with --resume"
        ) from None
    fingerprint = _fingerprint(config)
    known = opened.user_attrs.get("config_sha256")
    if known is None:
        opened.set_user_attr("config_sha256", fingerprint)
        opened.set_user_attr("metric", options.metric)
    elif known != fingerprint:
        raise ConflictError(
            f"study '{name}' in {shown_url(url)} was started from a different config; every "
            "worker (and --resume) must use the same config and --set overrides"
        )
    if opened.direction.name.lower() != options.resolved_direction():
        raise ConflictError(f"study '{name}' optimises in the other direction")
    return opened


def _alive_states() -> tuple[Any, ...]:
    from optuna.trial import TrialState

    return (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING, TrialState.WAITING)


def _alive(opened: Any, waiting: bool = True) -> int:
    """Trials that count towards the budget: all but the failed (and the queued) ones."""
    states = _alive_states() if waiting else _alive_states()[:3]
    return len(opened.get_trials(deepcopy=False, states=states))


def _budget(trials: int) -> Any:
    """Stop this worker once the study holds ``trials`` trials that are not failed."""
    import optuna

    return optuna.study.MaxTrialsCallback(trials, states=_alive_states())


def summarize(opened: Any, folder: Path, name: str, url: str) -> StudyResult:
    """The study's counts and best trial as they are in the storage now."""
    from optuna.trial import TrialState

    all_trials = opened.get_trials(deepcopy=False)
    counts = {state.name.lower(): 0 for state in TrialState}
    for trial in all_trials:
        counts[trial.state.name.lower()] += 1
    best = None
    if counts["complete"]:
        best = opened.best_trial
    best_run = folder / best.user_attrs["run"] if best is not None else None
    return StudyResult(
        path=folder,
        name=name,
        storage=shown_url(url),
        metric=opened.user_attrs.get("metric", "value"),
        direction=opened.direction.name.lower(),
        counts=counts,
        best_trial=best.number if best else None,
        best_value=best.value if best else None,
        best_params=best.user_attrs.get("params", {}) if best else {},
        best_run=best_run if best_run is not None and best_run.is_dir() else None,
        report=None,
    )


def _no_finished_trial(opened: Any) -> str:
    errors = [t.user_attrs["error"] for t in opened.get_trials(deepcopy=False)
              if "error" in t.user_attrs]  # fmt: skip
    if errors:
        return f"no trial finished; {len(errors)} failed, the first with: {errors[0]}"
    return "no trial finished (all were pruned or the time ran out); raise --trials or --timeout"


def _link_best(folder: Path, result: StudyResult) -> None:
    """``STUDY_DIR/best``: a symlink to the best run, or (no symlinks, or the best trial ran on
    another machine) a small text file naming it. Replaced atomically."""
    if result.best_trial is None:
        return
    target = folder / "best"
    scratch = folder / f".best.{os.getpid()}"
    scratch.unlink(missing_ok=True)
    run = result.best_run
    try:
        if run is None:
            raise OSError("not here")
        os.symlink(run.name, scratch, target_is_directory=True)
    except OSError:
        where = run.name if run is not None else "a run on another worker's machine"
        scratch.write_text(
            f"trial {result.best_trial}: {where} ({result.metric} {result.best_value})\n",
            encoding="utf-8",
        )
    if target.is_dir() and not target.is_symlink():
        raise ConflictError(f"{target}: a directory is in the way of the best-trial link")
    os.replace(scratch, target)


def _run_workers(
    folder: Path,
    name: str,
    storage: str | None,
    trials: int,
    timeout: float | None,
    jobs: int,
    config: Config,
) -> None:
    """Start ``jobs`` worker processes on this machine (``launchml tune --worker``), wait."""
    command = [sys.executable, "-m", "launchml.cli", "tune", str(folder / "config.yaml"),
               "--trials", str(trials), "--study", name, "--out", str(folder),
               "--worker"]  # fmt: skip
    if storage is not None:
        command += ["--storage", storage]
    if timeout is not None:
        command += ["--timeout", str(timeout)]
    if config.train.threads is None:  # the cores split between the workers
        command += ["--set", f"train.threads={max(1, (os.cpu_count() or 1) // jobs)}"]
    workers = [subprocess.Popen(command) for _ in range(jobs)]
    codes = [worker.wait() for worker in workers]
    if any(codes):
        raise InvalidConfigError(f"{sum(1 for c in codes if c)} of {jobs} worker processes failed")


def _parent_id(opened: Any, parent: Any) -> str | None:
    if parent is not None:
        return str(parent.run_id)
    value = opened.user_attrs.get("mlflow_parent_run_id")
    return str(value) if value else None


def _mlflow_parent(config: Config, opened: Any, name: str) -> Any:
    if config.tracking.mlflow is None:
        return None
    from launchml.tuning.tracking import StudyRun

    return StudyRun.for_study(config, opened, name)
