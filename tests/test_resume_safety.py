"""Class 5 of the bad inputs: resuming never loses work.

An interrupted run (``RUN.partial`` with a checkpoint) survives every refused or failed
``--resume``: another config (the differing keys are named), changed data (refused before any
training), an error during the resumed training. Ctrl-C says how to continue.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import launchml
from launchml import trainer
from launchml.errors import InvalidInputError
from launchml.models.mlp import MLP
from launchml.pipeline import TrainingInterrupted
from tests.bad_input import GOOD_ROWS, Row, check_row, good_csv, snapshot, write_config
from tests.conftest import write_csv

MODEL = (
    "model:\n  type: mlp\n  mlp: {hidden: [16]}\ntrain: {epochs: 3, threads: 1, batch_size: 8}\n"
)


@contextmanager
def ctrl_c_after_first_checkpoint() -> Iterator[None]:
    """Ctrl-C right after the engine has written its first checkpoint."""
    original = trainer._save

    def save_then_stop(*args, **kwargs):
        original(*args, **kwargs)
        raise KeyboardInterrupt

    trainer._save = save_then_stop  # type: ignore[assignment]
    try:
        yield
    finally:
        trainer._save = original  # type: ignore[assignment]


def interrupted_run(tmp: Path) -> Path:
    """``tmp/run.partial`` holding the checkpoint of epoch 1 of 3; returns the config."""
    good_csv(tmp)
    config = write_config(tmp, "  train: train.csv\n  split: {val: 0.25, seed: 0}", MODEL)
    with ctrl_c_after_first_checkpoint(), pytest.raises(TrainingInterrupted):
        launchml.train(config, out=tmp / "run")
    assert (tmp / "run.partial" / "work" / trainer.CHECKPOINT).is_file()
    return config


def resume(*overrides: str, spoil: Callable[[Path], None] = lambda tmp: None):
    def make(tmp: Path) -> list[str]:
        config = interrupted_run(tmp)
        spoil(tmp)
        args = ["train", str(config), "--resume", str(tmp / "run"), "-q"]
        return args + [arg for item in overrides for arg in ("--set", item)]

    return make


def new_rows_and_class(tmp: Path) -> None:
    write_csv(tmp / "train.csv", [*GOOD_ROWS, ("cancel my plan", "cancel"), ("stop it", "cancel")])


def finished(tmp: Path) -> None:
    (tmp / "run").mkdir()


TABLE: dict[str, Row] = {
    "another config": Row(
        resume("train.epochs=5"), ["the config differs", "in train.epochs;", "same config"]
    ),
    "another config, two keys": Row(
        resume("train.epochs=5", "model.mlp.hidden=[8]"), ["model.mlp.hidden, train.epochs"]
    ),
    "changed data (rows and a class added)": Row(
        resume(spoil=new_rows_and_class),
        ["the data changed since this run started", "data.train", "another --out"],
    ),
    "data file gone": Row(
        resume(spoil=lambda tmp: (tmp / "train.csv").unlink()), ["train.csv: file not found"]
    ),
    "run already finished": Row(resume(spoil=finished), ["already finished; nothing to resume"]),
}


@pytest.mark.parametrize("name", list(TABLE))
def test_a_refused_resume_leaves_the_partial_run_as_it_was(name: str, tmp_path: Path, cli) -> None:
    check_row(TABLE[name], tmp_path, cli)  # the snapshot includes run.partial and its checkpoint
    assert (tmp_path / "run.partial" / "work" / trainer.CHECKPOINT).is_file()


def test_an_error_during_the_resumed_training_keeps_the_partial_run(
    tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = interrupted_run(tmp_path)
    before = snapshot(tmp_path / "run.partial")

    def fail(*args, **kwargs):
        raise InvalidInputError("something the user can fix")

    monkeypatch.setattr(MLP, "fit", fail)
    result = cli("train", config, "--resume", tmp_path / "run", "-q")
    assert result.code == 2 and result.err == "error: something the user can fix\n"
    assert snapshot(tmp_path / "run.partial") == before  # before: deleted, checkpoint and all
    monkeypatch.undo()
    assert cli("train", config, "--resume", tmp_path / "run", "-q").code == 0


def test_ctrl_c_says_how_to_resume_and_the_command_works(tmp_path: Path, cli) -> None:
    good_csv(tmp_path)
    config = write_config(tmp_path, "  train: train.csv\n  split: {val: 0.25, seed: 0}", MODEL)
    with ctrl_c_after_first_checkpoint():
        result = cli("train", config, "--out", tmp_path / "run", "-q", "--set", "train.seed=1")
    assert result.code == 130
    assert "Traceback" not in result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("interrupted; the run so far is kept"), lines
    command = shlex.split(lines[0].split("continue it with: ", 1)[1])
    assert command[:3] == ["launchml", "train", str(config)]
    assert command[-2:] == ["--resume", str(tmp_path / "run")] and "train.seed=1" in command
    resumed = cli(*command[1:], "-q")
    assert resumed.code == 0, resumed.err
    assert (tmp_path / "run" / "manifest.json").is_file()
    assert not (tmp_path / "run.partial").exists()


def test_ctrl_c_before_the_first_checkpoint_leaves_nothing(
    tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    good_csv(tmp_path)
    config = write_config(tmp_path, "  train: train.csv", MODEL)

    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(trainer, "fit", stop)
    result = cli("train", config, "--out", tmp_path / "run", "-q")
    assert result.code == 130
    assert result.err == "interrupted before the first checkpoint; nothing was kept\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml", "train.csv"]
