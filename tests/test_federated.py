"""Federated training: the partitions, Flower's FedAvg over the in-process grid against a
hand-computed weighted average, the CLI's run directory, and the settings it refuses."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import launchml
from launchml import trainer as engine
from launchml.config import load_config
from launchml.federated.partition import partition
from launchml.federated.tasks import federated_task
from launchml.federated.train import local_options, run_fedavg
from launchml.models import get_model_class
from tests.conftest import write_csv


def test_iid_partition_covers_every_example_once_in_equal_shares() -> None:
    y = np.arange(103) % 5
    parts = partition(y, clients=4, scheme="iid", seed=1)
    assert sorted(np.concatenate(parts).tolist()) == list(range(103))
    assert sorted(len(p) for p in parts) == [25, 26, 26, 26]
    assert [p.tolist() for p in parts] == [p.tolist() for p in partition(y, 4, "iid", seed=1)]
    assert all(len(np.unique(y[p])) == 5 for p in parts)  # every client sees every class


def test_by_label_partition_gives_each_client_few_labels() -> None:
    y = np.repeat(np.arange(10), 30)  # 10 classes of 30: shards of 15 never mix 3 labels
    parts = partition(y, clients=10, scheme="by-label", shards_per_client=2, seed=0)
    assert sorted(np.concatenate(parts).tolist()) == list(range(300))
    assert all(len(p) == 30 for p in parts)
    assert all(len(np.unique(y[p])) <= 2 for p in parts)
    assert max(len(np.unique(y[p])) for p in parts) == 2


def test_too_many_clients_for_the_data_is_a_config_error() -> None:
    with pytest.raises(launchml.errors.InvalidConfigError, match="cannot be split into 8"):  # type: ignore[attr-defined]
        partition(np.zeros(5, dtype=int), clients=8, scheme="iid")


def images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """12x12 grayscale: class c has a bright column block c."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = rng.integers(0, 60, size=(n, 12, 12), dtype=np.uint8)
    for i, c in enumerate(y):
        x[i, :, 4 * c : 4 * c + 3] = 240
    return x, y.astype(np.uint8)


@pytest.fixture
def image_config(tmp_path: Path) -> dict:
    x, y = images(60, 0)
    x_test, y_test = images(15, 1)
    np.savez(tmp_path / "img.npz", x_train=x, y_train=y, x_test=x_test, y_test=y_test)
    return {
        "data": {"train": str(tmp_path / "img.npz"), "test": str(tmp_path / "img.npz"),
                 "split": {"val": 0.2, "seed": 0}},
        "model": {"type": "mlp", "mlp": {"hidden": [16]}},
        "train": {"batch_size": 8, "lr": 0.01, "threads": 1, "optimizer": "sgd"},
        "federated": {"clients": 2, "rounds": 1, "local_epochs": 1},
    }  # fmt: skip


def test_fedavg_is_the_example_weighted_mean_of_the_clients_weights(image_config: dict) -> None:
    """One round through Flower's FedAvg and the in-process grid against the average computed
    here: every client trained alone from the same start with the same local options."""
    config = load_config(image_config)
    from launchml.data.load import load_splits
    from launchml.pipeline import encode_labels

    splits = load_splits(config.data)
    y = encode_labels(splits.train, splits.labels)
    model = get_model_class("mlp").from_config(config, splits.labels)
    task = federated_task(model, config, splits.train, None)
    start = {k: v.clone() for k, v in task.module.state_dict().items()}
    parts = [np.arange(0, 10), np.arange(10, len(y))]  # unequal shares: the weights matter

    expected: dict[str, torch.Tensor] = {}
    for client, mine in enumerate(parts):
        task.module.load_state_dict(start)
        options = local_options(config, task, 1, client)
        engine.fit(task.module, task.subset(mine), y[mine], None, None, options, quiet=True)
        for k, v in task.module.state_dict().items():
            expected[k] = expected.get(k, 0) + v.detach().clone() * len(mine) / len(y)

    task.module.load_state_dict(start)
    history = run_fedavg(task, parts, y, None, config)
    for k, v in task.module.state_dict().items():
        torch.testing.assert_close(v, expected[k].to(v.dtype), rtol=1e-5, atol=1e-6)
    assert [row["round"] for row in history] == [1]
    assert history[0]["train_loss"] > 0


def test_federated_cli_saves_a_normal_run(image_config: dict, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "fed.yaml"
    path.write_text(json.dumps({k: v for k, v in image_config.items() if k != "federated"}))
    out = tmp_path / "run"
    result = cli("federated", path, "--clients", "3", "--rounds", "3", "--partition", "by-label",
                 "--out", out)  # fmt: skip
    assert result.code == 0, result.err
    assert result.out.strip().splitlines()[-1] == str(out)
    assert "round 3/3: clients' train loss" in result.err
    run = launchml.Run.load(out)
    assert run.config.federated is not None and run.config.federated.partition == "by-label"
    meta = run.meta["federated"]
    assert meta["clients"] == 3 and meta["rounds"] == 3 and meta["framework"].startswith("flwr ")
    assert sum(c["examples"] for c in meta["client_data"]) == meta_train_size(run)
    history = (out / "history.csv").read_text().splitlines()
    assert history[0].startswith("epoch,round,train_loss,val_loss,val_accuracy")
    assert len(history) == 1 + 3
    x_test, _ = images(15, 1)
    assert run.predict_proba(x_test[..., None]).shape == (15, 3)
    assert run.metrics["test"]["n"] == 15


def meta_train_size(run: launchml.Run) -> int:
    return int(run.meta["split_sizes"]["train"])


def test_federated_refuses_what_it_cannot_federate(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    write_csv(tmp_path / "train.csv", [("card lost", "card"), ("refund me", "refund")] * 6)
    path = tmp_path / "c.yaml"
    path.write_text("data: {train: train.csv}\nmodel: {type: tfidf_logreg}\n")
    out = tmp_path / "run"
    result = cli("federated", path, "--clients", "2", "--out", out)
    assert result.code == 2 and "averages the weights of one torch network" in result.err
    # (an lstm's recipe reads MiniLM's vocabulary, which federates; a word vocabulary does not)
    word_lstm = ["--set", "model.type=lstm", "--set", "model.lstm.tokenizer=word"]
    result = cli("federated", path, "--clients", "2", *word_lstm, "--out", out)
    assert result.code == 2
    assert "tokenizer: 'word' learns its vocabulary" in result.err
    assert "tokenizer=minilm" in result.err
    result = cli("federated", path, "--clients", "2", "--set", "model.type=mlp", "--out", out)
    assert result.code == 2 and "an mlp over texts learns its word vocabulary" in result.err
    assert not out.exists() and not (tmp_path / "run.partial").exists()  # nothing half-made


def test_federated_transformer_trains_the_head_on_frozen_features(tmp_path: Path) -> None:
    from tests.test_transformer import tiny_bert_dir

    bert = tiny_bert_dir(tmp_path / "bert")
    rows = [("where is my order", "order"), ("track my parcel", "order"),
            ("refund please", "refund"), ("money back", "refund")] * 4  # fmt: skip
    write_csv(tmp_path / "train.csv", rows)
    config = {
        "data": {"train": str(tmp_path / "train.csv"), "clean": {"dedupe": False}},
        "model": {"type": "transformer",
                  "transformer": {"pretrained": str(bert), "cache_dir": str(tmp_path / "cache")}},
        "train": {"batch_size": 4, "lr": 0.01, "threads": 1},
        "federated": {"clients": 2, "rounds": 2},
    }  # fmt: skip
    from launchml.federated import train_federated

    run = train_federated(config, out=tmp_path / "run")
    assert run.meta["federated"]["federated_weights"] == "the head"
    assert run.predict(["refund please"])[0] in ("order", "refund")
    again = launchml.Run.load(tmp_path / "run")
    np.testing.assert_allclose(
        again.predict_proba(["money back"]), run.predict_proba(["money back"])
    )
