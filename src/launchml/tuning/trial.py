"""One trial of a study: draw its parameters, train its run directory, report its epochs.

The engine's ``on_epoch_end`` hook (:class:`Report`) hands each epoch's validation metric to
Optuna and raises ``optuna.TrialPruned`` as soon as the pruner says so; the unfinished
``trial-NNNN.partial/`` is then removed, so no half-run directory is left lying about (the
trial's epochs stay in the study, where the report draws them). A trial queued again after its
worker died (or was interrupted) continues that worker's run directory (``--resume`` of runs).

Example::

    study.optimize(Objective(config, Path("studies/shop"), "shop", None), n_trials=5)
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path
from typing import Any

from launchml.config import Config
from launchml.errors import LaunchMLError
from launchml.runs import partial_dir
from launchml.tuning import space

#: tune.metric -> the key of the run's validation metrics (metrics.json) it is read from
FINAL_KEY = {"val_accuracy": "accuracy", "val_macro_f1": "macro_f1", "val_loss": "log_loss"}


class Objective:
    """One trial: draw the parameters, train a run directory, return its validation metric."""

    def __init__(self, config: Config, folder: Path, study: str, parent_run_id: str | None):
        self.config, self.folder, self.study, self.parent_run_id = (
            config,
            folder,
            study,
            parent_run_id,
        )

    def __call__(self, trial: Any) -> float:
        import optuna

        from launchml.pipeline import train

        assert self.config.tune is not None
        metric = self.config.tune.metric
        params = space.suggest(trial, self.config.tune.space)
        # a trial queued again after its worker died continues that worker's run directory
        run_name = trial.user_attrs.get("run") or f"trial-{trial.number:04d}"
        trial_config = space.apply_params(self.config, params)
        worker = f"{socket.gethostname()}:{os.getpid()}"
        for key, value in {"params": params, "run": run_name, "worker": worker,
                           "planned_epochs": planned_epochs(trial_config)}.items():  # fmt: skip
            trial.set_user_attr(key, value)
        run_dir = self.folder / run_name
        resume = partial_dir(run_dir).is_dir()
        report = Report(trial, metric, planned_epochs(trial_config))
        tracker = self._tracker(trial_config, run_name, trial.number)
        try:
            run = train(
                trial_config,
                out=None if resume else run_dir,
                resume=run_dir if resume else None,
                on_epoch_end=report,
                tracker=tracker,
            )
        except optuna.TrialPruned:
            shutil.rmtree(partial_dir(run_dir), ignore_errors=True)  # never a half-run lying about
            trial.set_user_attr("epochs_run", report.step)
            tracker.set_tags({"launchml.state": "pruned"})
            raise
        except LaunchMLError as exc:
            trial.set_user_attr("error", str(exc))
            raise
        trial.set_user_attr("epochs_run", report.step)
        test = run.metrics.get("test", {})
        if "accuracy" in test:  # shown in the leaderboard, never used to choose
            trial.set_user_attr("test_accuracy", test["accuracy"])
        trial.set_user_attr("seconds", run.meta.get("timings", {}).get("total_seconds"))
        return float(run.metrics["val"][FINAL_KEY[metric]])

    def _tracker(self, config: Config, run_name: str, number: int) -> Any:
        from launchml.tracking import MlflowTracker, Tracker

        if config.tracking.mlflow is None:
            return Tracker()
        tags = {"launchml.study": self.study, "launchml.trial": str(number)}
        return MlflowTracker(
            config.tracking.mlflow,
            config,
            name=run_name,
            parent_run_id=self.parent_run_id,
            tags=tags,
        )


class Report:
    """The ``on_epoch_end`` hook of a trial: each epoch's metric to Optuna; prune at once.

    The last planned epoch is reported but never pruned: stopping there saves nothing and
    would throw a finished result away (a ``tfidf_logreg`` trial's one fit, for instance).
    """

    def __init__(self, trial: Any, metric: str, planned: int) -> None:
        self.trial, self.metric, self.planned, self.step = trial, metric, planned, 0

    def __call__(self, row: dict[str, Any]) -> None:
        import optuna

        if self.metric not in row:
            return
        self.step += 1
        value = float(row[self.metric])
        self.trial.report(value, self.step)
        if self.step < self.planned and self.trial.should_prune():
            raise optuna.TrialPruned(f"pruned after epoch {self.step} ({self.metric} {value:.4f})")


def planned_epochs(config: Config) -> int:
    """The epochs a trial trains when it is neither pruned nor stopped early."""
    model = config.model
    if model.type == "tfidf_logreg":
        return 1  # one fit, reported as one epoch
    epochs = config.train.epochs
    if model.type == "transformer" and model.transformer.body == "two_stage":
        epochs += model.transformer.warm_start_epochs
    if model.type == "ensemble":
        member = model_copy_type(config, model.ensemble.member)
        return model.ensemble.size * planned_epochs(member)
    return epochs


def model_copy_type(config: Config, model_type: str) -> Config:
    return config.model_copy(update={"model": config.model.model_copy(update={"type": model_type})})


class Printer:
    """One line per finished trial (this worker's): its state, value, parameters, time."""

    def __init__(self, say: Any, metric: str) -> None:
        self.say, self.metric = say, metric

    def __call__(self, study: Any, trial: Any) -> None:
        attrs = trial.user_attrs
        params = space.describe_params(attrs.get("params", {}))
        seconds = f"{trial.duration.total_seconds():.1f} s" if trial.duration is not None else "? s"
        state = trial.state.name.lower()
        if state == "complete":
            what = f"{self.metric} {trial.value:.4f}"
        elif state == "pruned":
            what = f"pruned after epoch {attrs.get('epochs_run', '?')}"
        else:
            what = f"failed: {attrs.get('error', 'see the log')}"
        self.say(f"trial {trial.number:>3}  {what:<28} {params}  ({seconds})")
