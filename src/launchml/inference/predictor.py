"""The one interface of a loaded, ready-to-predict model (a run or an exported bundle)."""

from __future__ import annotations

from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Predictor(Protocol):
    """A loaded model that predicts class probabilities.

    ``predict_proba`` takes a list of raw texts (cleaned by the predictor as in training) for a
    text model, or a ``uint8`` array ``(N, H, W, C)`` of ``input_shape`` images for an image
    model, and returns ``(N, len(labels))`` probabilities in ``labels`` order.
    ``describe()`` gives JSON-able facts: ``name``, ``type`` (model type), ``kind``, ``labels``,
    ``format`` (``"run"`` or ``"bundle"``), ``metrics`` and ``sha256`` (of its manifest, when it
    has one).
    """

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> Literal["text", "image"]: ...

    @property
    def labels(self) -> list[str]: ...

    @property
    def input_shape(self) -> tuple[int, int, int] | None: ...

    def predict_proba(self, inputs: Any) -> np.ndarray: ...

    def describe(self) -> dict[str, Any]: ...
