"""The command line, end to end, in-process."""

from __future__ import annotations

import json
from pathlib import Path

from launchml.runs import Run


def test_help_everywhere(cli) -> None:
    for args in ([], ["train"], ["evaluate"], ["predict"], ["data", "inspect"], ["runs", "list"]):
        result = cli(*args, "--help")
        assert result.code == 0, args
        assert "Usage" in result.out


def test_train_prints_metrics_and_the_run_directory_last(cli, text_config: Path, tmp_path: Path):
    result = cli("train", text_config, "--out", tmp_path / "run", "--set", "train.seed=3")
    assert result.code == 0, result.err
    lines = result.out.strip().splitlines()
    assert lines[-1] == str(tmp_path / "run")
    assert any(line.startswith("test: accuracy") for line in lines)
    assert Run.load(tmp_path / "run").config.train.seed == 3


def test_evaluate_json(cli, text_config: Path, tmp_path: Path) -> None:
    cli("train", text_config, "--out", tmp_path / "run", "-q")
    result = cli("evaluate", tmp_path / "run", "--data", tmp_path / "test.csv", "--json")
    assert result.code == 0, result.err
    metrics = json.loads(result.out)
    assert {"accuracy", "macro_f1", "n"} <= set(metrics)
    assert metrics["n"] == 4
    run = Run.load(tmp_path / "run")
    assert metrics["accuracy"] == run.metrics["test"]["accuracy"]


def test_predict_text_and_file(cli, text_config: Path, tmp_path: Path) -> None:
    cli("train", text_config, "--out", tmp_path / "run", "-q")
    one = cli("predict", tmp_path / "run", "where is my order", "--json")
    assert one.code == 0, one.err
    answer = json.loads(one.out)
    assert answer["label"] == "order_status"
    probabilities = [p["probability"] for p in answer["top"]]
    assert probabilities == sorted(probabilities, reverse=True)
    assert answer["top"][0]["label"] == "order_status"

    inputs = tmp_path / "inputs.txt"
    inputs.write_text("refund please\n\nnew delivery address\n", encoding="utf-8")
    many = cli("predict", tmp_path / "run", "--input", inputs, "--json", "--top", "2")
    results = json.loads(many.out)
    assert [r["label"] for r in results] == ["refund", "change_address"]
    assert all(len(r["top"]) == 2 for r in results)
    text = cli("predict", tmp_path / "run", "refund please")
    assert text.out.startswith("refund\t")


def test_runs_list(cli, text_config: Path, tmp_path: Path) -> None:
    cli("train", text_config, "--out", tmp_path / "runs" / "first", "-q")
    result = cli("runs", "list", tmp_path / "runs")
    assert result.code == 0
    assert "first" in result.out and "tfidf_logreg" in result.out
    rows = json.loads(cli("runs", "list", tmp_path / "runs", "--json").out)
    assert rows[0]["run"] == "first"


def test_data_inspect_json_and_exit_code(cli, tmp_path: Path) -> None:
    (tmp_path / "train.csv").write_text("text,label\nhi,a\nhi,a\nyo,b\nhey,\n", encoding="utf-8")
    (tmp_path / "test.csv").write_text("text,label\nhi,a\nnew,c\n", encoding="utf-8")
    result = cli(
        "data", "inspect", tmp_path / "train.csv", "--test", tmp_path / "test.csv", "--json"
    )
    assert result.code == 1  # an empty label is a problem that would stop training
    report = json.loads(result.out)
    assert report["sources"]["train"]["duplicate_rows"] == 1
    assert report["sources"]["test"]["shared_with_train"] == 1
    assert report["sources"]["test"]["unseen_labels"] == ["c"]
    assert any("empty or NaN label" in p for p in report["problems"])


def test_resume_and_out_are_exclusive(cli, text_config: Path, tmp_path: Path) -> None:
    result = cli("train", text_config, "--out", tmp_path / "a", "--resume", tmp_path / "b")
    assert result.code == 2
    assert "--resume" in result.err
