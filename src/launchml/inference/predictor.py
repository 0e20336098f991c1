"""The one interface of a loaded, ready-to-predict model (a run or an exported bundle)."""

from __future__ import annotations

from typing import Any, Literal, Protocol, overload, runtime_checkable

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


class Predictions:
    """``predict`` and ``predict_proba`` for a class that provides ``labels`` and
    ``_proba(inputs) -> (probabilities (n, n_classes), whether one input was given)``: one
    input in -> one answer out; a list or batch in -> a list out (a run and a bundle alike)."""

    labels: list[str]

    def _proba(self, inputs: Any) -> tuple[np.ndarray, bool]:
        raise NotImplementedError

    @overload
    def predict(self, inputs: str) -> str: ...
    @overload
    def predict(self, inputs: Any) -> Any: ...

    def predict(self, inputs: Any) -> Any:
        """The predicted label (the user's string) for one input, or a list for many."""
        proba, single = self._proba(inputs)
        predicted = [self.labels[i] for i in proba.argmax(axis=1)]
        return predicted[0] if single else predicted

    def predict_proba(self, inputs: Any) -> np.ndarray:
        """Class probabilities in ``labels`` order: shape ``(n_classes,)`` for one input,
        ``(n, n_classes)`` for many."""
        proba, single = self._proba(inputs)
        return proba[0] if single else proba
