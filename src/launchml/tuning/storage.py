"""Where a study lives: Optuna's RDB storage on a local SQLite file or a shared database.

The default is ``STUDY_DIR/optuna.db`` (SQLite: one machine). ``--storage URL`` takes any
SQLAlchemy URL; PostgreSQL (``postgresql://`` or ``postgresql+psycopg://``, driven by psycopg 3)
lets workers on many machines share one study. Workers send a heartbeat: a trial whose worker
died is marked failed by the next worker that starts a trial, and queued again with the same
parameters (it continues the dead trial's run directory).

Example::

    url = storage_url(None, Path("studies/shop"))   # sqlite:////abs/studies/shop/optuna.db
    storage = open_storage(url)
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any

from launchml.errors import InvalidConfigError

HEARTBEAT_SECONDS = 20
GRACE_SECONDS = 60
MAX_RETRIES = 2  # a trial whose worker died is run again at most this often
SCHEMA_ATTEMPTS = 5  # opening a new database that another worker is creating at that moment


def storage_url(given: str | None, study_dir: Path) -> str:
    """The SQLAlchemy URL to use: ``given`` with PostgreSQL on psycopg 3, or the default file."""
    if given is None:
        return f"sqlite:///{(study_dir / 'optuna.db').resolve()}"
    scheme, sep, rest = given.partition("://")
    if not sep:
        raise InvalidConfigError(
            f"--storage {given!r}: expected a database URL such as "
            "postgresql://user@host:5432/db or sqlite:///path/optuna.db"
        )
    if scheme in ("postgresql", "postgres"):  # SQLAlchemy's default driver would be psycopg2
        return f"postgresql+psycopg://{rest}"
    return given


def shown_url(url: str) -> str:
    """``url`` with any password masked (for output and for study.json)."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not parseable: show the scheme only
        return url.partition("://")[0] + "://..."


def open_storage(url: str) -> Any:
    """An ``optuna.storages.RDBStorage`` with heartbeats and retries of dead workers' trials."""
    from optuna.exceptions import ExperimentalWarning
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

    engine_kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        # several worker processes on one machine: wait for the write lock instead of failing
        engine_kwargs = {"connect_args": {"timeout": 120}}
    from sqlalchemy.exc import IntegrityError

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        try:
            for attempt in range(SCHEMA_ATTEMPTS):
                try:
                    return RDBStorage(
                        url,
                        engine_kwargs=engine_kwargs,
                        heartbeat_interval=HEARTBEAT_SECONDS,
                        grace_period=GRACE_SECONDS,
                        heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(
                            MAX_RETRIES
                        ),
                    )
                except IntegrityError:
                    # workers starting together on a new database both create its tables;
                    # PostgreSQL lets one win (pg_type unique violation): open it again
                    if attempt + 1 == SCHEMA_ATTEMPTS:
                        raise
                    time.sleep(0.5 * (attempt + 1))
            raise AssertionError("unreachable")
        except Exception as exc:  # a missing driver, an unreachable server, bad credentials
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InvalidConfigError(
                f"--storage {shown_url(url)}: cannot open the study database ({first})"
            ) from None


def requeue_interrupted(storage: Any, study: Any, folder: Path) -> int:
    """Queue again (same parameters, same run directory) the trials a stopped process left;
    return how many.

    Only for a study no other worker is running (``--resume`` of a local SQLite study): a trial
    still RUNNING there belongs to a process that was killed; a FAILED one without an error
    message whose ``trial-NNNN.partial`` is still there was interrupted (Ctrl-C). Each is queued
    once (a queued copy names it in its ``retry_history``); the copy continues the unfinished
    run directory.
    """
    from optuna.exceptions import ExperimentalWarning
    from optuna.storages import RetryHeartbeatStaleTrialCallback
    from optuna.trial import TrialState

    queued = 0
    trials = study.get_trials(deepcopy=False)
    retried = {n for t in trials for n in t.system_attrs.get("retry_history", [])}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        retry = RetryHeartbeatStaleTrialCallback(MAX_RETRIES)
        for trial in trials:
            if trial.state == TrialState.RUNNING:
                storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)
            elif trial.state != TrialState.FAIL:
                continue
            attrs = trial.user_attrs
            run = attrs.get("run")
            unfinished = run is not None and (folder / f"{run}.partial").is_dir()
            if "error" in attrs or trial.number in retried or not unfinished:
                continue
            retry(study, storage.get_trial(trial._trial_id))
            queued += 1
    return queued
