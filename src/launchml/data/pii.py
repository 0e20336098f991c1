"""Personal data in training texts (``data.pii``), found by the assistant's own redactor.

:mod:`launchml.pii` finds e-mail addresses, phone numbers, payment card numbers, IBANs and the
config's own ``patterns``; here that runs over a dataset's raw texts, before cleaning (cleaning
could lower-case or strip the ``@`` an address is found by):

- ``redact``: every finding becomes ``[EMAIL]``, ``[PHONE]``, ``[CARD]``, ``[IBAN]`` or
  ``[NAME]`` (in every split, and in every text the run later predicts on);
- ``drop``: training rows with any finding are left out; given val/test files are redacted
  instead, so that they are scored whole (as duplicates are dropped from training only);
- ``off``: nothing changes (``launchml data inspect`` still counts them).

Example::

    counts = count_pii(["mail jo@example.com", "hi"], Redactor())   # PIICounts(rows=1, ...)
    data, notes, counts = protect(dataset, config.data.pii, "train")
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from launchml.pii import Finding, Redactor, replace_findings

if TYPE_CHECKING:
    from launchml.config import DataPIIConfig
    from launchml.data.dataset import Dataset


@dataclass
class PIICounts:
    """How many rows contain personal data: ``rows`` with any kind, ``kinds`` per kind (a row
    with two e-mail addresses counts once for ``EMAIL``)."""

    rows: int = 0
    kinds: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"rows": self.rows, "kinds": dict(self.kinds)}

    def describe(self) -> str:
        """``3 row(s) (EMAIL 2, PHONE 1)``."""
        shown = ", ".join(f"{kind} {n}" for kind, n in self.kinds.items())
        return f"{self.rows} row(s)" + (f" ({shown})" if shown else "")


def find_all(texts: list[str], redactor: Redactor) -> list[list[Finding]]:
    return [redactor.find(text) for text in texts]


def counts_of(findings: list[list[Finding]]) -> PIICounts:
    per_kind: Counter[str] = Counter()
    for row in findings:
        per_kind.update({f.kind for f in row})
    return PIICounts(
        rows=sum(1 for row in findings if row),
        kinds={kind: per_kind[kind] for kind in sorted(per_kind)},
    )


def count_pii(texts: list[str], redactor: Redactor) -> PIICounts:
    """The rows of ``texts`` that contain personal data, in all and per kind."""
    return counts_of(find_all(texts, redactor))


def protect(
    data: Dataset, options: DataPIIConfig, role: str
) -> tuple[Dataset, list[str], PIICounts | None]:
    """``data`` with its personal data redacted or its rows dropped as ``options.mode`` says;
    notes for the user, and the counts found (None when off or for images)."""
    if options.mode == "off" or data.kind != "text":
        return data, [], None
    from launchml.data.dataset import Dataset

    assert isinstance(data.inputs, list)
    findings = find_all(data.inputs, Redactor(options))
    counts = counts_of(findings)
    if not counts.rows:
        return data, [], counts
    if options.mode == "drop" and role == "train":
        keep = [i for i, row in enumerate(findings) if not row]
        if not keep:
            from launchml.errors import InvalidInputError

            raise InvalidInputError(
                f"{data.source}: every row contains personal data, so data.pii: drop leaves "
                "nothing to train on; use data.pii: redact"
            )
        note = f"{data.source}: data.pii: dropped {counts.describe()} with personal data"
        return data.subset(keep), [note], counts
    texts = [replace_findings(t, row) for t, row in zip(data.inputs, findings, strict=True)]
    note = f"{data.source}: data.pii: redacted personal data in {counts.describe()}"
    return Dataset(texts, data.labels, "text", data.source, data.rows), [note], counts


__all__ = ["PIICounts", "count_pii", "counts_of", "find_all", "protect"]
