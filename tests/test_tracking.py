"""MLflow tracking of train and tune, read back with MLflow's own client."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from launchml.runs import Run
from launchml.tuning.study import tune
from tests.conftest import write_csv

MLP = (
    "data: {train: train.csv, test: test.csv, split: {val: 0.25, seed: 0}}\n"
    "model: {type: mlp, mlp: {hidden: [8]}}\n"
    "train: {epochs: 2, batch_size: 8, threads: 1}\n"
)


@pytest.fixture
def data_dir(tmp_path: Path, intent_rows: list[tuple[str, str]]) -> Path:
    write_csv(tmp_path / "train.csv", intent_rows)
    write_csv(tmp_path / "test.csv", [("where's my parcel", "order_status"), ("refund", "refund")])
    return tmp_path


def test_train_logs_params_epochs_final_metrics_and_artifacts(cli, data_dir: Path) -> None:
    config = data_dir / "mlp.yaml"
    config.write_text(MLP, encoding="utf-8")
    uri = f"file:{data_dir / 'mlruns'}"
    result = cli("train", config, "--out", data_dir / "run", "--mlflow", uri, "-q")
    assert result.code == 0, result.err
    run = Run.load(data_dir / "run")

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("launchml")
    (logged,) = client.search_runs([experiment.experiment_id])
    assert logged.info.status == "FINISHED"
    assert logged.info.run_name == "run"
    params = logged.data.params
    assert params["model.type"] == "mlp" and params["model.mlp.hidden"] == "[8]"
    assert params["train.epochs"] == "2" and "model.cnn.widths" not in params  # used type only
    history = client.get_metric_history(logged.info.run_id, "val_loss")
    assert [m.step for m in history] == [1, 2]
    with (run.path / "history.csv").open(encoding="utf-8") as handle:
        rows = list(__import__("csv").DictReader(handle))
    assert [m.value for m in history] == pytest.approx([float(r["val_loss"]) for r in rows])
    metrics = logged.data.metrics
    assert metrics["final_test_accuracy"] == pytest.approx(run.metrics["test"]["accuracy"])
    assert metrics["final_val_macro_f1"] == pytest.approx(run.metrics["val"]["macro_f1"])
    top = {a.path for a in client.list_artifacts(logged.info.run_id)}
    assert top == {"report.html", "run"}
    inside = {a.path for a in client.list_artifacts(logged.info.run_id, "run")}
    assert {"run/meta.json", "run/metrics.json", "run/config.yaml"} <= inside
    assert not (run.path / "report.html").exists()  # the run directory is left as it was
    local = client.download_artifacts(logged.info.run_id, "run/metrics.json", str(data_dir))
    assert json.loads(Path(local).read_text("utf-8")) == run.metrics


def test_tune_trials_are_nested_under_the_study_run(data_dir: Path) -> None:
    uri = f"sqlite:///{data_dir / 'mlflow.db'}"
    config = data_dir / "tune.yaml"
    config.write_text(
        "data: {train: train.csv, split: {val: 0.25, seed: 0}}\nmodel: {type: tfidf_logreg}\n"
        f"tracking: {{mlflow: {{uri: '{uri}', experiment: search, artifacts: false}}}}\n"
        "tune: {space: {model.tfidf_logreg.C: {low: 0.01, high: 100, log: true}}}\n",
        encoding="utf-8",
    )
    result = tune(config, trials=2, out=data_dir / "study")
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("search")
    runs = client.search_runs([experiment.experiment_id])
    (parent,) = [r for r in runs if r.data.tags.get("launchml.kind") == "study"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert sorted(r.info.run_name for r in children) == ["trial-0000", "trial-0001"]
    assert parent.info.status == "FINISHED"
    assert parent.data.metrics["best_val_accuracy"] == pytest.approx(result.best_value)
    assert parent.data.metrics["trials_complete"] == 2
    import optuna

    study = optuna.load_study(
        study_name="tune", storage=f"sqlite:///{result.path.resolve() / 'optuna.db'}"
    )
    for child in children:
        trial = study.trials[int(child.data.tags["launchml.trial"])]
        assert float(child.data.params["model.tfidf_logreg.C"]) == pytest.approx(
            trial.params["model.tfidf_logreg.C"]
        )
        assert child.data.metrics["final_val_accuracy"] == pytest.approx(trial.value)


def test_a_bad_tracking_uri_is_one_line(cli, data_dir: Path) -> None:
    config = data_dir / "mlp.yaml"
    config.write_text(MLP, encoding="utf-8")
    result = cli("train", config, "--out", data_dir / "run", "--mlflow", "nosuch://x", "-q")
    assert result.code == 2
    assert result.err.startswith("error: tracking.mlflow.uri 'nosuch://x'")
    assert len(result.err.strip().splitlines()) == 1


def test_help_imports_neither_mlflow_nor_optuna() -> None:
    code = (
        "import sys\nfrom launchml.cli import main\ntry:\n    main(['--help'])\n"
        "except SystemExit:\n    pass\n"
        "print([m for m in ('mlflow', 'optuna') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
