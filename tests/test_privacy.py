"""Differentially private training: the settings refused up front, the budget spent and
recorded, Poisson batches, per-example clipping bounding what one example can change, LSTMs
through DPLSTM and back, the frozen transformer head, and DP per federated client."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import launchml
from launchml.config import PrivacyConfig, TrainConfig
from launchml.privacy import DPTraining, dp_layers
from tests.conftest import write_csv


def images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = rng.integers(0, 60, size=(n, 10, 10), dtype=np.uint8)
    for i, c in enumerate(y):
        x[i, :, 3 * c : 3 * c + 3] = 240
    return x, y.astype(np.uint8)


@pytest.fixture
def image_data(tmp_path: Path) -> str:
    x, y = images(64, 0)
    x_test, y_test = images(12, 1)
    np.savez(tmp_path / "img.npz", x_train=x, y_train=y, x_test=x_test, y_test=y_test)
    return str(tmp_path / "img.npz")


def private_config(data: str, model: dict, **train: object) -> dict:
    return {
        "data": {"train": data, "test": data, "split": {"val": 0.25, "seed": 0}},
        "model": model,
        "train": {"epochs": 3, "batch_size": 8, "lr": 0.05, "threads": 1,
                  "privacy": {"epsilon": 4.0, "max_grad_norm": 1.0}, **train},
    }  # fmt: skip


def test_private_cnn_spends_its_budget_and_records_it(image_data: str, tmp_path: Path) -> None:
    model = {"type": "cnn", "cnn": {"widths": [4], "padding": "same", "dense": 8}}
    run = launchml.train(private_config(image_data, model), out=tmp_path / "run")
    spent = run.meta["privacy"]
    assert spent["sampling"] == "poisson" and spent["accountant"] == "rdp"
    assert spent["delta"] == 1e-5 and spent["max_grad_norm"] == 1.0
    # every planned step was taken (48 examples, batch 8: 6 steps x 3 epochs), so the
    # calibrated noise spends (just under) the whole budget
    assert spent["planned_steps"] == 18
    assert spent["steps"] == 18
    assert 0.95 * 4.0 <= spent["epsilon"] <= 4.0
    rows = (run.path / "history.csv").read_text().splitlines()
    column = rows[0].split(",").index("epsilon")
    epsilons = [float(r.split(",")[column]) for r in rows[1:]]
    assert epsilons == sorted(epsilons) and epsilons[-1] == pytest.approx(
        spent["epsilon"], abs=1e-3
    )
    assert run.predict_proba(images(2, 5)[0][..., None]).shape == (2, 3)


def test_a_smaller_budget_means_more_noise() -> None:
    options = {"batch_size": 16, "n_examples": 1000}
    loud = DPTraining(PrivacyConfig(epsilon=1.0), epochs=5, **options)
    quiet = DPTraining(PrivacyConfig(epsilon=8.0), epochs=5, **options)
    assert loud.noise_multiplier > quiet.noise_multiplier > 0
    assert loud.sample_rate == 16 / 1000 and loud.delta == 1e-5
    longer = DPTraining(PrivacyConfig(epsilon=1.0), epochs=20, **options)
    assert longer.noise_multiplier > loud.noise_multiplier  # more steps, same budget


def test_poisson_batches_include_each_example_with_the_sampling_rate() -> None:
    private = DPTraining(PrivacyConfig(epsilon=3.0), epochs=1, batch_size=10, n_examples=200)
    batches = private.epoch_batches(torch.Generator().manual_seed(0), 400)
    sizes = np.array([len(b) for b in batches])
    assert abs(sizes.mean() - 10) < 0.5 and sizes.std() > 1  # sizes vary, as Poisson's do
    counts = np.bincount(torch.cat(batches).numpy(), minlength=200)
    assert abs(counts.mean() / 400 - 0.05) < 0.005
    again = private.epoch_batches(torch.Generator().manual_seed(0), 400)
    assert all(torch.equal(a, b) for a, b in zip(batches, again, strict=True))


def test_per_example_clipping_bounds_what_one_example_changes() -> None:
    """Without noise (noise multiplier 0), one DP step moves the weights by at most
    lr x max_grad_norm x (examples in the batch) / expected batch size, however large the
    examples' gradients are; an ordinary step with the same data moves them much further."""
    private = DPTraining(PrivacyConfig(epsilon=3.0, max_grad_norm=0.1), 1, 4, 100)
    private.noise_multiplier = 0.0
    torch.manual_seed(0)
    module = torch.nn.Linear(5, 3)
    x = torch.randn(4, 5) * 100.0  # huge inputs: huge gradients
    y = torch.tensor([0, 1, 2, 0])
    start = module.weight.detach().clone()
    optimizer = torch.optim.SGD(module.parameters(), lr=1.0)
    trained, stepper = private.attach(module, optimizer)
    torch.nn.functional.cross_entropy(trained(x), y).backward()
    stepper.step()
    private.detach()
    moved = torch.linalg.vector_norm(module.weight.detach() - start).item()
    assert moved <= 1.0 * 0.1 * 4 / 4 + 1e-6
    plain = torch.nn.Linear(5, 3)
    plain.load_state_dict({"weight": start, "bias": torch.zeros(3)})
    torch.nn.functional.cross_entropy(plain(x), y).backward()
    assert torch.linalg.vector_norm(plain.weight.grad).item() > 10 * moved  # type: ignore[arg-type]


def test_lstm_trains_as_dplstm_and_comes_back_as_lstm(tmp_path: Path) -> None:
    rows = [("where is my order", "order"), ("track my parcel", "order"),
            ("refund please", "refund"), ("money back now", "refund")] * 6  # fmt: skip
    write_csv(tmp_path / "train.csv", rows)
    config = {
        "data": {"train": str(tmp_path / "train.csv"), "clean": {"dedupe": False},
                 "split": {"val": 0.0}},
        "model": {"type": "lstm", "lstm": {"embedding_dim": 8, "hidden_size": 8}},
        "train": {"epochs": 2, "batch_size": 6, "threads": 1, "privacy": {"epsilon": 8.0}},
    }  # fmt: skip
    run = launchml.train(config, out=tmp_path / "run")
    assert type(run.model.module_.lstm) is torch.nn.LSTM
    assert run.meta["privacy"]["epsilon"] <= 8.0
    module = run.model.module_
    with dp_layers(module):
        from opacus.layers import DPLSTM

        assert isinstance(module.lstm, DPLSTM)
        inside = run.predict_proba(["refund please"])
    assert type(module.lstm) is torch.nn.LSTM
    np.testing.assert_allclose(inside, run.predict_proba(["refund please"]), atol=1e-6)


def test_frozen_transformer_head_trains_privately(tmp_path: Path) -> None:
    from tests.test_transformer import tiny_bert_dir

    bert = tiny_bert_dir(tmp_path / "bert")
    write_csv(tmp_path / "train.csv", [("card lost", "card"), ("refund me", "refund")] * 8)
    config = {
        "data": {"train": str(tmp_path / "train.csv"), "clean": {"dedupe": False}},
        "model": {"type": "transformer",
                  "transformer": {"pretrained": str(bert), "cache_dir": str(tmp_path / "c")}},
        "train": {"epochs": 1, "batch_size": 4, "threads": 1, "privacy": {"epsilon": 2.0}},
    }  # fmt: skip
    run = launchml.train(config, out=tmp_path / "run")
    assert 0 < run.meta["privacy"]["epsilon"] <= 2.0
    assert "epsilon" in (run.path / "history.csv").read_text().splitlines()[0]


REFUSED = [
    ({"model.type": "ensemble"}, "spending the privacy budget once per member"),
    ({"model.cnn.batch_norm": True}, "set model.cnn.batch_norm=false"),
    ({"train.class_weights": "balanced"}, "set train.class_weights=none"),
    ({"train.accumulate": 2}, "set train.accumulate=1"),
]


@pytest.mark.parametrize(("change", "message"), REFUSED, ids=[m.split()[0] for _, m in REFUSED])
def test_settings_dp_sgd_cannot_honour_are_refused(  # type: ignore[no-untyped-def]
    image_data: str, tmp_path: Path, cli, change: dict, message: str
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(json.dumps(private_config(image_data, {"type": "cnn"})))
    sets = [f"--set={k}={json.dumps(v)}" for k, v in change.items()]
    result = cli("train", config, *sets, "--out", tmp_path / "run")
    assert result.code == 2
    assert result.err.startswith("error: train.privacy: ") and message in result.err
    assert not (tmp_path / "run").exists() and not (tmp_path / "run.partial").exists()


def test_text_mlp_and_finetuned_transformers_are_refused(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    write_csv(tmp_path / "train.csv", [("card lost", "card"), ("refund me", "refund")] * 4)
    config = tmp_path / "c.yaml"
    config.write_text(
        "data: {train: train.csv}\nmodel: {type: mlp}\ntrain: {privacy: {epsilon: 1}}\n"
    )
    result = cli("train", config)
    assert result.code == 2 and "use textcnn or lstm" in result.err
    result = cli("train", config, "--set", "model.type=tfidf_logreg")
    assert result.code == 2 and "not trained by gradient steps" in result.err
    result = cli("train", config, "--set", "model.type=transformer", "--set",
                 "model.transformer.body=finetune")  # fmt: skip
    assert result.code == 2 and "set model.transformer.body=frozen" in result.err


def test_federated_clients_each_train_privately(image_data: str, tmp_path: Path) -> None:
    from launchml.federated import train_federated

    config = private_config(image_data, {"type": "mlp", "mlp": {"hidden": [8]}}, epochs=1)
    config["federated"] = {"clients": 2, "rounds": 2}
    run = train_federated(config, out=tmp_path / "run")
    spent = run.meta["privacy"]
    assert spent["scope"].startswith("per client")
    assert len(spent["epsilon_per_client"]) == 2
    assert spent["epsilon"] == max(spent["epsilon_per_client"]) <= 4.0
    assert spent["planned_steps"] == 2 * 3  # 2 rounds x 1 local epoch x 24 examples / batch 8
    assert TrainConfig.model_validate(run.config.train.model_dump()).privacy is not None
