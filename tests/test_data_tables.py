"""Text tables: CSV, TSV, JSONL, Parquet; column detection; messages that point at the line."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest

from launchml.data.tables import load_table, pick_column, read_table
from launchml.errors import LaunchMLError

ROWS = [("where is my order", "status"), ("refund, please", "refund"), ('say "hi"', "greet")]


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def write_text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_with_quoted_commas_and_quotes(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(ROWS)
    data = load_table(path, "csv", None, None)
    assert data.inputs == [text for text, _ in ROWS]
    assert data.labels == [label for _, label in ROWS]
    assert data.kind == "text"
    assert data.rows == ["line 2", "line 3", "line 4"]  # line 1 is the header


def test_tsv(tmp_path: Path) -> None:
    path = write_text(tmp_path / "t.tsv", "sentence\tlabel\nhello, world\t1\nbye\t0\n")
    data = load_table(path, "tsv", None, None)
    assert data.inputs == ["hello, world", "bye"]
    assert data.labels == ["1", "0"]


def test_tsv_without_quoting_keeps_bare_quotes(tmp_path: Path) -> None:
    # GLUE's SST-2 style: quotes are ordinary characters, and one may open a field
    lines = ['it \'s a "great" film\t1', '"unbalanced quote starts this\t0', "plain\t1"]
    path = write_text(tmp_path / "glue.tsv", "sentence\tlabel\n" + "\n".join(lines) + "\n")
    data = load_table(path, "tsv", None, None, quoting="none")
    assert data.inputs == [line.split("\t")[0] for line in lines]
    assert data.labels == ["1", "0", "1"]


def test_jsonl(tmp_path: Path) -> None:
    records = [{"text": "a b", "intent": "x", "id": 1}, {"text": "c", "intent": "y", "id": 2}]
    lines = [json.dumps(r) for r in records]
    path = write_text(tmp_path / "t.jsonl", lines[0] + "\n\n" + lines[1] + "\n")
    data = load_table(path, "jsonl", None, None)
    assert data.inputs == ["a b", "c"]
    assert data.labels == ["x", "y"]
    assert data.rows == ["line 1", "line 3"]  # the blank line keeps its number


def test_jsonl_bad_line_is_named(tmp_path: Path) -> None:
    path = write_text(tmp_path / "t.jsonl", '{"text": "a", "label": "x"}\n{"text": oops}\n')
    with pytest.raises(LaunchMLError, match=r"t\.jsonl: line 2 is not valid JSON"):
        load_table(path, "jsonl", None, None)
    path = write_text(tmp_path / "t.jsonl", '{"text": "a", "label": "x"}\n[1, 2]\n')
    with pytest.raises(LaunchMLError, match="line 2 is not a JSON object"):
        load_table(path, "jsonl", None, None)


def test_parquet(tmp_path: Path) -> None:
    frame = pd.DataFrame({"review": ["good", "bad", "meh"], "label": [1, 0, 2], "n": [1.5, 2, 3]})
    path = tmp_path / "t.parquet"
    frame.to_parquet(path)
    data = load_table(path, "parquet", None, None)
    assert data.inputs == ["good", "bad", "meh"]
    assert data.labels == ["1", "0", "2"]
    assert data.rows == ["row 1", "row 2", "row 3"]


def test_parquet_float_labels_become_integer_strings(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pd.DataFrame({"text": ["a", "b"], "label": [3.0, 0.0]}).to_parquet(path)
    assert load_table(path, "parquet", None, None).labels == ["3", "0"]


def test_parquet_missing_label_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pd.DataFrame({"text": ["a", "b"], "label": ["x", None]}).to_parquet(path)
    with pytest.raises(LaunchMLError, match="empty or NaN label in column 'label' at row 2"):
        load_table(path, "parquet", None, None)


def test_unreadable_parquet(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "bad.parquet", b"PAR1 not really")
    with pytest.raises(LaunchMLError, match=r"bad\.parquet: not a readable Parquet file"):
        read_table(path, "parquet")


def test_utf8_bom_does_not_leak_into_the_header(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "bom.csv", "text,label\ncafé,a\nthé,b\n".encode("utf-8-sig"))
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    data = load_table(path, "csv", None, None)
    assert data.inputs == ["café", "thé"]
    assert data.labels == ["a", "b"]


def test_columns_are_detected_case_insensitively(tmp_path: Path) -> None:
    path = write_text(tmp_path / "t.csv", "id,Utterance,Intent\n1,hi,greet\n2,bye,leave\n")
    data = load_table(path, "csv", None, None)
    assert data.inputs == ["hi", "bye"]
    assert data.labels == ["greet", "leave"]


def test_two_label_candidates_ask_for_label_column(tmp_path: Path) -> None:
    path = write_text(tmp_path / "t.csv", "text,label,label_name\nhi,0,greet\nbye,1,leave\n")
    with pytest.raises(LaunchMLError) as info:
        load_table(path, "csv", None, None)
    message = str(info.value)
    assert "t.csv" in message
    assert "label, label_name" in message
    assert "data.label_column" in message
    # naming the column resolves the ambiguity
    assert load_table(path, "csv", None, "label_name").labels == ["greet", "leave"]


def test_no_candidate_lists_the_columns(tmp_path: Path) -> None:
    path = write_text(tmp_path / "t.csv", "words,label\nhi,a\nbye,b\n")
    with pytest.raises(LaunchMLError) as info:
        load_table(path, "csv", None, None)
    message = str(info.value)
    assert "data.text_column" in message
    assert "words, label" in message
    assert load_table(path, "csv", "words", None).inputs == ["hi", "bye"]


def test_missing_configured_column_suggests_the_closest(tmp_path: Path) -> None:
    path = write_text(tmp_path / "t.csv", "text,label\nhi,a\n")
    with pytest.raises(LaunchMLError) as info:
        load_table(path, "csv", None, "lable")
    message = str(info.value)
    assert "no column 'lable' (data.label_column)" in message
    assert "columns are: text, label" in message
    assert "did you mean 'label'" in message


def test_same_column_for_text_and_label(tmp_path: Path) -> None:
    path = write_text(tmp_path / "t.csv", "text,label\nhi,a\n")
    with pytest.raises(LaunchMLError, match="text and label column are both 'text'"):
        load_table(path, "csv", None, "text")


def test_pick_column_unit(tmp_path: Path) -> None:
    frame = pd.DataFrame(columns=["Query", "x"])
    assert pick_column(frame, None, ("text", "query"), "text", tmp_path) == "Query"


def test_ragged_row_names_the_line(tmp_path: Path) -> None:
    lines = ["text,label", "a,1", "b,2", "c,3,extra", "d,4"]
    path = write_text(tmp_path / "ragged.csv", "\n".join(lines) + "\n")
    bad_line = next(i for i, line in enumerate(lines, start=1) if line.count(",") == 2)
    with pytest.raises(LaunchMLError) as info:
        load_table(path, "csv", None, None)
    message = str(info.value)
    assert "ragged.csv" in message
    assert f"line {bad_line} has 3 fields, expected 2" in message


def test_ragged_row_after_a_quoted_line_break_names_its_physical_line(tmp_path: Path) -> None:
    # pandas counts records, so it would call the bad row "line 4"; in the file it is line 5
    text = 'text,label\n"two\nlines",a\nc,b\nd,e,extra\nf,a\n'
    path = write_text(tmp_path / "ragged.csv", text)
    bad_line = text.split("\n").index("d,e,extra") + 1
    with pytest.raises(LaunchMLError) as info:
        load_table(path, "csv", None, None)
    assert f"line {bad_line} has 3 fields, expected 2" in str(info.value)


def test_non_utf8_bytes_name_the_line(tmp_path: Path) -> None:
    path = write_bytes(tmp_path / "latin.csv", "text,label\nok,a\ncafé,b\n".encode("latin-1"))
    with pytest.raises(LaunchMLError) as info:
        load_table(path, "csv", None, None)
    message = str(info.value)
    assert "latin.csv: not valid UTF-8" in message
    assert "0xe9" in message
    assert "line 3" in message


def test_empty_and_nan_labels_name_the_lines(tmp_path: Path) -> None:
    path = write_text(tmp_path / "t.csv", "text,label\na,x\nb,\nc,y\nd,NaN\n")
    with pytest.raises(LaunchMLError) as info:
        load_table(path, "csv", None, None)
    message = str(info.value)
    assert "t.csv" in message
    assert "column 'label'" in message
    assert "line 3, line 5" in message
    # inspection reads the same file without failing and keeps the empty labels
    data = load_table(path, "csv", None, None, require_labels=False)
    assert data.labels == ["x", "", "y", ""]


def test_many_empty_labels_are_summarised(tmp_path: Path) -> None:
    path = write_text(tmp_path / "t.csv", "text,label\n" + "".join(f"t{i},\n" for i in range(8)))
    with pytest.raises(LaunchMLError, match=r"line 6 and 3 more"):
        load_table(path, "csv", None, None)


def test_jsonl_null_label_names_the_line(tmp_path: Path) -> None:
    path = write_text(
        tmp_path / "t.jsonl", '{"text": "a", "label": "x"}\n{"text": "b", "label": null}\n'
    )
    with pytest.raises(LaunchMLError, match="at line 2"):
        load_table(path, "jsonl", None, None)


def test_numeric_labels_become_strings(tmp_path: Path) -> None:
    path = write_text(tmp_path / "t.csv", "text,label\na,3\nb,10\n")
    assert load_table(path, "csv", None, None).labels == ["3", "10"]
    records = [{"text": "a", "label": 3}, {"text": "b", "label": 3.0}, {"text": "c", "label": 1}]
    path = write_text(tmp_path / "t.jsonl", "\n".join(json.dumps(r) for r in records))
    assert load_table(path, "jsonl", None, None).labels == ["3", "3", "1"]
    path = write_text(tmp_path / "f.jsonl", '{"text": "a", "label": 2.5}\n')
    assert load_table(path, "jsonl", None, None).labels == ["2.5"]


def test_missing_text_becomes_empty_string(tmp_path: Path) -> None:
    path = write_text(tmp_path / "t.csv", "text,label\n,a\nb,b\n")
    assert load_table(path, "csv", None, None).inputs == ["", "b"]


@pytest.mark.parametrize("content", ["", "  \n\n", "text,label\n"])
def test_empty_files(tmp_path: Path, content: str) -> None:
    path = write_text(tmp_path / "empty.csv", content)
    with pytest.raises(LaunchMLError, match=r"empty\.csv: the file (is empty|has a header)"):
        load_table(path, "csv", None, None)


def test_csv_blank_lines_and_quoted_line_breaks_keep_true_line_numbers(tmp_path: Path) -> None:
    lines = ["text,label", "a,x", "", "b,y", '"two', 'lines",z', "c,", "d,w"]
    path = write_text(tmp_path / "t.csv", "\n".join(lines) + "\n")
    data = load_table(path, "csv", None, None, require_labels=False)
    assert data.inputs == ["a", "b", "two\nlines", "c", "d"]
    starts = [lines.index(x) + 1 for x in ("a,x", "b,y", '"two', "c,", "d,w")]
    assert data.rows == [f"line {n}" for n in starts]
    with pytest.raises(LaunchMLError, match=f"at line {lines.index('c,') + 1}$"):
        load_table(path, "csv", None, None)


def test_jsonl_crlf_and_unicode_line_separator_inside_a_string(tmp_path: Path) -> None:
    records = [{"text": "one\u2028two", "label": "a"}, {"text": "three", "label": "b"}]
    text = "\r\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\r\n"
    path = write_bytes(tmp_path / "t.jsonl", text.encode("utf-8"))
    data = load_table(path, "jsonl", None, None)
    assert data.inputs == ["one\u2028two", "three"]
    assert data.rows == ["line 1", "line 2"]
