"""The intent classifier as the assistant uses it: a finished launchml run, read through logits.

When the run is a frozen-body ``transformer`` over the assistant's own encoder, its head reads
the very vectors the encoder computed for the message (once per turn, shared with out-of-scope
detection and FAQ retrieval); any other text model predicts from the text.

Example::

    intents = IntentModel.over(Run.load("RUN/intent"), encoder)
    logits = intents.logits(intents.clean(["where is my parcel"]), vectors)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from launchml import trainer as engine
from launchml.assistant.calibrate import logits_from_proba
from launchml.assistant.encoder import SentenceEncoder
from launchml.config import TrainConfig
from launchml.data.clean import clean_texts
from launchml.runs import Run


class IntentModel:
    def __init__(self, run: Run, shares_encoder: bool) -> None:
        self.run = run
        self.labels = list(run.labels)
        self.shares_encoder = shares_encoder

    @classmethod
    def over(cls, run: Run, encoder: SentenceEncoder) -> IntentModel:
        """The run's classifier, reading ``encoder``'s vectors when it can."""
        return cls(run, encoder.same_features_as(run.model))

    def clean(self, texts: list[str]) -> list[str]:
        """The texts as the run's model saw its training data (``data.clean``)."""
        return clean_texts(list(texts), self.run.config.data.clean)

    def logits(self, cleaned: list[str], vectors: np.ndarray) -> np.ndarray:
        """``(n, n_intents)`` logits (log-probabilities for models without logits)."""
        model = self.run.model
        if self.shares_encoder:
            return head_logits(model.module_.head(), vectors)  # type: ignore[attr-defined]
        if hasattr(model, "logits"):
            return model.logits(cleaned).double().numpy()
        return logits_from_proba(model.predict_proba(cleaned))


@torch.inference_mode()
def head_logits(head: nn.Module, vectors: np.ndarray) -> np.ndarray:
    head.eval()
    if len(vectors) == 0:
        return np.zeros((0, 0))
    return head(torch.as_tensor(vectors, dtype=torch.float32)).double().numpy()


def train_head(
    vectors: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    options: TrainConfig,
    dropout: float,
    val: tuple[np.ndarray, np.ndarray] | None = None,
    work_dir: Path | None = None,
) -> nn.Module:
    """A dropout + linear head trained on fixed vectors with the engine, as the frozen
    ``transformer`` trains its head (used for the stand-in classifiers of the simulation)."""
    torch.manual_seed(options.seed)
    linear = nn.Linear(vectors.shape[1], n_classes)
    nn.init.normal_(linear.weight, std=0.02)  # as TransformerNet initialises its head
    nn.init.zeros_(linear.bias)
    head = nn.Sequential(nn.Dropout(dropout), linear)
    if options.threads is None:
        options = options.model_copy(update={"threads": 1})
    val_inputs = engine.TensorInputs(torch.as_tensor(val[0])) if val is not None else None
    engine.fit(
        head,
        engine.TensorInputs(torch.as_tensor(vectors, dtype=torch.float32)),
        np.asarray(y, dtype=np.int64),
        val_inputs,
        np.asarray(val[1], dtype=np.int64) if val is not None else None,
        options,
        work_dir,
        quiet=True,
    )
    return head.eval()


__all__ = ["IntentModel", "head_logits", "train_head"]
