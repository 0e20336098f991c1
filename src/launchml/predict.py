"""Prediction helpers shared by the CLI (and later the HTTP server)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from launchml.errors import InvalidInputError, NotFoundError
from launchml.inference import Predictor


def read_input_lines(path: Path) -> list[str]:
    """One input per non-empty line of a UTF-8 text file."""
    if not path.is_file():
        raise NotFoundError(f"{path}: input file not found")
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError:
        raise InvalidInputError(f"{path}: not valid UTF-8; re-save the file as UTF-8") from None
    inputs = [line.strip() for line in lines if line.strip()]
    if not inputs:
        raise InvalidInputError(f"{path}: no inputs (the file has no non-empty lines)")
    return inputs


def top_predictions(run: Predictor, inputs: list[str], top: int = 3) -> list[dict[str, Any]]:
    """For each input: the predicted label and the ``top`` labels with their probabilities."""
    if top < 1:
        raise InvalidInputError(f"top={top}: expected how many labels to show, 1 or more")
    proba = np.atleast_2d(run.predict_proba(inputs))
    results = []
    for text, row in zip(inputs, proba, strict=True):
        order = np.argsort(-row, kind="stable")[:top]
        results.append(
            {
                "input": text,
                "label": run.labels[order[0]],
                "top": [
                    {"label": run.labels[i], "probability": round(float(row[i]), 6)} for i in order
                ],
            }
        )
    return results
