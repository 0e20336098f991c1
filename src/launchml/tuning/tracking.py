"""The MLflow parent run of a study: every trial's run is nested under it.

Created by the first process that opens the study with tracking on; its id is kept in the
study (``mlflow_parent_run_id``), so later workers and ``--resume`` nest under the same run.
It holds the search settings as parameters and, when a worker finishes, the best value so far,
the trial counts and the study report.

Example::

    parent = StudyRun.for_study(config, optuna_study, "shop")
    ...  # trials, tracked with parent_run_id=parent.run_id
    parent.finish_study(result)
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from launchml.config import Config
from launchml.tracking import MlflowTracker

if TYPE_CHECKING:
    from launchml.tuning.study import StudyResult

ATTR = "mlflow_parent_run_id"


class StudyRun(MlflowTracker):
    """The study's own MLflow run (no config parameters: the trials carry those)."""

    @classmethod
    def for_study(cls, config: Config, study: Any, name: str) -> StudyRun:
        assert config.tracking.mlflow is not None and config.tune is not None
        parent = cls(
            config.tracking.mlflow,
            None,
            name=f"study {name}",
            tags={"launchml.study": name, "launchml.kind": "study"},
        )
        known = study.user_attrs.get(ATTR)
        if known:
            parent.run_id = str(known)
            return parent
        parent.start()
        options = config.tune
        settings = {
            "tune.metric": options.metric,
            "tune.direction": options.resolved_direction(),
            "tune.sampler": options.sampler,
            "tune.pruner": options.pruner,
            "tune.seed": str(options.seed),
            "tune.startup_trials": str(options.startup_trials),
            "tune.warmup_epochs": str(options.warmup_epochs),
            "tune.space": json.dumps(
                {k: v.model_dump(exclude_defaults=True) for k, v in options.space.items()}
            ),
            "model.type": config.model.type,
        }
        parent._log_params(settings)
        study.set_user_attr(ATTR, parent.run_id)
        return parent

    def finish_study(self, result: StudyResult) -> None:
        from mlflow.entities import Metric

        run_id = self.start()
        client = self.client()
        stamp = _now_ms()
        metrics = [Metric(f"trials_{state}", float(n), stamp, 0)
                   for state, n in result.counts.items()]  # fmt: skip
        if result.best_value is not None:
            metrics.append(Metric(f"best_{result.metric}", float(result.best_value), stamp, 0))
        client.log_batch(run_id, metrics=metrics)
        self.set_tags({"launchml.best_trial": str(result.best_trial),
                       "launchml.study_dir": str(result.path.resolve())})  # fmt: skip
        if result.report is not None and self.options.artifacts:
            client.log_artifact(run_id, str(result.report))
        client.set_terminated(run_id, status="FINISHED")


def _now_ms() -> int:
    import time

    return int(time.time() * 1000)
