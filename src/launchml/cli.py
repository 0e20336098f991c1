"""The ``launchml`` command line. Thin: it parses options and calls the Python API.

User errors (:class:`launchml.errors.LaunchMLError`) print one ``error: ...`` line on stderr and
exit with status 2, without a traceback.
"""

from __future__ import annotations

import sys

import typer

from launchml.errors import LaunchMLError

app = typer.Typer(
    help="launchml: from a CSV of texts or a folder of images to a shipped model, offline.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def main() -> None:
    """Console entry point."""
    try:
        app()
    except LaunchMLError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
