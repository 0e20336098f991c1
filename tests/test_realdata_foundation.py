"""Real data: the tfidf_logreg baseline on Banking77 (official test split) through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.realdata
def test_tfidf_logreg_on_banking77_reaches_088(cli, shared_data: Path, tmp_path: Path) -> None:
    config = ROOT / "benchmarks" / "configs" / "banking77_tfidf.yaml"
    trained = cli("train", config, "--out", tmp_path / "run", "-q")
    assert trained.code == 0, trained.err
    result = cli(
        "evaluate", tmp_path / "run", "--data", shared_data / "banking77" / "test.csv", "--json"
    )
    assert result.code == 0, result.err
    metrics = json.loads(result.out)
    assert metrics["n"] == 3080
    assert metrics["accuracy"] >= 0.88
    assert len(metrics["per_class"]) == 77


@pytest.mark.realdata
def test_sst2_tsv_with_bare_quotes_loads_completely(shared_data: Path) -> None:
    from launchml.config import load_config
    from launchml.data.load import load_dataset

    config = load_config(
        {"data": {"train": str(shared_data / "sst2" / "dev.tsv"), "quoting": "none"}}
    )
    data = load_dataset(config.data.train, config.data)
    assert len(data) == 872  # PROVENANCE.md: dev 872 rows (1: 444, 0: 428)
    assert data.labels.count("1") == 444


@pytest.mark.realdata
def test_mnist_npz_and_idx_agree(shared_data: Path) -> None:
    import numpy as np

    from launchml.data.images import load_idx, load_npz

    npz = load_npz(shared_data / "mnist" / "mnist.npz", "test")
    idx = load_idx(shared_data / "mnist" / "idx" / "t10k-images-idx3-ubyte.gz")
    assert npz.inputs.shape == (10000, 28, 28, 1)
    np.testing.assert_array_equal(npz.inputs, idx.inputs)
    assert npz.labels == idx.labels
