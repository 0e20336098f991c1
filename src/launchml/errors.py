"""User-facing errors.

Anything the *user* can fix (a missing file, a bad column, a typo in a config key) is raised as
:class:`LaunchMLError`. The CLI prints its message on one line and exits with status 2, without a
traceback. Everything else is a bug in launchml and keeps its traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class LaunchMLError(Exception):
    """An error caused by the user's input; the message says what, where, and how to fix it."""


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
