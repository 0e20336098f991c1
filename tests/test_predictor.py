"""A finished run is a Predictor: the interface the CLI, the server and the assistant use."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from launchml.inference import Predictor
from launchml.pipeline import train


def test_run_is_a_predictor(text_config: Path, tmp_path: Path) -> None:
    run = train(text_config, out=tmp_path / "run")
    assert isinstance(run, Predictor)
    assert run.name == "run"
    assert run.kind == "text"
    assert run.input_shape is None
    proba = run.predict_proba(["where is my parcel", "refund please"])
    assert proba.shape == (2, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    facts = run.describe()
    assert facts["type"] == "tfidf_logreg"
    assert facts["labels"] == run.labels
    assert facts["format"] == "run"
    assert set(facts["metrics"]) == {"val", "test"}
    assert facts["metrics"]["test"]["n"] == 4
