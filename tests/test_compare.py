"""``launchml compare``: a leaderboard of runs, checked on three runs of the same task."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from launchml.compare import compare_runs
from launchml.config import load_config
from launchml.pipeline import train
from tests.test_report import Page


@pytest.fixture
def three_runs(text_config: Path, tmp_path: Path) -> list[Path]:
    overrides = {
        "tfidf": [],
        "tfidf-weak": ["model.tfidf_logreg.C=0.01", "model.tfidf_logreg.char_ngrams=null"],
        "mlp": ["model.type=mlp", "model.mlp.hidden=[16]", "train.epochs=3", "train.lr=0.01"],
    }
    return [
        train(load_config(text_config, items), out=tmp_path / "runs" / name).path
        for name, items in overrides.items()
    ]


def test_leaderboard_sorted_and_complete(cli, three_runs: list[Path], tmp_path: Path) -> None:
    result = cli("compare", *three_runs, "--json", "--html", tmp_path / "board.html")
    assert result.code == 0, result.err
    rows = json.loads(result.out)
    assert [r["rank"] for r in rows] == [1, 2, 3]
    assert {r["model"] for r in rows} == {"tfidf_logreg", "mlp"}
    f1 = [r["macro_f1"] for r in rows]
    assert f1 == sorted(f1, reverse=True)
    for row in rows:  # every column of the issue is filled
        for key in ("accuracy", "macro_f1", "ece", "train_seconds", "latency_ms", "size_mb"):
            assert row[key] is not None, (row["run"], key)
        assert row["evaluated_on"] == "test"

    board = (tmp_path / "board.html").read_text(encoding="utf-8")
    page = Page(board)
    assert not page.references  # self-contained
    for row in rows:
        assert row["run"] in board
    assert board.index(rows[0]["run"]) < board.index(rows[2]["run"])

    text = cli("compare", *three_runs, "--sort", "ece")
    assert text.code == 0
    lines = text.out.strip().splitlines()
    assert "macro-F1" in lines[0] and "latency" in lines[0]
    ece_order = [r["run"] for r in sorted(rows, key=lambda r: r["ece"])]
    assert [line.split()[1] for line in lines[1:]] == ece_order


def test_compare_on_given_data_matches_evaluate(cli, three_runs: list[Path], tmp_path: Path):
    rows, notes = compare_runs(three_runs, data=tmp_path / "test.csv", sort="accuracy")
    assert not notes
    for row in rows:
        evaluated = json.loads(
            cli("evaluate", row["path"], "--data", tmp_path / "test.csv", "--json").out
        )
        assert row["accuracy"] == evaluated["accuracy"]
        assert row["ece"] == pytest.approx(evaluated["ece"])
        assert row["evaluated_on"] == str(tmp_path / "test.csv")


def test_compare_without_data_falls_back_to_metrics_json(three_runs: list[Path], tmp_path: Path):
    (tmp_path / "train.csv").unlink()
    rows, notes = compare_runs(three_runs)
    assert len(notes) == 3 and all("metrics.json" in n for n in notes)
    assert all(r["latency_ms"] is None and r["accuracy"] is not None for r in rows)


def test_compare_errors(cli, three_runs: list[Path]) -> None:
    result = cli("compare", *three_runs, "--sort", "acuracy")
    assert result.code == 2
    assert "did you mean 'accuracy'" in result.err
