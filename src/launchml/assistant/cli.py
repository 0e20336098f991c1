"""``launchml assistant init|train|chat|serve``: thin commands over :mod:`launchml.assistant`."""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path
from typing import Annotated

import typer

from launchml.errors import InvalidConfigError, InvalidInputError

app = typer.Typer(
    help="The customer-service assistant: intents, FAQ, handoff to a person.",
    no_args_is_help=True,
)

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Conversation store URL (default: the project's store.url)."),
]


@app.command("init")
def init_command(
    directory: Annotated[Path, typer.Argument(help="A new (or empty) directory.")],
) -> None:
    """Write an example project (the shop's intents, a small FAQ, English and German)."""
    from launchml.assistant.example import init_project

    path = init_project(directory)
    typer.echo(f"wrote {path.parent}/ (assistant.yaml, intents, FAQ, test sets)", err=True)
    typer.echo(f"next: launchml assistant train {path} --out runs/{path.parent.name}", err=True)
    typer.echo(str(path))


@app.command("train")
def train_command(
    project: Annotated[Path, typer.Argument(help="The project's assistant.yaml (or its dir).")],
    out: Annotated[Path, typer.Option(help="The assistant run directory to create.")],
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a project key, e.g. --set policy.clarify_margin=0.1"),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Train, calibrate and evaluate; prints the key figures, the run directory last."""
    from launchml.assistant.project import load_project
    from launchml.assistant.train import train_assistant

    def say(line: str) -> None:
        if not quiet:
            typer.echo(line, err=True)

    assistant = train_assistant(load_project(project, set_ or []), out, quiet=quiet, log=say)
    e = assistant.evaluation
    sim = e["out_of_scope"]["simulated"] or {}
    lines = [
        f"intent accuracy ({e['split']}): {e['intent']['accuracy']:.4f}",
        f"ECE: {e['calibration']['ece_before']:.4f} -> {e['calibration']['ece_after']:.4f} "
        f"(temperature {e['calibration']['temperature']:.3f})",
    ]
    if sim:
        lines.append(
            f"out of scope (simulated): AUROC {sim['auroc']:.4f}, unknown handed off "
            f"{sim['unknown_handed_off']:.1%} (top probability alone: "
            f"{sim['probability_auroc']:.4f}, {sim['probability_unknown_handed_off']:.1%})"
        )
    lines.append(f"in-scope handed off: {e['out_of_scope']['in_scope_handed_off']:.1%}")
    if e["faq"]:
        lines.append(f"FAQ recall@1 {e['faq']['recall_at_1']:.4f}, MRR {e['faq']['mrr']:.4f}")
    lines.append(f"expected containment: {e['containment']['contained']:.1%}")
    for line in lines:
        typer.echo(line)
    typer.echo(f"report: {assistant.path / 'report.html'}", err=True)
    typer.echo(str(assistant.path))


@app.command("chat")
def chat_command(
    run: Annotated[Path, typer.Argument(help="An assistant run directory.")],
    db: DbOption = None,
    language: Annotated[str | None, typer.Option(help="Answer in this language.")] = None,
    conversation: Annotated[str | None, typer.Option(help="Continue this conversation.")] = None,
) -> None:
    """Chat in the terminal (one message per line; /new starts over, /quit or Ctrl-D ends)."""
    from launchml.assistant.chat import chat_loop
    from launchml.assistant.runtime import Assistant

    assistant = Assistant.load(run, store_url=db)
    try:
        chat_loop(assistant, sys.stdin, typer.echo, language, conversation)
    finally:
        assistant.close()


@app.command("serve")
def serve_command(
    run: Annotated[Path, typer.Argument(help="An assistant run directory.")],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    db: DbOption = None,
    api_key_file: Annotated[
        Path | None, typer.Option(help="File holding the API key clients must send.")
    ] = None,
) -> None:
    """Serve POST /v1/chat and GET /v1/conversations/{id} over HTTP."""
    import uvicorn

    from launchml.assistant.api import create_app
    from launchml.assistant.runtime import Assistant

    key = read_api_key(api_key_file) if api_key_file else None
    if key is None and not is_loopback(host):
        raise InvalidConfigError(
            f"--host {host}: listening beyond this machine needs --api-key-file (a file with the "
            "key clients send as 'Authorization: Bearer KEY')"
        )
    assistant = Assistant.load(run, store_url=db)
    typer.echo(f"serving {assistant.name} on http://{host}:{port}/v1/chat", err=True)
    try:
        uvicorn.run(create_app(assistant, key), host=host, port=port, log_level="warning")
    finally:
        assistant.close()


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_api_key(path: Path) -> str:
    if not path.is_file():
        raise InvalidInputError(f"{path}: API key file not found (--api-key-file)")
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < 16:
        raise InvalidInputError(f"{path}: the API key must be at least 16 characters")
    return key


# the commands of the corrections loop (retrain, export) live in their own module
from launchml.assistant import cli_loop  # noqa: E402, F401

__all__ = ["app"]
