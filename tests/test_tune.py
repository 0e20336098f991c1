"""launchml tune: the search space, studies of normal runs, pruning, best link, resume."""

from __future__ import annotations

import json
import math
from pathlib import Path

import optuna
import pytest
import yaml

from launchml.config import load_config
from launchml.errors import InvalidConfigError, LaunchMLError
from launchml.runs import Run
from launchml.tuning import space
from launchml.tuning.study import tune
from tests.conftest import write_csv

MLP_TUNE = """
data:
  train: train.csv
  test: test.csv
  split: {val: 0.25, seed: 0}
model:
  type: mlp
  mlp: {hidden: [16]}
train:
  epochs: 3
  batch_size: 8
  threads: 1
  early_stopping: {patience: null}
tune:
  metric: val_loss
  startup_trials: 1
  warmup_epochs: 0
  seed: 0
  space:
    train.lr: {low: 1.0e-6, high: 0.3, log: true}
    model.mlp.hidden: {choices: [[16], [32, 16]]}
"""


@pytest.fixture
def data_dir(tmp_path: Path, intent_rows: list[tuple[str, str]]) -> Path:
    write_csv(tmp_path / "train.csv", intent_rows)
    write_csv(tmp_path / "test.csv", [("where's my parcel", "order_status"), ("refund", "refund")])
    return tmp_path


def write_config(directory: Path, text: str, name: str = "tune.yaml") -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def tfidf_config(directory: Path, extra: str = "") -> Path:
    return write_config(
        directory,
        "data: {train: train.csv, test: test.csv, split: {val: 0.25, seed: 0}}\n"
        "model: {type: tfidf_logreg}\n"
        "tune:\n  space:\n"
        "    model.tfidf_logreg.C: {low: 0.001, high: 100, log: true}\n"
        "    model.tfidf_logreg.char_ngrams: {choices: [[2, 4], null]}\n" + extra,
    )


# -- the search space ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            "train.epocs: {low: 1, high: 3}",
            "unknown config key 'train.epocs'; did you mean 'epochs'",
        ),
        ("trian.lr: {low: 0.1, high: 1}", "unknown config key 'trian.lr'; did you mean 'train'"),
        ("train.early_stopping: {choices: [null]}", "'train.early_stopping' is a section"),
        ("train.lr.x: {low: 1, high: 2}", "train.lr is a value, not a section"),
        ("tune.seed: {choices: [1, 2]}", "cannot be searched"),
        ("train.lr: {low: 0.1, high: 0.01}", "low (0.1) must be below high (0.01)"),
        ("train.lr: {low: 0, high: 0.1, log: true}", "log: true needs low > 0"),
        ("train.lr: {low: 0.1}", "a range needs both low and high"),
        ("train.lr: {low: 0.1, high: 1, choices: [1]}", "either low and high"),
        ("train.lr: {lo: 0.1, hi: 1}", "unknown key 'tune.space.train.lr.lo'"),
        (
            "model.type: {choices: {mlp: {model.mlp.dropot: {low: 0, high: 0.5}}}}",
            "tune.space.model.type.choices.mlp: unknown config key 'model.mlp.dropot'; "
            "did you mean 'dropout'",
        ),
    ],
)
def test_space_keys_and_ranges_are_checked_when_loading(
    tmp_path: Path, entry: str, message: str
) -> None:
    path = write_config(tmp_path, f"data: {{train: x.csv}}\ntune:\n  space:\n    {entry}\n")
    with pytest.raises(LaunchMLError) as caught:
        load_config(path)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("model.mlp.dropout: {low: 0.0, high: 1.5}", "model.mlp.dropout: 1.5 is not allowed"),
        ("train.optimizer: {low: 1, high: 2}", "a range (low/high) needs a numeric key"),
        ("train.optimizer: {choices: [adamw, adamm]}", "'adamm' is not allowed"),
        ("train.epochs: {low: 1, high: 2.5}", "integer key; use whole numbers"),
        ("model.type: {choices: [mlp, mpl]}", "unknown model type 'mpl'; did you mean 'mlp'"),
    ],
)
def test_bounds_and_choices_must_be_valid_values(tmp_path: Path, entry: str, message: str) -> None:
    path = write_config(tmp_path, f"data: {{train: x.csv}}\ntune:\n  space:\n    {entry}\n")
    with pytest.raises(InvalidConfigError) as caught:
        space.check_space(load_config(path))
    assert message in str(caught.value)


def test_suggest_follows_key_types_and_per_type_sub_spaces(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        "data: {train: x.csv}\ntune:\n  space:\n"
        "    train.epochs: {low: 2, high: 6}\n"
        "    train.lr: {low: 1.0e-4, high: 1.0e-1, log: true}\n"
        "    model.type:\n      choices:\n"
        "        mlp: {model.mlp.hidden: {choices: [[16], [64, 32]]}}\n"
        "        tfidf_logreg:\n",
    )
    config = load_config(path)
    assert config.tune is not None
    fixed = optuna.trial.FixedTrial(
        {"train.epochs": 4, "train.lr": 0.01, "model.type": "mlp", "model.mlp.hidden": "[64, 32]"}
    )
    params = space.suggest(fixed, config.tune.space)
    assert params == {"train.epochs": 4, "train.lr": 0.01, "model.type": "mlp",
                      "model.mlp.hidden": [64, 32]}  # fmt: skip
    trial_config = space.apply_params(config, params)
    assert trial_config.model.mlp.hidden == [64, 32] and trial_config.train.epochs == 4
    assert trial_config.tune is None  # a trial is a plain run
    # the other type's sub-space is not drawn at all
    tfidf = optuna.trial.FixedTrial(
        {"train.epochs": 2, "train.lr": 0.05, "model.type": "tfidf_logreg"}
    )
    assert "model.mlp.hidden" not in space.suggest(tfidf, config.tune.space)
    # ints stay ints (Optuna's int distribution), floats floats
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    drawn = space.suggest(study.ask(), config.tune.space)
    assert isinstance(drawn["train.epochs"], int) and 2 <= drawn["train.epochs"] <= 6
    assert isinstance(drawn["train.lr"], float) and 1e-4 <= drawn["train.lr"] <= 0.1


def test_tune_needs_a_space_and_validation_data(data_dir: Path) -> None:
    plain = write_config(data_dir, "data: {train: train.csv}\n", "plain.yaml")
    with pytest.raises(InvalidConfigError, match="no tune.space"):
        tune(plain, trials=1, out=data_dir / "s1")
    no_val = tfidf_config(data_dir, "").read_text().replace("val: 0.25", "val: 0.0")
    with pytest.raises(InvalidConfigError, match="test data is never used to choose"):
        tune(write_config(data_dir, no_val, "noval.yaml"), trials=1, out=data_dir / "s2")


# -- a study end to end -------------------------------------------------------------------------


def test_cli_study_of_normal_runs_best_link_report_and_resume(cli, data_dir: Path) -> None:
    config = tfidf_config(data_dir)
    folder = data_dir / "studies" / "shop"
    result = cli("tune", config, "--trials", 3, "--study", "shop", "--out", folder)
    assert result.code == 0, result.err
    assert result.out.strip().splitlines()[-1] == str(folder)
    assert result.out.count("trial ") >= 3

    study = optuna.load_study(study_name="shop", storage=f"sqlite:///{folder / 'optuna.db'}")
    trials = study.get_trials()
    assert [t.number for t in trials] == [0, 1, 2]
    for trial in trials:
        assert trial.state == optuna.trial.TrialState.COMPLETE
        run = Run.load(folder / trial.user_attrs["run"])  # a normal, reloadable run
        assert run.config.tune is None
        assert (
            pytest.approx(trial.params["model.tfidf_logreg.C"]) == run.config.model.tfidf_logreg.C
        )
        assert trial.value == pytest.approx(run.metrics["val"]["accuracy"])
        assert run.predict("refund please") in run.labels
    best = max(trials, key=lambda t: t.value)  # ties: Optuna keeps the first
    assert (folder / "best").resolve() == (folder / best.user_attrs["run"]).resolve()
    listed = cli("runs", "list", folder, "--json")
    assert sorted(r["run"] for r in json.loads(listed.out)) == ["trial-0000", "trial-0001",
                                                                 "trial-0002"]  # fmt: skip
    html = (folder / "report.html").read_text("utf-8")
    for section_id in ("summary", "history", "slices", "trials"):
        assert f'id="{section_id}"' in html
    assert "http://" not in html and "https://" not in html  # offline: nothing fetched
    shown = float(html.split('data-metric="best_value" data-value="')[1].split('"')[0])
    assert shown == pytest.approx(study.best_value)

    again = cli("tune", config, "--trials", 3, "--study", "shop", "--out", folder)
    assert again.code == 2 and "--resume" in again.err and "Traceback" not in again.err
    resumed = cli("tune", config, "--trials", 5, "--study", "shop", "--out", folder, "--resume")
    assert resumed.code == 0, resumed.err
    assert len(study.get_trials()) == 5
    assert (folder / "trial-0004" / "meta.json").is_file()


def test_pruned_trials_stop_at_once_and_leave_no_run(data_dir: Path) -> None:
    config = write_config(data_dir, MLP_TUNE)
    folder = data_dir / "mlp-study"
    result = tune(config, trials=6, out=folder)
    study = optuna.load_study(study_name="tune", storage=f"sqlite:///{folder / 'optuna.db'}")
    pruned = study.get_trials(states=(optuna.trial.TrialState.PRUNED,))
    complete = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert pruned, "lr 1e-6 should stay above the median loss after an epoch"
    assert result.counts["pruned"] == len(pruned) and result.counts["complete"] == len(complete)
    for trial in pruned:
        run = trial.user_attrs["run"]
        assert not (folder / run).exists() and not (folder / f"{run}.partial").exists()
        assert len(trial.intermediate_values) == trial.user_attrs["epochs_run"] < 3
    for trial in complete:  # every epoch reported, then the run's final figure
        assert sorted(trial.intermediate_values) == [1, 2, 3]
        history = Run.load(folder / trial.user_attrs["run"])
        assert history.metrics["val"]["log_loss"] == pytest.approx(trial.value)
    assert result.best_value == min(t.value for t in complete)  # a loss: lower is better
    html = (folder / "report.html").read_text("utf-8")
    assert 'id="curves"' in html and "pruned" in html


def test_resume_continues_an_interrupted_trial_in_its_run_directory(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from launchml.tuning import trial as trial_module

    never_pruned = MLP_TUNE.replace("warmup_epochs: 0", "warmup_epochs: 5")
    config = write_config(data_dir, never_pruned)
    folder = data_dir / "interrupted"
    original = trial_module.Report.__call__

    def interrupt_second_trial(self, row):  # Ctrl-C in trial 1, after its epoch 2
        original(self, row)
        if self.trial.number == 1 and self.step == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(trial_module.Report, "__call__", interrupt_second_trial)
    with pytest.raises(KeyboardInterrupt):
        tune(config, trials=3, out=folder)
    assert (folder / "trial-0001.partial").is_dir() and not (folder / "trial-0001").exists()
    monkeypatch.setattr(trial_module.Report, "__call__", original)

    result = tune(config, trials=3, out=folder, resume=True)
    study = optuna.load_study(study_name="tune", storage=f"sqlite:///{folder / 'optuna.db'}")
    states = [t.state.name for t in study.get_trials()]
    assert states == ["COMPLETE", "FAIL", "COMPLETE", "COMPLETE"]  # 1 failed, queued again as 2
    retried = study.get_trials()[2]
    assert retried.user_attrs["run"] == "trial-0001"
    assert retried.params == study.get_trials()[1].params
    assert not (folder / "trial-0001.partial").exists()
    run = Run.load(folder / "trial-0001")
    assert [int(r) for r in _column(run.path / "history.csv", "epoch")] == [1, 2, 3]
    assert result.counts["complete"] == 3


def test_seeded_studies_draw_the_same_parameters(data_dir: Path) -> None:
    config = tfidf_config(data_dir)
    first = tune(config, trials=2, out=data_dir / "a")
    second = tune(config, trials=2, out=data_dir / "b")
    params = []
    for folder in (first.path, second.path):
        study = optuna.load_study(study_name="tune", storage=f"sqlite:///{folder / 'optuna.db'}")
        params.append([t.params for t in study.get_trials()])
    assert params[0] == params[1]
    assert params[0][0] != params[0][1]  # and trials differ from each other
    assert not math.isnan(first.best_value or math.nan)


def _column(path: Path, name: str) -> list[str]:
    import csv

    with path.open(encoding="utf-8") as handle:
        return [row[name] for row in csv.DictReader(handle)]


def test_trial_configs_are_saved_without_the_tune_section(data_dir: Path) -> None:
    result = tune(tfidf_config(data_dir), trials=1, out=data_dir / "one")
    saved = yaml.safe_load((result.path / "trial-0000" / "config.yaml").read_text("utf-8"))
    assert saved["tune"] is None
    assert yaml.safe_load((result.path / "config.yaml").read_text("utf-8"))["tune"]["space"]
