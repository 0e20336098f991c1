"""Two ``launchml tune`` worker processes finish one study together on a real PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from launchml.runs import Run
from launchml.tuning.storage import storage_url
from tests.conftest import write_csv

pytestmark = pytest.mark.slow

TRIALS = 6


def test_two_workers_share_a_study_without_losing_or_repeating_trials(
    postgres_url: str, tmp_path: Path, intent_rows: list[tuple[str, str]]
) -> None:
    write_csv(tmp_path / "train.csv", intent_rows)
    config = tmp_path / "shared.yaml"
    config.write_text(
        "data: {train: train.csv, split: {val: 0.25, seed: 0}}\n"
        "model: {type: tfidf_logreg}\n"
        "tune:\n  space:\n    model.tfidf_logreg.C: {low: 0.001, high: 1000, log: true}\n"
        "    model.tfidf_logreg.max_iter: {low: 50, high: 500}\n",
        encoding="utf-8",
    )
    plain = postgres_url.replace("postgresql+psycopg://", "postgresql://")  # accepted as well
    command = [sys.executable, "-m", "launchml.cli", "tune", str(config), "--trials", str(TRIALS),
               "--study", "shared", "--out", str(tmp_path / "study"), "--storage"]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    workers = [
        subprocess.Popen(
            [*command, url],
            cwd=tmp_path,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for url in (postgres_url, plain)
    ]
    outputs = [worker.communicate(timeout=300) for worker in workers]
    for worker, (_, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err
        assert "Traceback" not in err

    study = optuna.load_study(study_name="shared", storage=storage_url(postgres_url, tmp_path))
    trials = study.get_trials()
    numbers = [t.number for t in trials]
    assert numbers == list(range(len(trials)))  # none lost
    # the budget is the study's: a worker may start one trial just as the other ends the count
    assert TRIALS <= len(trials) <= TRIALS + 1
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    runs = sorted(t.user_attrs["run"] for t in trials)
    assert len(set(runs)) == len(runs)  # none run twice
    assert len({t.params["model.tfidf_logreg.C"] for t in trials}) == len(trials)
    assert len({t.user_attrs["worker"] for t in trials}) == 2  # both worked on it
    folder = tmp_path / "study"
    assert sorted(p.name for p in folder.glob("trial-*")) == runs  # one directory per trial
    for run in runs:
        Run.load(folder / run)
    assert (folder / "best").resolve() == (folder / study.best_trial.user_attrs["run"]).resolve()
    # each worker printed its own trials, and between them every trial once
    printed = [line.split()[1] for out, _ in outputs for line in out.splitlines()
               if line.startswith("trial ")]  # fmt: skip
    assert sorted(map(int, printed)) == numbers
