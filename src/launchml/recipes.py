"""The best measured recipe of each model type, used for every key a config leaves out.

Placeholder while measuring; filled in below.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel

KEEP_BEST_EPOCH = {"metric": "val_accuracy", "patience": None}  # run every epoch, keep the best

RECIPES: dict[str, dict[str, Any]] = {
    "transformer/frozen": {
        "model": {"transformer": {"pooling": "mean"}},
        "train": {"epochs": 40, "lr": 1e-2, "early_stopping": KEEP_BEST_EPOCH},
    },
    "transformer/finetune": {
        "model": {
            "transformer": {
                "pooling": "mean",
                "normalize": False,
                "precision": "bf16",
                "head_lr": 1e-3,
            }
        },
        "train": {
            "epochs": 8,
            "lr": 1e-4,
            "schedule": "linear",
            "warmup_ratio": 0.06,
            "ema_decay": 0.999,
            "early_stopping": KEEP_BEST_EPOCH,
        },
    },
    "transformer/two_stage": {
        "model": {"transformer": {"pooling": "cls", "precision": "bf16", "head_lr": 1e-3}},
        "train": {
            "epochs": 8,
            "lr": 1e-4,
            "schedule": "linear",
            "warmup_ratio": 0.06,
            "early_stopping": KEEP_BEST_EPOCH,
        },
    },
    "cnn": {
        "model": {"cnn": {"batch_norm": True, "dropout": 0.25}},
        "train": {
            "epochs": 8,
            "batch_size": 128,
            "lr": 3e-3,
            "schedule": "onecycle",
            "augment": {"enabled": True, "shift": 0.08, "rotate": 8.0, "scale": 0.08},
            "early_stopping": KEEP_BEST_EPOCH,
        },
    },
    "mlp": {
        "model": {"mlp": {"hidden": [512], "dropout": 0.2}},
        "train": {
            "epochs": 20,
            "batch_size": 128,
            "lr": 1e-3,
            "schedule": "onecycle",
            "early_stopping": KEEP_BEST_EPOCH,
        },
    },
}


def recipe_name(model: Any) -> str:
    """The recipe a ``model`` section gets: its type, ``transformer/<body>`` for transformers,
    the member's for an ensemble."""
    from launchml.config import EnsembleConfig, ModelConfig, TransformerConfig

    model = _plain(model)
    model = model if isinstance(model, dict) else {}
    kind = model.get("type", ModelConfig.model_fields["type"].default)
    if kind == "ensemble":
        ensemble = _plain(model.get("ensemble"))
        ensemble = ensemble if isinstance(ensemble, dict) else {}
        kind = ensemble.get("member", EnsembleConfig.model_fields["member"].default)
    if kind == "transformer":
        options = _plain(model.get("transformer"))
        options = options if isinstance(options, dict) else {}
        return f"transformer/{options.get('body', TransformerConfig.model_fields['body'].default)}"
    return str(kind)


def with_recipe(raw: dict[str, Any]) -> dict[str, Any]:
    """``raw`` with its model type's recipe filled into the keys it does not set."""
    recipe = RECIPES.get(recipe_name(raw.get("model")), {})
    return _fill(raw, recipe) if recipe else raw


def _fill(given: Any, recipe: dict[str, Any]) -> Any:
    given = _plain(given)
    if not isinstance(given, dict):  # a value where a section belongs: validation reports it
        return given
    filled = dict(given)
    for key, value in recipe.items():
        if key not in filled:
            filled[key] = copy.deepcopy(value)
        elif isinstance(value, dict):
            filled[key] = _fill(filled[key], value)
    return filled


def _plain(value: Any) -> Any:
    """A config section built in Python counts only the keys it was given."""
    return value.model_dump(exclude_unset=True) if isinstance(value, BaseModel) else value


def describe_recipe(config: Any) -> str | None:
    """One line naming the recipe and the values of it in effect in ``config`` (None: none)."""
    name = recipe_name(config.model)
    in_effect = []
    for key, value in _leaves(RECIPES.get(name, {})):
        node = config
        for part in key.split("."):
            node = getattr(node, part)
        if node == value:
            in_effect.append(f"{key}={value}")
    if not in_effect:
        return None
    return f"recipe {name} (launchml.recipes; set a key to override it): {' '.join(in_effect)}"


def _leaves(tree: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key, value in tree.items():
        if isinstance(value, dict):
            out += _leaves(value, f"{prefix}{key}.")
        else:
            out.append((f"{prefix}{key}", value))
    return out
