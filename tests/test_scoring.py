"""Batch scoring (``launchml predict RUN --input FILE [--output OUT]``): tables are read as
tables, text files line by line; chunked, multi-process and single-pass scoring agree with
``Run.predict_proba``; the output appears whole or not at all."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from launchml.runs import Run
from launchml.scoring import score_file
from tests.conftest import write_csv


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tf-idf run trained on a column named ``utterance`` (not one of the guessed names'
    first choice, so the scorer must take it from the run)."""
    from tests.conftest import INTENTS

    root = tmp_path_factory.mktemp("scoring")
    rows = [(text, label) for label, texts in INTENTS.items() for text in texts]
    write_csv(root / "train.csv", rows, header=("utterance", "intent"))
    config = root / "config.yaml"
    config.write_text(
        "data: {train: train.csv, text_column: utterance, label_column: intent, split: {val: 0}}\n"
        "model: {type: tfidf_logreg}\n",
        encoding="utf-8",
    )
    from launchml.pipeline import train

    return train(config, out=root / "run").path


TEXTS = ["where is my parcel", 'refund, "now"', "line one\nline two", "change my address"]


def table_file(path: Path) -> Path:
    """Texts with a comma, quotes and a line break, a label column, a note and an empty text."""
    rows = [(t, "refund", f"note {i}") for i, t in enumerate(TEXTS)] + [("", "refund", "empty")]
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([("utterance", "intent", "note"), *rows])
    return path


def expected(run: Path, texts: list[str]) -> np.ndarray:
    return Run.load(run).predict_proba(texts)


def test_a_csv_is_scored_as_a_table_in_the_training_column(run: Path, tmp_path: Path) -> None:
    out = score_file(run, table_file(tmp_path / "in.csv"), tmp_path / "out.csv", chunk_rows=2)
    frame = pd.read_csv(tmp_path / "out.csv", keep_default_na=False)
    assert out.rows == 5 and out.empty == 1  # the header and the label column are not inputs
    assert list(frame.columns[:2]) == ["row", "utterance"]
    assert frame["row"].tolist() == [1, 2, 3, 4, 5] and frame["utterance"].tolist()[:4] == TEXTS
    proba = expected(run, TEXTS)
    labels = Run.load(run).labels
    assert frame["prediction"].tolist()[:4] == [labels[i] for i in proba.argmax(1)]
    np.testing.assert_allclose(frame["probability"][:4].astype(float), proba.max(1), rtol=1e-12)
    second = np.sort(proba, axis=1)[:, -2]
    np.testing.assert_allclose(frame["probability_2"][:4].astype(float), second, rtol=1e-12)
    assert frame.loc[4, "prediction"] == "" and frame.loc[4, "probability"] == ""
    assert not (tmp_path / "out.csv.partial").exists()


def test_formats_chunks_and_outputs_agree(run: Path, tmp_path: Path) -> None:
    source = table_file(tmp_path / "in.csv")
    frame = pd.read_csv(source, keep_default_na=False)
    frame.to_parquet(tmp_path / "in.parquet")
    with (tmp_path / "in.jsonl").open("w", encoding="utf-8") as handle:
        for record in frame.to_dict("records"):
            handle.write(json.dumps(record) + "\n\n")  # blank lines are skipped
    outputs = [
        score_file(run, source, tmp_path / "a.csv", top=2),
        score_file(run, source, tmp_path / "b.parquet", top=2, chunk_rows=1, keep=["note"]),
        score_file(run, tmp_path / "in.parquet", tmp_path / "c.parquet", top=2, chunk_rows=3),
        score_file(run, tmp_path / "in.jsonl", tmp_path / "d.csv", top=2, chunk_rows=2),
    ]
    frames = [
        pd.read_csv(o.output, keep_default_na=False)
        if o.output.suffix == ".csv"
        else pd.read_parquet(o.output).astype(object).fillna("")
        for o in outputs
    ]
    assert frames[1]["note"].tolist() == [f"note {i}" for i in range(4)] + ["empty"]
    for other in frames[1:]:
        assert other["prediction"].tolist() == frames[0]["prediction"].tolist()
        assert other["prediction_2"].tolist() == frames[0]["prediction_2"].tolist()
        np.testing.assert_allclose(
            pd.to_numeric(other["probability"][:4]), pd.to_numeric(frames[0]["probability"][:4])
        )
    assert pd.read_parquet(tmp_path / "b.parquet")["probability"].dtype == np.float64


def test_a_text_file_is_one_input_per_line(run: Path, tmp_path: Path, cli) -> None:
    lines = tmp_path / "in.txt"
    lines.write_text("where is my parcel\n\n  refund please  \ntext,with,commas\n", "utf-8")
    result = cli("predict", run, "--input", lines, "--json", "--top", "1")
    assert result.code == 0, result.err
    rows = json.loads(result.out)
    assert [r["input"] for r in rows] == ["where is my parcel", "refund please", "text,with,commas"]
    result = cli("predict", run, "--input", lines, "--output", tmp_path / "o.csv", "-q")
    assert result.code == 0 and result.out.strip() == str(tmp_path / "o.csv")
    assert pd.read_csv(tmp_path / "o.csv")["row"].tolist() == [1, 3, 4]  # line numbers
    assert "scored 3 rows" in result.err


def test_bad_requests_are_one_line_errors_and_leave_nothing(run: Path, tmp_path: Path, cli):
    source = table_file(tmp_path / "in.csv")
    cases = {
        ("--column", "utterence"): "no column 'utterence' (--column); columns are: utterance, "
        "intent, note; did you mean 'utterance'?",
        ("--keep", "id"): "no column 'id' (--keep)",
        ("--keep", "prediction"): "no column 'prediction' (--keep)",
        ("--format", "xml"): "--format xml: expected one of",
        ("--top", "0"): "--top 0: expected",
    }
    for args, message in cases.items():
        result = cli("predict", run, "--input", source, "--output", tmp_path / "o.csv", *args)
        assert result.code == 2 and message in result.err, (args, result.err)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(source.read_bytes() + b'"caf\xe9 au lait",refund,x\n')
    result = cli("predict", run, "--input", bad, "--output", tmp_path / "o.parquet", "-q")
    assert result.code == 2 and "not valid UTF-8" in result.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "in.csv"]  # nothing else
    (tmp_path / "taken.csv").write_text("mine\n", encoding="utf-8")
    result = cli("predict", run, "--input", source, "--output", tmp_path / "taken.csv")
    assert result.code == 2 and "already exists" in result.err
    assert (tmp_path / "taken.csv").read_text(encoding="utf-8") == "mine\n"
    result = cli("predict", run, "--input", source, "--output", tmp_path / "o.xlsx")
    assert result.code == 2 and "must end in .csv or .parquet" in result.err


@pytest.mark.slow
def test_two_scoring_processes_give_the_same_file(run: Path, tmp_path: Path) -> None:
    rows = [(f"{t} {i}", "refund") for i in range(60) for t in TEXTS[:2]]
    source = write_csv(tmp_path / "in.csv", rows, header=("utterance", "intent"))
    one = score_file(run, source, tmp_path / "one.parquet", chunk_rows=7)
    two = score_file(run, source, tmp_path / "two.parquet", chunk_rows=7, nproc=2)
    assert one.rows == two.rows == 120
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "one.parquet"), pd.read_parquet(tmp_path / "two.parquet")
    )


def test_a_bundle_scores_a_table_as_its_run_does(run: Path, tmp_path: Path, cli) -> None:
    """``launchml predict BUNDLE --input FILE --output OUT``: the exported bundle (ONNX Runtime,
    no torch) reads the training column and gives the run's labels and probabilities."""
    from launchml.exporter import export
    from launchml.runtime import load_bundle

    bundle = export(
        run, quantize="none", out=tmp_path / "bundle", data=run.parent / "train.csv"
    ).path
    frame = pd.read_csv(table_file(tmp_path / "in.csv"), keep_default_na=False)
    source = tmp_path / "two-text-columns.csv"  # by name alone, "text" or "utterance"?
    frame.rename(columns={"note": "text"}).to_csv(source, index=False)
    result = cli("predict", bundle, "--input", source, "--output", tmp_path / "b.parquet", "-q")
    assert result.code == 0, result.err
    assert "scored 5 rows (1 without a text, not scored)" in result.err
    frame = pd.read_parquet(tmp_path / "b.parquet")
    assert frame["utterance"].tolist()[:4] == TEXTS  # the run's column, recorded in the bundle
    via_run = pd.read_parquet(score_file(run, source, tmp_path / "r.parquet").output)
    assert frame["prediction"].tolist() == via_run["prediction"].tolist()
    np.testing.assert_allclose(frame["probability"][:4], via_run["probability"][:4], atol=1e-5)
    runtime = load_bundle(bundle).predict_proba(TEXTS)
    np.testing.assert_allclose(frame["probability"][:4], runtime.max(1), rtol=1e-12)
    printed = cli("predict", bundle, "--input", source, "--json", "--top", "1")
    assert [r["input"] for r in json.loads(printed.out)] == TEXTS


@pytest.mark.realdata
def test_banking77_test_csv_is_its_3080_rows(run: Path, tmp_path: Path, shared_data: Path) -> None:
    """The issue's report: the file's physical lines (texts with line breaks inside quotes, the
    header) are not inputs; its 3,080 rows are, in the ``text`` column, labels left out."""
    source = shared_data / "banking77" / "test.csv"
    out = score_file(run, source, tmp_path / "b77.parquet", column="text", chunk_rows=1000)
    frame = pd.read_parquet(out.output)
    truth = pd.read_csv(source)
    assert out.rows == len(frame) == len(truth) == 3080 and out.empty == 0
    assert frame["text"].tolist() == truth["text"].tolist()
    assert "category" not in frame.columns
