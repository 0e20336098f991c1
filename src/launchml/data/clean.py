"""Text cleaning. The same function runs on training data and on every text sent for prediction.

It imports nothing beyond the standard library and ``launchml.errors`` at module level (the
config class only for type checking), so that an exported bundle's torch-free runtime cleans
texts with this very code.
``options`` is a :class:`launchml.config.CleanConfig`, or anything with the same attributes
(the runtime passes the settings read from ``bundle.json``).
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

from launchml.data.stopwords import ENGLISH_STOP_WORDS
from launchml.errors import InvalidInputError

if TYPE_CHECKING:
    from launchml.config import CleanConfig
    from launchml.data.dataset import Dataset

_SPECIAL = re.compile(r"[^\w\s]", re.UNICODE)
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"\w+|[^\w\s]+", re.UNICODE)


def clean_text(text: str, options: CleanConfig) -> str:
    """Apply the configured cleaning steps to one text.

    >>> clean_text("  Where IS my order?! ", CleanConfig(lowercase=True, strip_special=True))
    'where is my order'
    """
    if options.unicode != "none":
        text = unicodedata.normalize(options.unicode, text)
    if options.lowercase:
        text = text.lower()
    if options.strip_special:
        text = _SPECIAL.sub(" ", text)
    if options.remove_stopwords:
        text = " ".join(w for w in _WORD.findall(text) if w.lower() not in ENGLISH_STOP_WORDS)
    return _SPACES.sub(" ", text).strip()


def clean_texts(texts: list[str], options: CleanConfig) -> list[str]:
    return [clean_text(t, options) for t in texts]


def clean_for_prediction(texts: list[str], options: CleanConfig) -> list[str]:
    """:func:`clean_texts` for texts sent to a trained model, which must not be empty.

    Training drops texts that are empty after cleaning, so a model has never seen one and would
    still answer with a confident label: that is refused, naming the text.
    """
    cleaned = clean_texts(texts, options)
    empty = [i for i, text in enumerate(cleaned) if not text]
    if empty:
        first = texts[empty[0]]
        which = "the text" if len(texts) == 1 else f"text {empty[0] + 1} of {len(texts)}"
        shown = repr(first if len(first) <= 40 else first[:40] + "...")
        raise InvalidInputError(
            f"{which} is empty{' after cleaning' if first.strip() else ''} ({shown}): the "
            "model was trained without empty texts and cannot classify one; send some words"
        )
    return cleaned


def clean_dataset(data: Dataset, options: CleanConfig) -> tuple[Dataset, list[str]]:
    """Clean the texts, drop empty rows, and (if configured) exact duplicates.

    Returns the cleaned dataset and human-readable notes about what was dropped.
    """
    if data.kind != "text":
        return data, []
    assert isinstance(data.inputs, list)
    texts = clean_texts(data.inputs, options)
    keep: list[int] = []
    seen: set[tuple[str, str]] = set()
    empty = duplicates = 0
    for i, (text, label) in enumerate(zip(texts, data.labels, strict=True)):
        if not text:
            empty += 1
            continue
        if options.dedupe:
            if (text, label) in seen:
                duplicates += 1
                continue
            seen.add((text, label))
        keep.append(i)
    from launchml.data.dataset import Dataset

    notes = []
    if empty:
        notes.append(f"{data.source}: dropped {empty} row(s) with empty text")
    if duplicates:
        notes.append(f"{data.source}: dropped {duplicates} duplicate row(s)")
    cleaned = Dataset(texts, data.labels, "text", data.source, data.rows).subset(keep)
    return cleaned, notes
