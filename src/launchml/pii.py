"""Redaction of personal data in free text, before it is stored, logged or trained on.

What is found, in this order of precedence (an earlier kind wins where two overlap):

- your own ``patterns`` (name -> regular expression), replaced by ``[NAME]``;
- e-mail addresses -> ``[EMAIL]``;
- IBANs -> ``[IBAN]``: two letters, two check digits, 11-30 letters/digits (compact, or in
  groups of four), accepted only when the ISO 13616 mod-97 checksum holds;
- payment card numbers -> ``[CARD]``: 13-19 digits, optionally grouped by spaces or dashes,
  accepted only when the Luhn checksum holds (so most order numbers stay);
- phone numbers -> ``[PHONE]``: what Google's libphonenumber (the ``phonenumbers`` package)
  accepts as a valid number, international (``+49 ...``) or national in one of
  ``phone_regions``.

Checksums keep false alarms rare: an order number, a date, a price or a postcode stays as it is.

Example::

    redactor = Redactor()
    redactor.redact("mail me at jo@example.com or call +44 20 7946 0958")
    # 'mail me at [EMAIL] or call [PHONE]'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from pydantic import BaseModel, ConfigDict, Field, field_validator

EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# compact (DE89370400440532013000) or printed in groups of four (DE89 3704 0044 0532 0130 00)
IBAN = re.compile(
    r"\b[A-Z]{2}\d{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,4})?)\b", re.IGNORECASE
)
CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")


class PIIConfig(BaseModel):
    """What :class:`Redactor` looks for (unknown keys are errors)."""

    model_config = ConfigDict(extra="forbid")

    emails: bool = True
    phones: bool = True
    cards: bool = True
    ibans: bool = True
    phone_regions: list[str] = Field(
        default_factory=lambda: ["US", "GB", "DE"],
        description="regions whose national numbers (written without +country code) count",
    )
    patterns: dict[str, str] = Field(
        default_factory=dict,
        description="your own kinds: NAME -> regular expression, replaced by [NAME]",
    )

    @field_validator("phone_regions")
    @classmethod
    def _known_regions(cls, regions: list[str]) -> list[str]:
        import phonenumbers

        known = phonenumbers.SUPPORTED_REGIONS
        for region in regions:
            if region.upper() not in known:
                raise ValueError(f"unknown phone region {region!r}; use ISO codes like 'DE', 'US'")
        return [r.upper() for r in regions]

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, patterns: dict[str, str]) -> dict[str, str]:
        for name, pattern in patterns.items():
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name):
                raise ValueError(f"pattern name {name!r}: letters, digits and _ only")
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"pattern {name!r} is not a regular expression ({exc})") from None
        return patterns


@dataclass(frozen=True)
class Finding:
    """One piece of personal data: its kind (``EMAIL``, ``PHONE``, ...) and where it is."""

    kind: str
    start: int
    end: int


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check of payment card numbers."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def iban_valid(text: str) -> bool:
    """ISO 13616: move the first four characters to the end, letters to 10..35, mod 97 == 1."""
    compact = text.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34 or not compact.isalnum():
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


class Redactor:
    """Finds and replaces personal data; see the module docstring for what counts."""

    def __init__(self, config: PIIConfig | None = None) -> None:
        self.config = config or PIIConfig()

    @cached_property
    def _custom(self) -> list[tuple[str, re.Pattern[str]]]:
        return [(name.upper(), re.compile(p)) for name, p in self.config.patterns.items()]

    def find(self, text: str) -> list[Finding]:
        """Every finding, left to right, none overlapping."""
        candidates: list[Finding] = []  # in order of precedence
        for kind, pattern in self._custom:
            candidates += [Finding(kind, m.start(), m.end()) for m in pattern.finditer(text)]
        if self.config.emails:
            candidates += [Finding("EMAIL", m.start(), m.end()) for m in EMAIL.finditer(text)]
        if self.config.ibans:
            candidates += [
                Finding("IBAN", m.start(), m.end())
                for m in IBAN.finditer(text)
                if iban_valid(m.group())
            ]
        if self.config.cards:
            candidates += [
                Finding("CARD", m.start(), m.end())
                for m in CARD.finditer(text)
                if luhn_valid(re.sub(r"[ -]", "", m.group()))
            ]
        if self.config.phones:
            candidates += self._phones(text)
        kept: list[Finding] = []
        for finding in candidates:
            if finding.end > finding.start and not any(_overlap(finding, k) for k in kept):
                kept.append(finding)
        return sorted(kept, key=lambda f: f.start)

    def _phones(self, text: str) -> list[Finding]:
        import phonenumbers

        found = []
        for region in self.config.phone_regions:
            matcher = phonenumbers.PhoneNumberMatcher(text, region, phonenumbers.Leniency.VALID)
            found += [Finding("PHONE", m.start, m.end) for m in matcher]
        return found

    def redact(self, text: str) -> str:
        """``text`` with every finding replaced by ``[KIND]``."""
        return replace_findings(text, self.find(text))


def replace_findings(text: str, findings: list[Finding]) -> str:
    """``text`` with each of ``findings`` (from :meth:`Redactor.find`) replaced by ``[KIND]``."""
    out, last = [], 0
    for finding in findings:
        out += [text[last : finding.start], f"[{finding.kind}]"]
        last = finding.end
    out.append(text[last:])
    return "".join(out)


def _overlap(a: Finding, b: Finding) -> bool:
    return a.start < b.end and b.start < a.end


__all__ = ["Finding", "PIIConfig", "Redactor", "iban_valid", "luhn_valid", "replace_findings"]
