"""Raw inputs to what a model reads: texts cleaned as in training, images read and resized.

One input in gives ``single=True`` (the caller answers with one prediction), a list or a batch
gives ``single=False``. Torch-free: a run (:class:`launchml.runs.Run`) and an exported bundle
(:mod:`launchml.runtime`) both prepare their inputs here.

Example::

    texts, single = prepare_texts("Where IS my parcel?", clean)  # ["Where IS my parcel?"], True
    images, single = prepare_images(["a.png", "b.png"], (28, 28, 1))  # (2, 28, 28, 1), False
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from launchml.data.clean import clean_for_prediction
from launchml.errors import InvalidInputError


def prepare_texts(inputs: Any, clean: Any) -> tuple[list[str], bool]:
    """Clean one text or a list of texts with the run's ``data.clean`` settings; a text that is
    empty after cleaning is an error (training drops empty texts)."""
    if isinstance(inputs, str):
        return clean_for_prediction([inputs], clean), True
    return clean_for_prediction([str(t) for t in inputs], clean), False


def prepare_images(inputs: Any, shape: tuple[int, int, int]) -> tuple[np.ndarray, bool]:
    """One image or many as ``uint8 (N, H, W, C)`` of ``shape``: file paths (read, converted and
    resized as in training), or arrays ``(H, W, C)`` / ``(N, H, W, C)`` (``(H, W)`` for gray)."""
    from launchml.data.images import read_image_file  # pillow: only for image models

    if isinstance(inputs, str | Path):
        return read_image_file(Path(inputs), shape)[None], True
    if isinstance(inputs, list) and inputs and isinstance(inputs[0], str | Path):
        return np.stack([read_image_file(Path(p), shape) for p in inputs]), False
    array = np.asarray(inputs)
    gray = shape[2] == 1
    if array.shape == shape or (gray and array.shape == shape[:2]):
        return array.reshape((1, *shape)).astype(np.uint8), True
    if array.shape[1:] == shape or (gray and array.shape[1:] == shape[:2]):
        return array.reshape((len(array), *shape)).astype(np.uint8), False
    raise InvalidInputError(
        f"images must have shape {shape} (H, W, C), or a batch of them; got {array.shape}"
    )


def prepare(
    inputs: Any, kind: str, clean: Any, shape: tuple[int, int, int] | None
) -> tuple[list[str] | np.ndarray, bool]:
    """:func:`prepare_texts` or :func:`prepare_images`, by the model's ``kind``."""
    if kind == "text":
        return prepare_texts(inputs, clean)
    assert shape is not None, "an image model knows its input shape"
    return prepare_images(inputs, shape)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64 (as the torch models compute their probabilities)."""
    z = np.asarray(logits, dtype=np.float64)
    if z.size == 0:
        return z.reshape(len(z), -1)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


__all__ = ["prepare", "prepare_images", "prepare_texts", "softmax"]
