"""The in-memory form every loader produces and every model consumes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

Kind = Literal["text", "image"]


@dataclass
class Dataset:
    """Examples and their labels, as read from one source.

    ``inputs`` is a list of strings for text, or a ``uint8`` array of shape ``(N, H, W, C)`` for
    images (C is 1 for grayscale, 3 for RGB). ``labels`` are the user's label strings (numbers
    from an MNIST file become ``"0"`` ... ``"9"``). ``source`` names where the data came from, for
    messages. ``rows`` holds the original row/file identifiers (1-based line numbers for tables,
    file paths for image folders) so that messages can point at them.
    """

    inputs: list[str] | np.ndarray
    labels: list[str]
    kind: Kind
    source: str
    rows: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, indices: np.ndarray | list[int]) -> Dataset:
        """The examples at ``indices``, in that order."""
        idx = np.asarray(indices, dtype=np.int64)
        if self.kind == "text":
            assert isinstance(self.inputs, list)
            inputs: list[str] | np.ndarray = [self.inputs[i] for i in idx]
        else:
            assert isinstance(self.inputs, np.ndarray)
            inputs = self.inputs[idx]
        rows = [self.rows[i] for i in idx] if self.rows else []
        return Dataset(inputs, [self.labels[i] for i in idx], self.kind, self.source, rows)


def sort_labels(labels: set[str] | list[str]) -> list[str]:
    """Label order used for class indices: numeric when every label is an integer, else text."""
    unique = set(labels)
    if all(label.lstrip("-").isdigit() for label in unique):
        return sorted(unique, key=int)
    return sorted(unique)
