"""Per-type recipes: a config that sets only the model type (and body) gets the best measured
settings; every key the user sets (YAML, ``--set``, Python) wins; a saved run's config reloads to
the same values, whatever the recipe table says by then."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
import yaml

import launchml
from launchml import recipes
from launchml.artifacts import read_run_config
from launchml.assistant.project import validate_project
from launchml.config import (
    Config,
    DataConfig,
    ModelConfig,
    TrainConfig,
    TransformerConfig,
    load_config,
    validate_config,
)
from launchml.errors import LaunchMLError
from launchml.models import model_type_names
from launchml.models.ensemble import member_config
from launchml.runs import Run
from tests.conftest import write_csv


def leaves(tree: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """``("train.early_stopping.metric", "val_accuracy")``, ... of a nested recipe."""
    out: list[tuple[str, Any]] = []
    for key, value in tree.items():
        if isinstance(value, dict):
            out += leaves(value, f"{prefix}{key}.")
        else:
            out.append((f"{prefix}{key}", value))
    return out


def value_at(config: Any, dotted: str) -> Any:
    node: Any = config
    for part in dotted.split("."):
        node = getattr(node, part)
    return list(node) if isinstance(node, tuple) else node


def type_only(name: str) -> dict[str, Any]:
    """The ``model`` section a new user writes for recipe ``name``: the type (and body)."""
    kind, _, body = name.partition("/")
    return {"type": kind, kind: {"body": body}} if body else {"type": kind}


def test_recipes_are_named_after_model_types_and_bodies() -> None:
    bodies = TransformerConfig.model_fields["body"].annotation.__args__  # type: ignore[union-attr]
    known = {*model_type_names(), *(f"transformer/{body}" for body in bodies)}
    assert set(recipes.RECIPES) <= known - {"transformer", "ensemble"}
    assert {f"transformer/{body}" for body in bodies} <= set(recipes.RECIPES)


@pytest.mark.parametrize("name", sorted(recipes.RECIPES))
def test_a_type_only_config_gets_its_recipe(name: str) -> None:
    config = load_config({"data": {"train": "x.csv"}, "model": type_only(name)})
    assert recipes.recipe_name(config.model) == name
    for key, value in leaves(recipes.RECIPES[name]):
        assert value_at(config, key) == value, key


def test_the_transformer_default_body_gets_the_frozen_recipe() -> None:
    config = load_config({"data": {"train": "x.csv"}, "model": {"type": "transformer"}})
    frozen = recipes.RECIPES["transformer/frozen"]
    assert config.model.transformer.body == "frozen"
    assert config.train.epochs == frozen["train"]["epochs"] != TrainConfig().epochs
    assert config.train.lr == frozen["train"]["lr"] != TrainConfig().lr


def test_keys_set_in_the_yaml_file_and_by_set_win(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "data: {train: t.csv}\n"
        "model: {type: transformer, transformer: {body: finetune, pooling: cls}}\n"
        "train: {epochs: 2, early_stopping: {patience: 1}}\n",
        encoding="utf-8",
    )
    recipe = recipes.RECIPES["transformer/finetune"]
    config = load_config(path, ["train.lr=0.5", "model.transformer.precision=fp32"])
    assert (config.train.epochs, config.train.lr) == (2, 0.5)
    assert config.model.transformer.pooling == "cls"
    assert config.model.transformer.precision == "fp32"
    assert config.train.early_stopping.patience == 1  # set, inside a section the recipe fills
    stopping = recipe["train"]["early_stopping"]
    assert config.train.early_stopping.metric == stopping["metric"]  # not set: the recipe's
    assert config.model.transformer.head_lr == recipe["model"]["transformer"]["head_lr"]


def test_a_user_value_equal_to_the_class_default_still_wins() -> None:
    """Set means written down, not "different from the default"."""
    default_epochs = TrainConfig.model_fields["epochs"].default
    raw = {"data": {"train": "x.csv"}, "model": {"type": "transformer"}}
    config = load_config({**raw, "train": {"epochs": default_epochs}})
    recipe_epochs = recipes.RECIPES["transformer/frozen"]["train"]["epochs"]
    assert config.train.epochs == default_epochs != recipe_epochs


def test_sections_built_in_python_count_only_the_keys_given() -> None:
    config = Config(
        data=DataConfig(train="x.csv"),
        model=ModelConfig(type="transformer"),
        train=TrainConfig(lr=0.5),
    )
    assert config.train.lr == 0.5
    assert config.train.epochs == recipes.RECIPES["transformer/frozen"]["train"]["epochs"]


def test_a_section_assigned_later_is_taken_as_given() -> None:
    config = load_config({"data": {"train": "x.csv"}, "model": {"type": "transformer"}})
    config.train = TrainConfig(epochs=3)
    assert isinstance(config.train, TrainConfig)
    assert (config.train.epochs, config.train.lr) == (3, TrainConfig().lr)


def test_ensemble_members_get_their_member_types_recipe() -> None:
    model = {"type": "ensemble", "ensemble": {"member": "transformer", "size": 2}}
    config = load_config({"data": {"train": "x.csv"}, "model": model})
    plain = load_config({"data": {"train": "x.csv"}, "model": {"type": "transformer"}})
    assert recipes.recipe_name(config.model) == "transformer/frozen"
    member = member_config(config, 1)
    assert member.model.type == "transformer"
    assert member.model.transformer == plain.model.transformer
    assert member.train == plain.train.model_copy(update={"seed": 1})


def test_a_type_without_a_recipe_keeps_the_class_defaults() -> None:
    config = load_config({"data": {"train": "x.csv"}, "model": {"type": "tfidf_logreg"}})
    assert "tfidf_logreg" not in recipes.RECIPES
    assert config.train == TrainConfig()
    assert config.model.tfidf_logreg == ModelConfig().tfidf_logreg


def test_a_mistyped_type_is_still_reported_by_validation() -> None:
    with pytest.raises(LaunchMLError, match="unknown model type 'trasformer'"):
        load_config({"data": {"train": "x.csv"}, "model": {"type": "trasformer"}})


@pytest.mark.parametrize("name", sorted(recipes.RECIPES))
def test_the_resolved_yaml_reloads_to_the_same_config(name: str) -> None:
    config = load_config({"data": {"train": "x.csv"}, "model": type_only(name)})
    text = config.to_yaml()
    again = validate_config(yaml.safe_load(text))
    assert again.model_dump() == config.model_dump()
    assert again.to_yaml() == text


def test_a_saved_run_reloads_and_resumes_with_its_own_values(
    tmp_path: Path, intent_rows: list[tuple[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_csv(tmp_path / "train.csv", intent_rows)
    raw = {
        "data": {"train": str(tmp_path / "train.csv"), "split": {"val": 0.25}},
        "model": {"type": "mlp"},
        "train": {"epochs": 2},  # fast: set explicitly, the rest from the recipe
    }
    config = load_config(raw)
    run = launchml.train(config, out=tmp_path / "run")
    saved = (run.path / "config.yaml").read_text(encoding="utf-8")
    assert yaml.safe_load(saved)["train"]["epochs"] == 2
    for key, value in leaves(recipes.RECIPES["mlp"]):
        if key != "train.epochs":
            assert value_at(run.config, key) == value, key
    assert run.config.model_dump() == config.model_dump()
    # a later launchml with another recipe table still reads the run's own settings
    monkeypatch.setattr(recipes, "RECIPES", {"mlp": {"train": {"lr": 0.123, "batch_size": 7}}})
    assert Run.load(run.path).config.model_dump() == config.model_dump()


def test_a_saved_config_lacking_a_newer_key_takes_the_class_default_not_the_recipe(
    tmp_path: Path,
) -> None:
    """A run saved before a key existed trained without it: reloading must not invent it."""
    config = load_config(
        {"data": {"train": "x.csv"}, "model": type_only("transformer/finetune")},
    )
    raw = yaml.safe_load(config.to_yaml())
    del raw["train"]["ema_decay"], raw["model"]["transformer"]["head_lr"]
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    saved = read_run_config(tmp_path / "config.yaml")
    assert saved.train.ema_decay is None is TrainConfig().ema_decay
    assert saved.model.transformer.head_lr == TransformerConfig().head_lr
    assert saved.train.epochs == config.train.epochs  # what the file says
    # the same mapping as a user's new config does take the recipe for what it leaves out
    assert load_config(raw).train.ema_decay == config.train.ema_decay == 0.999


def test_an_old_shaped_config_still_loads_and_gets_the_recipe() -> None:
    """``train.eval_batch_size`` (before the ``inference`` section) migrates as before."""
    raw = {
        "data": {"train": "x.csv"},
        "model": {"type": "cnn"},
        "train": {"epochs": 3, "eval_batch_size": 64},
    }
    config = load_config(raw)
    assert config.inference.batch_size == 64
    assert config.train.epochs == 3
    assert config.train.lr == recipes.RECIPES["cnn"]["train"]["lr"]


def test_describe_recipe_lists_only_the_recipe_values_in_effect() -> None:
    raw = {"data": {"train": "x.csv"}, "model": {"type": "mlp"}, "train": {"lr": 0.5}}
    line = recipes.describe_recipe(load_config(raw))
    assert line is not None and line.startswith("recipe mlp ")
    assert "train.batch_size=128" in line and "model.mlp.hidden=[512]" in line
    assert "train.lr" not in line  # set by the user: not the recipe's
    tfidf = load_config({"data": {"train": "x.csv"}, "model": {"type": "tfidf_logreg"}})
    assert recipes.describe_recipe(tfidf) is None


def test_the_cli_says_which_recipe_was_applied_and_the_run_spells_it_out(
    cli: Any, tmp_path: Path, intent_rows: list[tuple[str, str]]
) -> None:
    write_csv(tmp_path / "train.csv", intent_rows)
    config = tmp_path / "config.yaml"
    config.write_text(
        "data: {train: train.csv, split: {val: 0.25}}\nmodel: {type: mlp}\n", encoding="utf-8"
    )
    result = cli("train", config, "--out", tmp_path / "run", "--set", "train.epochs=1")
    assert result.code == 0, result.err
    assert "recipe" not in result.err  # stderr: warnings and the one error line only
    [line] = [line for line in result.out.splitlines() if "recipe mlp" in line]
    assert "train.schedule=onecycle" in line and "train.epochs" not in line
    saved = (tmp_path / "run" / "config.yaml").read_text(encoding="utf-8")
    assert saved.startswith("# The resolved config")
    assert yaml.safe_load(saved)["train"]["batch_size"] == 128  # the recipe's, written down


def test_the_assistant_classifier_takes_the_recipes_too() -> None:
    frozen = validate_project({"data": {"intents": "x.csv"}}).classifier
    assert recipes.recipe_name(frozen.model) == "transformer/frozen"
    for key, value in leaves(recipes.RECIPES["transformer/frozen"]):
        assert value_at(frozen, key) == value, key
    model = {"type": "transformer", "transformer": {"body": "finetune"}}
    finetune = validate_project(
        {"data": {"intents": "x.csv"}, "classifier": {"model": model, "train": {"epochs": 2}}}
    ).classifier
    assert finetune.train.epochs == 2  # set: wins
    assert finetune.train.lr == recipes.RECIPES["transformer/finetune"]["train"]["lr"]
    assert finetune.model.transformer.precision == "bf16"
    lstm = validate_project(
        {"data": {"intents": "x.csv"}, "classifier": {"model": {"type": "lstm"}}}
    ).classifier
    assert lstm.model.lstm.embeddings == "pretrained"
    assert lstm.train.batch_size == recipes.RECIPES["lstm"]["train"]["batch_size"]


def banking_subset(path: Path, per_class: int) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = [(row["text"], row["category"]) for row in csv.DictReader(handle)]
    counts: dict[str, int] = {}
    picked = []
    for text, label in rows:
        if counts.get(label, 0) < per_class:
            counts[label] = counts.get(label, 0) + 1
            picked.append((text, label))
    return picked


@pytest.mark.realdata
def test_the_frozen_recipe_beats_the_old_defaults_on_banking77(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's case on a subset (all 77 intents, 20 training / 10 test texts each): only
    ``model.type: transformer`` set, with and without the recipe."""
    banking = shared_data / "banking77"
    train = write_csv(tmp_path / "train.csv", banking_subset(banking / "train.csv", 20))
    test = write_csv(tmp_path / "test.csv", banking_subset(banking / "test.csv", 10))
    raw = {
        "data": {"train": str(train), "test": str(test), "split": {"val": 0.1, "seed": 0}},
        "model": {"type": "transformer", "transformer": {"cache_dir": str(tmp_path / "cache")}},
    }
    run = launchml.train(raw, out=tmp_path / "recipe")
    with monkeypatch.context() as patch:
        patch.setattr(recipes, "RECIPES", {})
        old = launchml.train(raw, out=tmp_path / "old")  # the features come from the cache
    assert old.config.train.epochs == TrainConfig().epochs
    recipe_accuracy = run.metrics["test"]["accuracy"]
    old_accuracy = old.metrics["test"]["accuracy"]
    # full Banking77: 0.8305 -> 0.9282; on this subset (seeded) 0.813 -> 0.871
    assert recipe_accuracy >= old_accuracy + 0.03, (recipe_accuracy, old_accuracy)
    assert recipe_accuracy >= 0.75
