"""User-facing errors.

Anything the *user* can fix (a missing file, a bad column, a typo in a config key) is raised as
:class:`LaunchMLError` or one of its subclasses. The CLI prints its message on one line and exits
with status 2, without a traceback. Everything else is a bug in launchml and keeps its traceback.

The subclasses say what *kind* of mistake it is, so that a caller (the HTTP server) can answer
with the right status code without matching message strings:

====================== ============================================== ===========
class                  meaning                                        HTTP status
====================== ============================================== ===========
``NotFoundError``      a file, run, bundle, model or record is absent 404
``InvalidInputError``  data or a request's content cannot be used     422
``InvalidConfigError`` a config key or setting is wrong or impossible 422
``DamagedArtifactError`` a run/bundle on disk is incomplete or altered 500
``ConflictError``      the target exists already / state forbids it   409
====================== ============================================== ===========

A plain :class:`LaunchMLError` is treated as invalid input (422).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import ClassVar


class LaunchMLError(Exception):
    """An error caused by the user's input; the message says what, where, and how to fix it."""

    #: the HTTP status a server answers with for this kind of error
    http_status: ClassVar[int] = 422
    #: a short machine-readable name for JSON error bodies
    code: ClassVar[str] = "invalid_input"


class NotFoundError(LaunchMLError):
    """Something the user named does not exist: a data file, a run directory, a model."""

    http_status = 404
    code = "not_found"


class InvalidInputError(LaunchMLError):
    """Data (a file's content, a request body, a text or image) that cannot be used."""

    http_status = 422
    code = "invalid_input"


class InvalidConfigError(LaunchMLError):
    """A config key, value or combination of values that is wrong or cannot work."""

    http_status = 422
    code = "invalid_config"


class DamagedArtifactError(LaunchMLError):
    """A run directory or bundle that is incomplete, unreadable or modified after it was made."""

    http_status = 500
    code = "damaged_artifact"


class ConflictError(LaunchMLError):
    """The operation clashes with what is there: an output that exists, a run being resumed."""

    http_status = 409
    code = "conflict"


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return ``"; did you mean 'x'?"`` for the closest choice, or ``""`` when none is close.

    >>> did_you_mean("epocs", ["epochs", "lr"])
    "; did you mean 'epochs'?"
    """
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if not matches:
        lowered = {c.lower(): c for c in choices}
        if word.lower() in lowered:
            matches = [lowered[word.lower()]]
    return f"; did you mean '{matches[0]}'?" if matches else ""


__all__ = [
    "ConflictError",
    "DamagedArtifactError",
    "InvalidConfigError",
    "InvalidInputError",
    "LaunchMLError",
    "NotFoundError",
    "did_you_mean",
]
