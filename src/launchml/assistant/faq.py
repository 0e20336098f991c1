"""FAQ retrieval: the FAQ question most similar to a message, by cosine similarity of the shared
encoder's vectors (which are unit length, so cosine is a dot product).

Entries carry an optional language; a message is matched against the entries of its language
and those without one (all entries, when its language has none).

Example::

    index = FaqIndex(entries, encoder.encode([e.question for e in entries]))
    index.search(encoder.encode(["how long does delivery take"])[0], "en")[0].similarity
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from launchml.data.tables import _missing, read_table
from launchml.errors import InvalidInputError


@dataclass(frozen=True)
class FaqEntry:
    id: int
    question: str
    answer: str
    lang: str | None = None


@dataclass(frozen=True)
class FaqMatch:
    """One retrieved entry and its cosine similarity to the message."""

    entry: FaqEntry
    similarity: float

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.entry.id,
            "question": self.entry.question,
            "similarity": round(self.similarity, 4),
        }


class FaqIndex:
    """The FAQ entries and the unit vectors of their questions, one row per entry."""

    def __init__(self, entries: list[FaqEntry], vectors: np.ndarray) -> None:
        assert len(entries) == len(vectors), "one vector per FAQ entry"
        self.entries = entries
        self.vectors = np.asarray(vectors, dtype=np.float32)

    def __len__(self) -> int:
        return len(self.entries)

    def _rows(self, language: str | None) -> np.ndarray:
        rows = [i for i, e in enumerate(self.entries) if e.lang in (None, language)]
        return np.array(rows if rows else range(len(self.entries)), dtype=np.int64)

    def search(self, vector: np.ndarray, language: str | None = None, k: int = 3) -> list[FaqMatch]:
        """The ``k`` most similar entries, best first."""
        if not self.entries:
            return []
        rows = self._rows(language)
        sims = self.vectors[rows] @ np.asarray(vector, dtype=np.float32)
        best = np.argsort(-sims, kind="stable")[:k]
        return [FaqMatch(self.entries[rows[i]], float(sims[i])) for i in best]

    def to_json(self) -> list[dict[str, Any]]:
        return [asdict(e) for e in self.entries]

    @staticmethod
    def entries_from_json(rows: list[dict[str, Any]]) -> list[FaqEntry]:
        return [FaqEntry(**row) for row in rows]


def read_faq(path: Path, languages: list[str]) -> list[FaqEntry]:
    """FAQ entries from a table with columns ``question``, ``answer`` and optionally ``lang``."""
    from launchml.assistant.data import column
    from launchml.data.load import detect_format

    frame = read_table(path, detect_format(path))
    question = column(frame, "question", path)
    answer = column(frame, "answer", path)
    lang = "lang" if "lang" in frame.columns else None
    entries = []
    for i, row in enumerate(frame.to_dict("records")):
        line = f"{path}: row {i + 1}"
        if _missing(row[question]) or not str(row[question]).strip():
            raise InvalidInputError(f"{line}: empty question")
        if _missing(row[answer]) or not str(row[answer]).strip():
            raise InvalidInputError(f"{line}: empty answer for '{row[question]}'")
        code = None if lang is None or _missing(row[lang]) else str(row[lang]).strip() or None
        if code is not None and code not in languages:
            raise InvalidInputError(
                f"{line}: lang {code!r} is not one of the project's languages {languages}"
            )
        entries.append(FaqEntry(i, str(row[question]).strip(), str(row[answer]).strip(), code))
    return entries


def retrieval_scores(ranks: list[int | None]) -> dict[str, float]:
    """Recall@1, recall@3 and mean reciprocal rank from 1-based ranks (None: not found)."""
    n = max(len(ranks), 1)
    return {
        "n": len(ranks),
        "recall_at_1": sum(r == 1 for r in ranks) / n,
        "recall_at_3": sum(r is not None and r <= 3 for r in ranks) / n,
        "mrr": sum(1.0 / r for r in ranks if r) / n,
    }


__all__ = ["FaqEntry", "FaqIndex", "FaqMatch", "read_faq", "retrieval_scores"]
