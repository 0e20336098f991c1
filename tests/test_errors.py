"""Class 6 of the bad-input classes: errors a server can map without matching strings.

Every error launchml raises on purpose is one of the subclasses of ``LaunchMLError``; each
carries an HTTP status and a code, and the CLI prints any of them as one line with exit status 2.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from launchml.errors import (
    ConflictError,
    DamagedArtifactError,
    InvalidConfigError,
    InvalidInputError,
    LaunchMLError,
    NotFoundError,
)

SUBCLASSES = {
    NotFoundError: (404, "not_found"),
    InvalidInputError: (422, "invalid_input"),
    InvalidConfigError: (422, "invalid_config"),
    DamagedArtifactError: (500, "damaged_artifact"),
    ConflictError: (409, "conflict"),
}
SRC = Path(__file__).resolve().parents[1] / "src" / "launchml"


@pytest.mark.parametrize("error_class", list(SUBCLASSES), ids=lambda c: c.__name__)
def test_each_error_class_has_its_status_and_code(error_class: type[LaunchMLError]) -> None:
    assert issubclass(error_class, LaunchMLError)
    assert (error_class.http_status, error_class.code) == SUBCLASSES[error_class]


@pytest.mark.parametrize("error_class", list(SUBCLASSES), ids=lambda c: c.__name__)
def test_cli_prints_each_error_class_as_one_line(
    error_class: type[LaunchMLError], monkeypatch: pytest.MonkeyPatch, cli
) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise error_class("runs/x: what went wrong; what to do")

    monkeypatch.setattr("launchml.runs.list_runs", fail)
    result = cli("runs", "list", "anywhere")
    assert result.code == 2
    assert result.err == "error: runs/x: what went wrong; what to do\n"
    assert "Traceback" not in result.err


def test_no_bare_base_class_is_raised() -> None:
    """A new ``raise LaunchMLError(...)`` would reach a server as a guess (422): pick a kind."""
    bare = [
        f"{path.relative_to(SRC)}:{number}"
        for path in sorted(SRC.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"raise LaunchMLError\(", line)
    ]
    assert bare == []
