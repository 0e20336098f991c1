"""``ensemble``: members equal single runs with consecutive seeds; resume keeps finished members."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

import launchml
from launchml.config import load_config
from launchml.errors import LaunchMLError
from launchml.models.mlp import MLP
from launchml.runs import Run, partial_dir

TEXTS = ["where's my parcel", "refund please", "please change the address", "has it shipped"]
MLP_TRAIN = {"epochs": 3, "batch_size": 4, "lr": 0.01, "threads": 1}


def config(text_config: Path, model: dict, seed: int = 5) -> dict:
    folder = text_config.parent
    return {
        "data": {"train": str(folder / "train.csv"), "test": str(folder / "test.csv")},
        "model": model,
        "train": {**MLP_TRAIN, "seed": seed},
    }


def test_members_are_single_runs_with_consecutive_seeds(text_config: Path, tmp_path: Path) -> None:
    model = {"type": "ensemble", "ensemble": {"member": "mlp", "size": 3}}
    ensemble = launchml.train(config(text_config, model), out=tmp_path / "ensemble")
    singles = [
        launchml.train(config(text_config, {"type": "mlp"}, seed), out=tmp_path / f"mlp{seed}")
        for seed in (5, 6, 7)
    ]
    probas = [run.predict_proba(TEXTS) for run in singles]
    assert not np.allclose(probas[0], probas[1])  # the seeds really differ
    np.testing.assert_allclose(ensemble.predict_proba(TEXTS), np.mean(probas, axis=0), rtol=1e-6)

    loaded = Run.load(tmp_path / "ensemble")
    np.testing.assert_array_equal(loaded.predict_proba(TEXTS), ensemble.predict_proba(TEXTS))
    assert loaded.predict(TEXTS[0]) in ("order_status", "refund", "change_address")
    with (tmp_path / "ensemble" / "history.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [row["member"] for row in rows] == ["0"] * 3 + ["1"] * 3 + ["2"] * 3
    single_history = (tmp_path / "mlp6" / "history.csv").read_text().splitlines()
    member1 = [r for r in rows if r["member"] == "1"]
    assert [r["val_accuracy"] for r in member1] == [
        line.split(",")[single_history[0].split(",").index("val_accuracy")]
        for line in single_history[1:]
    ]


def test_resume_keeps_finished_members(
    text_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = {"type": "ensemble", "ensemble": {"member": "mlp", "size": 3}}
    uninterrupted = launchml.train(config(text_config, model), out=tmp_path / "whole")

    fits: list[int] = []
    crash_at = [2]  # the second fit call of the first attempt
    original_fit = MLP.fit

    def crashing_fit(self, train, y_train, val, y_val, ctx):  # type: ignore[no-untyped-def]
        fits.append(ctx.config.train.seed)
        if len(fits) == crash_at[0]:
            raise RuntimeError("simulated crash while training member 1")
        return original_fit(self, train, y_train, val, y_val, ctx)

    monkeypatch.setattr(MLP, "fit", crashing_fit)
    with pytest.raises(RuntimeError, match="simulated crash"):
        launchml.train(config(text_config, model), out=tmp_path / "run")
    assert (partial_dir(tmp_path / "run") / "work" / "member0" / "fitted").is_dir()
    assert not (partial_dir(tmp_path / "run") / "work" / "member1" / "fitted").exists()

    fits.clear()
    crash_at[0] = 0
    resumed = launchml.train(config(text_config, model), resume=tmp_path / "run")
    assert fits == [6, 7]  # members 1 and 2 only: member 0 was loaded, not retrained
    np.testing.assert_array_equal(resumed.predict_proba(TEXTS), uninterrupted.predict_proba(TEXTS))
    assert history_without_times(resumed.path) == history_without_times(uninterrupted.path)


def history_without_times(run_dir: Path) -> list[dict[str, str]]:
    with (run_dir / "history.csv").open() as handle:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(handle)]


def test_bad_member_settings_are_one_clear_error(text_config: Path, tmp_path: Path) -> None:
    with pytest.raises(
        LaunchMLError, match=r"member type 'trasformer'.*did you mean 'transformer'"
    ):
        load_config({"data": {"train": "x.csv"}, "model": {"ensemble": {"member": "trasformer"}}})
    with pytest.raises(LaunchMLError, match="member type 'ensemble'"):
        load_config({"data": {"train": "x.csv"}, "model": {"ensemble": {"member": "ensemble"}}})
    with pytest.raises(LaunchMLError, match="size"):
        load_config({"data": {"train": "x.csv"}, "model": {"ensemble": {"size": 1}}})
    model = {"type": "ensemble", "ensemble": {"member": "cnn", "size": 2}}
    with pytest.raises(
        LaunchMLError, match=r"member 'cnn' works on image data.*train.csv holds texts"
    ):
        launchml.train(config(text_config, model), out=tmp_path / "run")
    assert not (tmp_path / "run").exists() and not partial_dir(tmp_path / "run").exists()


def test_report_of_a_cnn_ensemble_shows_the_first_members_filters(tmp_path: Path) -> None:
    from launchml.report import build_report
    from launchml.report.collect import first_conv_filters
    from tests.test_report import image_config, parse_report

    raw = image_config(tmp_path)
    ensemble = {"member": "cnn", "size": 2}
    raw["model"] = {"type": "ensemble", "ensemble": ensemble, "cnn": raw["model"]["cnn"]}
    run = launchml.train(raw, out=tmp_path / "run")
    members = run.model.members_  # type: ignore[attr-defined]
    filters = first_conv_filters(run.model)
    assert filters is not None
    np.testing.assert_array_equal(filters, first_conv_filters(members[0]))
    assert not np.allclose(filters, first_conv_filters(members[1]))
    page = parse_report(build_report(run.path, out=tmp_path / "page.html"))
    assert "filters" in page.sections and "training-curves" in page.plots
