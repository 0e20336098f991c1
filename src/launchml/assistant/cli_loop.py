"""``launchml assistant retrain|export``: the commands that close the loop from the store back
to the model (registered on :data:`launchml.assistant.cli.app`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from launchml.assistant.cli import DbOption, app
from launchml.errors import InvalidInputError


@app.command("retrain")
def retrain_command(
    run: Annotated[Path, typer.Argument(help="The assistant run to improve (left unchanged).")],
    out: Annotated[Path, typer.Option(help="The new assistant run directory to create.")],
    db: DbOption = None,
    holdout: Annotated[
        float, typer.Option(help="Share of new corrections kept out to measure on (>= 10).")
    ] = 0.2,
    seed: Annotated[int, typer.Option(help="Seed of that hold-out split.")] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Add the agents' corrections to RUN's training data, train RUN2, compare both."""
    from launchml.assistant.retrain import format_figures, retrain_assistant

    def say(line: str) -> None:
        if not quiet:
            typer.echo(line, err=True)

    report = retrain_assistant(run, out, store_url=db, holdout=holdout, seed=seed, log=say)
    counts = report["counts"]
    typer.echo("corrections: " + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in counts.items()))
    for key in ("replaced", "conflicting", "unknown_intent", "in_held_out_data"):
        for row in report["merge"][key]:
            detail = {
                "replaced": f"replaces the example {row.get('example')!r} "
                f"({row.get('example_intent')})",
                "conflicting": f"superseded by message {row.get('superseded_by')}",
                "unknown_intent": "intent not in RUN; add it to the project and train",
                "in_held_out_data": "the text is in the held-out data; not trained on",
            }[key]
            typer.echo(f"  {key}: message {row['message_id']} {row['text']!r} -> "
                       f"{row['intent']}: {detail}", err=True)  # fmt: skip
    for line in format_figures(report):
        typer.echo(line)
    typer.echo(str(out))


@app.command("export")
def export_command(
    out: Annotated[Path, typer.Option(help="The file to write (must not exist).")],
    run: Annotated[
        Path | None, typer.Argument(help="An assistant run (its project's store.url).")
    ] = None,
    format_: Annotated[str, typer.Option("--format", help="csv or jsonl.")] = "jsonl",
    db: DbOption = None,
    since: Annotated[str | None, typer.Option(help="Conversations started from (ISO).")] = None,
    until: Annotated[str | None, typer.Option(help="... and before (ISO).")] = None,
) -> None:
    """Write the (redacted) conversations with messages and decisions to CSV or JSONL."""
    from launchml.assistant.analytics import parse_moment
    from launchml.assistant.export import export_conversations
    from launchml.assistant.store import open_existing

    if format_ not in ("csv", "jsonl"):
        raise InvalidInputError(f"--format {format_!r}: expected csv or jsonl")
    url = db or (store_url_of(run) if run is not None else None)
    if url is None:
        raise InvalidInputError("give an assistant RUN or --db URL (the conversation store)")
    start = parse_moment(since, "--since") if since else None
    end = parse_moment(until, "--until") if until else None
    store = open_existing(url)
    try:
        count = export_conversations(store, out, format_, start, end)  # type: ignore[arg-type]
    finally:
        store.close()
    typer.echo(f"wrote {count} conversations to {out}", err=True)
    typer.echo(str(out))


def store_url_of(run: Path) -> str:
    """The store URL of a run's project, without loading its models."""
    import yaml

    from launchml.assistant.project import validate_project
    from launchml.errors import NotFoundError

    path = run / "assistant.yaml"
    if not path.is_file():
        raise NotFoundError(f"{run}: not an assistant run (no assistant.yaml)")
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return validate_project(raw, str(path)).store.url
