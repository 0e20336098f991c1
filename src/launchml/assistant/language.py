"""Which language a message is in: ``lingua`` restricted to the project's languages, with a
fallback for messages too short or too ambiguous to tell ("danke", "ok", "#48213").

The order of evidence: the language the client states for the message; else the detector's
answer when the message has at least ``min_letters`` letters and the detector is at least
``min_confidence`` sure; else the conversation's language (the last one detected with
confidence); else the project's default language.

Example::

    identifier = LanguageIdentifier(["en", "de"], default="en")
    identifier.identify("Wo ist mein Paket?")             # Detected("de", 0.87, "detected")
    identifier.identify("danke", conversation="de")       # Detected("de", None, "conversation")
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from lingua import IsoCode639_1

from launchml.errors import InvalidInputError

SUPPORTED = frozenset(name.lower() for name in dir(IsoCode639_1) if name.isupper())

Source = Literal["request", "detected", "conversation", "default"]


@dataclass(frozen=True)
class Detected:
    """A message's language, how sure the detector was (None when not asked), and why."""

    language: str
    confidence: float | None
    source: Source


class LanguageIdentifier:
    """Per-message language identification among ``languages`` (ISO 639-1 codes)."""

    def __init__(
        self,
        languages: list[str],
        default: str,
        min_confidence: float = 0.7,
        min_letters: int = 8,
    ) -> None:
        self.languages = list(languages)
        self.default = default
        self.min_confidence = min_confidence
        self.min_letters = min_letters

    @cached_property
    def _detector(self) -> Any:
        from lingua import LanguageDetectorBuilder

        codes = [getattr(IsoCode639_1, code.upper()) for code in self.languages]
        return LanguageDetectorBuilder.from_iso_codes_639_1(*codes).build()

    def scores(self, text: str) -> dict[str, float]:
        """The detector's confidence for each language (summing to 1)."""
        if len(self.languages) == 1:
            return {self.languages[0]: 1.0}
        values = self._detector.compute_language_confidence_values(text)
        return {v.language.iso_code_639_1.name.lower(): float(v.value) for v in values}

    def identify(
        self, text: str, conversation: str | None = None, stated: str | None = None
    ) -> Detected:
        """The language to answer ``text`` in (see the module docstring for the order)."""
        if stated is not None:
            if stated not in self.languages:
                raise InvalidInputError(
                    f"language: {stated!r} is not one of this assistant's languages "
                    f"({', '.join(self.languages)})"
                )
            return Detected(stated, None, "request")
        fallback = (
            Detected(conversation, None, "conversation")
            if conversation in self.languages
            else Detected(self.default, None, "default")
        )
        if len(self.languages) == 1:
            return fallback
        if sum(ch.isalpha() for ch in text) < self.min_letters:
            return fallback
        scores = self.scores(text)
        best = max(scores, key=lambda code: scores[code]) if scores else None
        if best is None or scores[best] < self.min_confidence:
            return fallback
        return Detected(best, round(scores[best], 4), "detected")


__all__ = ["SUPPORTED", "Detected", "LanguageIdentifier"]
