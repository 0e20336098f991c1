"""What a federated client trains, per model type: a torch module and its examples as tensors.

FedAvg averages torch weights, so every torch model type takes part; each is set up exactly as
its own ``fit`` would start (same initial weights from ``train.seed``), and after the last round
the model holds the averaged weights and saves as any run.

- ``mlp`` and ``cnn`` on images, and ``lstm`` / ``textcnn`` / ``mlp`` on texts with a WordPiece
  tokenizer (``tokenizer: minilm`` or a model directory): the whole module. A word vocabulary
  (``tokenizer: word``) would be built from every client's texts in one place, which federated
  training exists to avoid: refused, with the fix.
- ``transformer`` with ``body: frozen``: the head, on features each client computes from its own
  texts with the frozen, public encoder (cached as in centralised training); with
  ``body: finetune`` the whole network.

``tfidf_logreg`` and ``ensemble`` have no single torch module to average: refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from launchml.config import Config
from launchml.data.dataset import Dataset
from launchml.errors import InvalidConfigError
from launchml.inference.batching import Batch, Inputs, TensorInputs, TokenBatches
from launchml.models.base import Model


@dataclass
class FederatedTask:
    """The module every client trains (one object, shared by the in-process clients), the
    training examples as module inputs (:meth:`subset` picks a client's), and validation."""

    module: nn.Module
    train: Inputs
    val: Inputs | None
    what: str  # which weights are federated, for meta.json
    threads: int | None = None  # the clients' torch threads when train.threads is not set

    def subset(self, index: np.ndarray) -> Inputs:
        return Subset(self.train, index)


class Subset:
    """The examples ``index`` of another :class:`Inputs` (a client's share of the data)."""

    def __init__(self, inputs: Inputs, index: np.ndarray) -> None:
        self.inputs = inputs
        self.index = torch.as_tensor(index, dtype=torch.long)

    def __len__(self) -> int:
        return len(self.index)

    def batch(self, index: torch.Tensor) -> Batch:
        return self.inputs.batch(self.index[index])


BUILDERS = ("mlp", "cnn", "lstm", "textcnn", "transformer")


def check_federated(config: Config, kind: str | None = None) -> None:
    """Refuse what federated training cannot do or should not; the settings alone first, then
    (``kind`` given) those that depend on the data's kind."""
    name = config.model.type
    if name not in BUILDERS:
        raise InvalidConfigError(
            f"model.type '{name}': federated training averages the weights of one torch "
            f"network; use one of {', '.join(BUILDERS)}"
        )
    options = getattr(config.model, name)
    if name == "mlp" and kind == "text":
        raise InvalidConfigError(
            f"model.type '{name}': an mlp over texts learns its word vocabulary from all the "
            "training texts in one place, which federated training avoids; use lstm or textcnn "
            "with a pretrained tokenizer (model.<type>.tokenizer: minilm)"
        )
    if getattr(options, "tokenizer", None) == "word":
        raise InvalidConfigError(
            f"model.{name}.tokenizer: 'word' learns its vocabulary from all the training "
            "texts in one place, which federated training avoids; use a pretrained tokenizer "
            f"(--set model.{name}.tokenizer=minilm)"
        )
    if name == "transformer" and options.body == "two_stage":
        raise InvalidConfigError(
            "model.transformer.body: 'two_stage' is not federated; use 'frozen' (clients train "
            "the head) or 'finetune' (clients train the whole network)"
        )


def federated_task(
    model: Model, config: Config, train: Dataset, val: Dataset | None
) -> FederatedTask:
    """Set ``model`` up for training on ``train`` and say what its clients train."""
    check_federated(config, train.kind)
    if config.model.type == "transformer":
        return _transformer_task(model, config, train, val)
    return _torch_task(model, config, train, val)


def _torch_task(model: Any, config: Config, train: Dataset, val: Dataset | None) -> FederatedTask:
    if train.kind not in model.kinds:
        raise InvalidConfigError(
            f"model type '{model.name}' trains on {' or '.join(model.kinds)} data, got "
            f"{train.kind} data from {train.source}; pick another model.type"
        )
    model.build_for(train)
    val_inputs = model.inputs(val.inputs) if val is not None and len(val) else None
    return FederatedTask(model.module_, model.inputs(train.inputs), val_inputs, "all weights")


def _transformer_task(
    model: Any, config: Config, train: Dataset, val: Dataset | None
) -> FederatedTask:
    body = config.model.transformer.body
    source = model.build()
    tokenizer = model.text_tokenizer()
    ids = tokenizer.encode(list(train.inputs))
    val_ids = tokenizer.encode(list(val.inputs)) if val is not None and len(val) else []
    if body == "frozen":
        # each client would encode its own texts with the public encoder: the same numbers
        val_features = TensorInputs(model.frozen_features(source, val_ids)) if val_ids else None
        train_features = TensorInputs(model.frozen_features(source, ids))
        # one small matrix: a second thread only adds overhead (as in centralised training)
        head = model.module_.head()
        return FederatedTask(head, train_features, val_features, "the head", threads=1)
    net = model.module_
    options = config.model.transformer
    net.freeze(options.freeze_embeddings, options.freeze_layers)
    lr = config.train.lr
    net.head_lr_scale = (options.head_lr or lr) / lr
    net.layer_lr_decay = options.layer_lr_decay
    pad = tokenizer.pad_id
    val_inputs = TokenBatches(val_ids, pad) if val_ids else None
    return FederatedTask(net, TokenBatches(ids, pad), val_inputs, "the whole network")


__all__ = ["FederatedTask", "Subset", "check_federated", "federated_task"]
