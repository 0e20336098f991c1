"""The best measured recipe of each model type, used for every key a config leaves out.

A config that says only ``model: {type: transformer}`` trains what was measured best for that
type, not whatever the generic defaults of ``launchml.config`` happen to give (for a frozen
MiniLM on Banking77: 0.928 instead of 0.831, in about the same time). The precedence, per key:
what the config sets (its YAML, ``--set``, or a section built in Python with that key) > the
recipe of the model type (``transformer`` per ``body``; an ``ensemble`` gets its member's) >
the config class's default. A run's ``config.yaml`` holds every resolved value, so reloading it
reproduces the run whatever this table says later.

Where each recipe comes from (``docs/BENCHMARKS.md``; the section "Defaults: the best measured
recipe per model type" re-measures all of them as a new user would, against the class
defaults):

- ``transformer/frozen``: "Pretrained transformers (issue 4)" > "Banking77", recipe *frozen*:
  mean pooling (L2-normalised), head at lr 1e-2 for 40 epochs, best epoch by validation
  accuracy: 0.9282 in 32.5 s.
- ``transformer/finetune``: the same section, *finetune* with mean pooling (not normalised),
  bf16 autocast, head lr 1e-3, body lr 1e-4 with 6% warmup and linear decay, 8 epochs, plus a
  moving average of the weights ("A moving average of the weights": seeds 0-2 at 0.9351 /
  0.9351 / 0.9321, the best single-model mean measured, ~370 s).
- ``transformer/two_stage``: the same section, *two_stage*: the ``cls`` head (exportable as a
  plain Hugging Face classifier), 10 head-only epochs, then the finetune schedule: 0.9315.
- ``cnn`` and ``mlp``: "From-scratch models (issue 3)" > "MNIST": the cnn with batch norm,
  dropout 0.25, light augmentation, one-cycle lr 3e-3, batch 128, 8 epochs (0.9950); the mlp
  784-512-10 with dropout 0.2, one-cycle lr 1e-3, batch 128, 20 epochs (0.9841).
- ``lstm`` and ``textcnn``: MiniLM's WordPiece tokens with its pretrained token vectors,
  fine-tuned at 0.1 x lr ("With pretrained token embeddings": SST-2 0.8624 for the lstm against
  0.8314 from scratch), re-measured on Banking77 in the "Defaults" section.
- ``tfidf_logreg`` has none: its class defaults are its measured recipe ("Foundation", 0.9117).

bf16 (both fine-tuning recipes) is fast on CPUs with AVX-512 BF16 or AMX, where it was
measured; on an older CPU set ``model.transformer.precision: fp32``.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from pydantic import BaseModel

KEEP_BEST_EPOCH = {"metric": "val_accuracy", "patience": None}  # run every epoch, keep the best
# MiniLM's WordPiece tokens and its pretrained token vectors, fine-tuned at a tenth of train.lr
PRETRAINED_TOKENS = {"tokenizer": "minilm", "embeddings": "pretrained", "embedding_lr_scale": 0.1}

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
    "lstm": {
        "model": {"lstm": {**PRETRAINED_TOKENS, "dropout": 0.5}},
        "train": {"epochs": 10, "batch_size": 64, "lr": 2e-3, "early_stopping": KEEP_BEST_EPOCH},
    },
    "textcnn": {
        "model": {"textcnn": PRETRAINED_TOKENS},
        "train": {"epochs": 10, "batch_size": 64, "lr": 2e-3, "early_stopping": KEEP_BEST_EPOCH},
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
    name = recipe_name(raw.get("model"))
    recipe = RECIPES.get(name, {})
    if name in ("lstm", "textcnn") and _sets_tokens(raw.get("model"), name):
        # the pretrained-token keys go together: a tokenizer of one's own keeps its own vectors
        recipe = copy.deepcopy(recipe)
        for key in PRETRAINED_TOKENS:
            recipe["model"][name].pop(key, None)
    train = _plain(raw.get("train"))
    if name == "cnn" and isinstance(train, dict) and train.get("privacy") is not None:
        # DP-SGD cannot train through batch norm (it mixes a batch's examples): keep it off
        recipe = copy.deepcopy(recipe)
        recipe["model"]["cnn"].pop("batch_norm", None)
    return _fill(raw, recipe) if recipe else raw


def _sets_tokens(model: Any, name: str) -> bool:
    model = _plain(model)
    options = _plain(model.get(name)) if isinstance(model, dict) else None
    return isinstance(options, dict) and bool({"tokenizer", "embeddings"} & set(options))


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
            shown = value if isinstance(value, str) else json.dumps(value)  # as --set takes it
            in_effect.append(f"{key}={shown}")
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
