"""Experiment tracking: runs logged to MLflow when ``tracking.mlflow`` is configured.

Off by default. With ``tracking: {mlflow: {uri: file:./mlruns}}`` (or ``--mlflow URI``), every
``launchml train`` and every ``launchml tune`` trial becomes an MLflow run: the resolved config
as parameters (flattened to dotted keys), each epoch's history row as metrics under the
history's own column names (``train_loss``, ``val_accuracy``, ...) at steps 1, 2, ... in order,
the final metrics as ``final_val_accuracy``, ``final_test_macro_f1``, ... (the run's
metrics.json: best-epoch weights) with the timings, and as artifacts the run's HTML report
(``report.html``) and its whole directory (``run/``). Tune trials are nested under the
study's parent run (MLflow's ``mlflow.parentRunId`` tag). ``file:`` and ``sqlite:`` URIs work
offline; an ``http://`` URI talks to an MLflow server.

The MLflow run is created at the first thing it logs, so a run that fails on its data before
training leaves nothing in MLflow; one that fails later ends ``FAILED`` (a user error) or
``KILLED`` (interrupted, or a pruned trial), with the reason as the ``launchml.error`` tag.
MLflow is imported only here, and only when a tracker is used (not by ``launchml --help``).

Example::

    with MlflowTracker(config.tracking.mlflow, config) as tracker:
        tracker.log_epoch({"epoch": 1, "train_loss": 0.7, "val_accuracy": 0.8})
        tracker.log_run(run)
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from launchml.config import Config, MlflowConfig
from launchml.errors import InvalidConfigError, LaunchMLError

if TYPE_CHECKING:
    from launchml.runs import Run

#: MLflow limits (log_batch): parameters and metrics per call, characters per parameter value
_BATCH = 100
_PARAM_CHARS = 6000
_FINAL = ("accuracy", "macro_f1", "balanced_accuracy", "weighted_f1", "log_loss", "ece", "n")


class Tracker:
    """The tracker of an untracked run: every method does nothing."""

    run_id: str | None = None

    def __enter__(self) -> Tracker:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def log_epoch(self, row: dict[str, Any]) -> None:
        """One epoch's history row (numbers become metrics at the next step)."""

    def log_run(self, run: Run) -> None:
        """The finished run: final metrics, name, report and directory."""

    def set_tags(self, tags: dict[str, str]) -> None:
        """Tags on the tracked run."""


def for_config(config: Config, parent_run_id: str | None = None) -> Tracker:
    """The tracker ``config.tracking`` asks for (a do-nothing one when tracking is off)."""
    options = config.tracking.mlflow
    if options is None:
        return Tracker()
    return MlflowTracker(options, config, parent_run_id=parent_run_id)


class MlflowTracker(Tracker):
    """One MLflow run, written with ``mlflow.tracking.MlflowClient`` (no global active run)."""

    def __init__(
        self,
        options: MlflowConfig,
        config: Config | None,
        *,
        name: str | None = None,
        parent_run_id: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> None:
        self.options = options
        self.config = config
        self.name = name
        self.parent_run_id = parent_run_id
        self.tags = dict(tags or {})
        self.run_id = None
        self.step = 0
        self._client: Any = None

    # -- the MLflow run's life ------------------------------------------------------------------

    def start(self) -> str:
        """Create the MLflow run now (it is otherwise created by the first thing logged)."""
        if self.run_id is not None:
            return self.run_id
        from mlflow.exceptions import MlflowException

        try:
            client = self.client()
            experiment = client.get_experiment_by_name(self.options.experiment)
            experiment_id = (
                experiment.experiment_id
                if experiment is not None
                else client.create_experiment(self.options.experiment)
            )
        except MlflowException as exc:
            first = str(exc).strip().splitlines()[0][:300]
            raise InvalidConfigError(
                f"tracking.mlflow.uri {self.options.uri!r}: MLflow cannot use it ({first})"
            ) from None
        tags = {"launchml": "1", **self.tags}
        if self.parent_run_id:
            tags["mlflow.parentRunId"] = self.parent_run_id
        self.run_id = client.create_run(experiment_id, run_name=self.name, tags=tags).info.run_id
        if self.config is not None:
            self._log_params(flatten_config(self.config))
        return self.run_id

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.run_id is None:
            return
        if exc is not None:
            self.set_tags({"launchml.error": f"{type(exc).__name__}: {exc}"[:5000]})
        status = (
            "FINISHED" if exc is None else "FAILED" if isinstance(exc, LaunchMLError) else "KILLED"
        )
        self.client().set_terminated(self.run_id, status=status)

    def client(self) -> Any:
        if self._client is None:
            try:
                from mlflow.tracking import MlflowClient
            except ImportError:  # pragma: no cover - mlflow-skinny is a dependency
                raise InvalidConfigError(
                    "tracking.mlflow needs the mlflow package (pip install mlflow-skinny)"
                ) from None
            if self.options.uri.startswith("file:"):
                # MLflow 3 keeps the file store only on request ("maintenance mode"); a file:
                # URI in the config is that request. sqlite: is the store MLflow recommends.
                os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
            self._client = MlflowClient(tracking_uri=self.options.uri)
        return self._client

    # -- what is logged -------------------------------------------------------------------------

    def log_epoch(self, row: dict[str, Any]) -> None:
        from mlflow.entities import Metric

        run_id = self.start()
        self.step += 1
        stamp = _now_ms()
        metrics = [
            Metric(key, float(value), stamp, self.step)
            for key, value in row.items()
            if key not in ("epoch", "member") and _is_number(value)
        ]
        for start in range(0, len(metrics), _BATCH):
            self.client().log_batch(run_id, metrics=metrics[start : start + _BATCH])

    def log_run(self, run: Run) -> None:
        from mlflow.entities import Metric

        run_id = self.start()
        client = self.client()
        client.update_run(run_id, name=run.path.name)
        stamp = _now_ms()
        metrics = [
            Metric(f"final_{split}_{key}", float(values[key]), stamp, 0)
            for split, values in run.metrics.items()
            if isinstance(values, dict)
            for key in _FINAL
            if _is_number(values.get(key))
        ]
        metrics += [
            Metric(key, float(value), stamp, 0)
            for key, value in run.meta.get("timings", {}).items()
            if _is_number(value)
        ]
        client.log_batch(run_id, metrics=metrics)
        self.set_tags({"launchml.run_dir": str(run.path.resolve())})
        if not self.options.artifacts:
            return
        with tempfile.TemporaryDirectory(prefix="launchml-report-") as scratch:
            client.log_artifact(run_id, str(_report(run, Path(scratch))))
        client.log_artifacts(run_id, str(run.path), artifact_path="run")

    def set_tags(self, tags: dict[str, str]) -> None:
        from mlflow.entities import RunTag

        run_id = self.start()
        self.client().log_batch(run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

    def _log_params(self, params: dict[str, str]) -> None:
        from mlflow.entities import Param

        assert self.run_id is not None
        items = [Param(k, v[:_PARAM_CHARS]) for k, v in params.items()]
        for start in range(0, len(items), _BATCH):
            self.client().log_batch(self.run_id, params=items[start : start + _BATCH])


def flatten_config(config: Config) -> dict[str, str]:
    """The resolved config as ``{dotted.key: value}``: data, train, ``model.type`` and the
    options of the model type in use (the other types' sections would only be noise)."""
    raw = config.model_dump(mode="json")
    model = raw["model"]
    used = {"type": model["type"], model["type"]: model[model["type"]]}
    if model["type"] == "ensemble":
        member = model["ensemble"]["member"]
        used[member] = model[member]
    out: dict[str, str] = {}
    _flatten({"data": raw["data"], "model": used, "train": raw["train"]}, "", out)
    return out


def _flatten(node: Any, prefix: str, out: dict[str, str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            _flatten(value, f"{prefix}{key}.", out)
        return
    out[prefix.rstrip(".")] = node if isinstance(node, str) else json.dumps(node)


def _report(run: Run, directory: Path) -> Path:
    """The run's HTML report, written into ``directory`` (the run directory stays as it was)."""
    from launchml.report.collect import collect
    from launchml.report.page import render

    path = directory / "report.html"
    path.write_text(render(collect(run)), encoding="utf-8")
    return path


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def _now_ms() -> int:
    import time

    return int(time.time() * 1000)
