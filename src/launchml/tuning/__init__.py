"""``launchml tune``: hyper-parameter search with Optuna over the keys of the config.

Modules: ``space`` (the ``tune.space`` declaration -> Optuna suggestions -> a trial's config),
``storage`` (SQLite by default, a shared database for many workers), ``sampling`` (TPE or
random, seeded per trial; the pruners), ``trial`` (one trial: a normal run directory, its epochs
reported to the pruner), ``study`` (the study: create, join, resume, workers, the best link),
``report`` and ``plots`` (the study's HTML page), ``tracking`` (the study's MLflow parent run).

Example::

    from launchml.tuning import tune
    result = tune("examples/shop/tune.yaml", trials=20)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from launchml.tuning.study import StudyResult, tune


def __getattr__(name: str) -> Any:
    # lazy: `launchml.tuning.space` must not pull in optuna
    if name in ("tune", "StudyResult"):
        from launchml.tuning import study

        return getattr(study, name)
    raise AttributeError(f"module 'launchml.tuning' has no attribute {name!r}")


__all__ = ["StudyResult", "tune"]
