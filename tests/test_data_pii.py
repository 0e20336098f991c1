"""data.pii: personal data in training texts, redacted or dropped before training, and counted by
``launchml data inspect`` (the assistant's redactor, :mod:`launchml.pii`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from launchml import Run, train
from launchml.config import DataPIIConfig, load_config
from launchml.data.dataset import Dataset
from launchml.data.inspect import inspect_data
from launchml.data.pii import protect
from launchml.errors import InvalidInputError
from tests.conftest import write_csv

# (text, label, kinds of personal data in it)
ROWS = [
    ("mail me at jo@example.com please", "contact", {"EMAIL"}),
    ("my card 4111 1111 1111 1111 was charged twice", "billing", {"CARD"}),
    ("call me on +44 20 7946 0958", "contact", {"PHONE"}),
    ("pay it to DE89 3704 0044 0532 0130 00", "billing", {"IBAN"}),
    ("refund DE89370400440532013000 or mail a@b.co", "billing", {"IBAN", "EMAIL"}),
    ("order ORD-55123 never came", "shipping", {"ORDER"}),
    ("where is my order", "shipping", set()),
    ("my parcel never arrived", "shipping", set()),
    ("the package is late", "shipping", set()),
    ("i was charged twice", "billing", set()),
    ("please refund my money", "billing", set()),
    ("how do i contact you", "contact", set()),
    ("can someone call me back", "contact", set()),
    ("order 12345 is late", "shipping", set()),  # an order number is no card number
]
ORDER = {"ORDER": r"ORD-\d{5}"}


def _dataset() -> Dataset:
    return Dataset(
        [t for t, _, _ in ROWS], [label for _, label, _ in ROWS], "text", "train.csv", []
    )


def _expected_counts() -> dict[str, int]:
    counts: dict[str, int] = {}
    for _, _, kinds in ROWS:
        for kind in kinds:
            counts[kind] = counts.get(kind, 0) + 1
    return dict(sorted(counts.items()))


def test_redact_replaces_every_kind_and_counts_rows_per_kind() -> None:
    options = DataPIIConfig(mode="redact", patterns=ORDER)
    data, notes, counts = protect(_dataset(), options, "train")
    assert counts is not None
    assert counts.rows == sum(1 for *_, kinds in ROWS if kinds) == 6
    assert counts.kinds == _expected_counts() == {
        "CARD": 1, "EMAIL": 2, "IBAN": 2, "ORDER": 1, "PHONE": 1,
    }  # fmt: skip
    assert data.inputs[:6] == [
        "mail me at [EMAIL] please",
        "my card [CARD] was charged twice",
        "call me on [PHONE]",
        "pay it to [IBAN]",
        "refund [IBAN] or mail [EMAIL]",
        "order [ORDER] never came",
    ]
    assert data.inputs[6:] == [t for t, _, _ in ROWS[6:]]  # the rest untouched
    assert data.labels == [label for _, label, _ in ROWS]
    assert notes == [
        "train.csv: data.pii: redacted personal data in 6 row(s) "
        "(CARD 1, EMAIL 2, IBAN 2, ORDER 1, PHONE 1)"
    ]


def test_drop_leaves_rows_out_of_training_but_redacts_a_given_test_file() -> None:
    options = DataPIIConfig(mode="drop", patterns=ORDER)
    dropped, notes, _ = protect(_dataset(), options, "train")
    assert dropped.inputs == [t for t, _, kinds in ROWS if not kinds]
    assert "dropped 6 row(s)" in notes[0]
    scored, _, _ = protect(_dataset(), options, "test")
    assert len(scored) == len(ROWS) and "[EMAIL]" in scored.inputs[0]
    off, notes, counts = protect(_dataset(), DataPIIConfig(mode="off"), "train")
    assert off.inputs == _dataset().inputs and notes == [] and counts is None


def test_drop_refuses_to_leave_nothing() -> None:
    data = Dataset(["jo@example.com", "a@b.co"], ["a", "b"], "text", "t.csv", [])
    with pytest.raises(InvalidInputError, match=r"t.csv: every row.*data.pii: redact"):
        protect(data, DataPIIConfig(mode="drop"), "train")


@pytest.mark.parametrize(
    ("yaml_value", "mode"), [("redact", "redact"), ("drop", "drop"), ("off", "off"), ("no", "off")]
)
def test_data_pii_shorthand(tmp_path: Path, yaml_value: str, mode: str) -> None:
    write_csv(tmp_path / "t.csv", [("a", "x"), ("b", "y")])
    (tmp_path / "c.yaml").write_text(f"data: {{train: t.csv, pii: {yaml_value}}}\n")
    assert load_config(tmp_path / "c.yaml").data.pii.mode == mode  # YAML reads off/no as false


def test_bad_data_pii_names_the_key(tmp_path: Path, cli) -> None:
    write_csv(tmp_path / "t.csv", [("a", "x"), ("b", "y")])
    (tmp_path / "c.yaml").write_text("data: {train: t.csv, pii: hide}\n")
    result = cli("train", tmp_path / "c.yaml", "--out", tmp_path / "run")
    assert result.code == 2
    assert "data.pii.mode: expected 'off', 'redact' or 'drop', got 'hide'" in result.err
    assert not (tmp_path / "run").exists()


def _config(tmp_path: Path, pii: object) -> Path:
    write_csv(tmp_path / "train.csv", [(t, label) for t, label, _ in ROWS] * 2)
    write_csv(tmp_path / "test.csv", [(t, label) for t, label, _ in ROWS[:3]])
    config = {
        "data": {"train": "train.csv", "test": "test.csv", "split": {"val": 0.0}, "pii": pii},
        "model": {"type": "tfidf_logreg", "tfidf_logreg": {"char_ngrams": None}},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_inspect_counts_rows_with_personal_data(tmp_path: Path, cli) -> None:
    path = _config(tmp_path, {"mode": "off", "patterns": ORDER})
    report = inspect_data(load_config(path).data)
    assert report["sources"]["train"]["pii"] == {
        "rows": 12,
        "kinds": {k: 2 * n for k, n in _expected_counts().items()},
    }
    assert report["sources"]["test"]["pii"] == {
        "rows": 3, "kinds": {"CARD": 1, "EMAIL": 1, "PHONE": 1},
    }  # fmt: skip
    result = cli("data", "inspect", path)
    assert "rows with personal data: 12 (CARD 2, EMAIL 4, IBAN 4, ORDER 2, PHONE 2)" in result.out
    assert "set data.pii: redact (or drop) to keep it out of the model" in result.out
    as_json = json.loads(cli("data", "inspect", path, "--json").out)
    assert as_json["sources"]["train"]["pii"]["rows"] == 12


def test_a_redacting_run_never_learns_the_data_and_redacts_what_it_predicts(
    tmp_path: Path,
) -> None:
    run = train(_config(tmp_path, "redact"), tmp_path / "run")
    features = run.model.pipeline_.named_steps["features"]  # type: ignore[attr-defined]
    vocabulary = features.transformer_list[0][1].vocabulary_
    words = {w for ngram in vocabulary for w in ngram.split()}
    assert {"jo", "example", "4111", "7946", "de89"}.isdisjoint(words)
    assert {"email", "card", "phone"} <= words  # the placeholders, lower-cased by tf-idf
    meta = json.loads((run.path / "meta.json").read_text())
    assert meta["pii"] == {
        "mode": "redact",
        "train": {"rows": 10, "kinds": {"CARD": 2, "EMAIL": 4, "IBAN": 4, "PHONE": 2}},
        "test": {"rows": 3, "kinds": {"CARD": 1, "EMAIL": 1, "PHONE": 1}},
    }
    loaded = Run.load(run.path)
    raw = loaded.predict_proba(["write to zed@example.org", "call +44 20 7946 0958"])
    redacted = loaded.predict_proba(["write to [EMAIL]", "call [PHONE]"])
    np.testing.assert_allclose(raw, redacted)
    assert loaded.explain("write to zed@example.org").input == "write to [EMAIL]"


def test_a_dropping_run_trains_on_the_rows_without_personal_data(tmp_path: Path) -> None:
    run = train(_config(tmp_path, {"mode": "drop", "patterns": ORDER}), tmp_path / "run")
    meta = json.loads((run.path / "meta.json").read_text())
    clean_rows = sum(1 for *_, kinds in ROWS if not kinds)
    assert meta["split_sizes"] == {"train": clean_rows, "val": 0, "test": 3}  # deduplicated
    assert run.metrics["test"]["n"] == 3  # the test file is redacted, not dropped


def test_an_exported_bundle_redacts_as_its_run(tmp_path: Path) -> None:
    from launchml.exporter import export
    from launchml.runtime import load_bundle

    run = train(_config(tmp_path, "redact"), tmp_path / "run")
    bundle = load_bundle(export(run.path, quantize="none", out=tmp_path / "bundle").path)
    texts = ["write to zed@example.org", "my card 5555 5555 5555 4444 failed"]
    np.testing.assert_allclose(
        bundle.predict_proba(texts),
        bundle.predict_proba(["write to [EMAIL]", "my card [CARD] failed"]),
    )
    np.testing.assert_allclose(bundle.predict_proba(texts), run.predict_proba(texts), atol=1e-5)
