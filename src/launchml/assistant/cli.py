"""``launchml assistant init|train|chat|serve``: thin commands over :mod:`launchml.assistant`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from launchml.errors import InvalidInputError, NotFoundError

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
    host: Annotated[
        str | None, typer.Option(help="Address to bind [127.0.0.1]; any other needs an API key.")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port [8000].")] = None,
    db: DbOption = None,
    api_key_file: Annotated[
        Path | None,
        typer.Option(help="File whose first line is the API key (or LAUNCHML_API_KEY)."),
    ] = None,
    admin_key_file: Annotated[
        Path | None,
        typer.Option(
            help="File whose first line is the key of POST /admin/reload (or LAUNCHML_ADMIN_KEY)."
        ),
    ] = None,
) -> None:
    """Serve the chat widget (/), the agent inbox (/inbox) and the API (/v1/chat, /docs).

    The server is launchml serve's: every LAUNCHML_* setting applies (README, Serving).
    """
    from launchml.assistant.admin_api import AdminSettings
    from launchml.assistant.web.server import serve_assistant
    from launchml.serve.server import settings_from

    settings = settings_from(host=host, port=port, api_key_file=api_key_file)
    admin = AdminSettings(admin_key_file=admin_key_file) if admin_key_file else AdminSettings()
    serve_assistant(run, settings, store_url=db, admin=admin)


agent_app = typer.Typer(
    help="Agent accounts of the inbox (/inbox): add, list, remove.", no_args_is_help=True
)
app.add_typer(agent_app, name="agent")

RunOption = Annotated[
    Path | None,
    typer.Option("--run", help="An assistant run: its project's store.url is the store."),
]


def open_inbox(run: Path | None, db: str | None) -> Any:
    """The inbox tables of ``--db URL``, else of the run's ``store.url``."""
    from launchml.assistant.inbox_store import InboxStore
    from launchml.assistant.store import Store

    if db is None:
        if run is None:
            raise InvalidInputError("give --run RUN (its store.url) or --db URL: which store?")
        db = run_store_url(run)
    return InboxStore(Store(db))


def run_store_url(run: Path) -> str:
    import yaml

    from launchml.assistant.project import validate_project

    path = run / "assistant.yaml"
    if not path.is_file():
        raise NotFoundError(f"{run}: not an assistant run (no assistant.yaml)")
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return validate_project(raw, str(path)).store.url


def read_password() -> str:
    """From a hidden prompt (asked twice) on a terminal, else the first line of stdin."""
    from launchml.assistant.web.auth import MIN_PASSWORD

    if sys.stdin.isatty():
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < MIN_PASSWORD:
        raise InvalidInputError(
            f"password: {len(password)} characters; use at least {MIN_PASSWORD} (on a terminal "
            "it is asked for, else read from the first line of stdin)"
        )
    return password


@agent_app.command("add")
def agent_add(
    name: Annotated[str, typer.Argument(help="The agent's login name (shown to customers).")],
    run: RunOption = None,
    db: DbOption = None,
) -> None:
    """Create an agent; the password is asked for (or read from stdin), stored as argon2id."""
    from launchml.assistant.web.auth import hash_password
    from launchml.assistant.web.inbox_api import valid_agent_name

    valid_agent_name(name)
    inbox = open_inbox(run, db)
    try:
        inbox.add_agent(name, hash_password(read_password()))
    finally:
        inbox.store.close()
    typer.echo(f"added agent {name}; log in at /inbox/login", err=True)
    typer.echo(name)


@agent_app.command("list")
def agent_list(run: RunOption = None, db: DbOption = None) -> None:
    """The agents, one per line: name and when it was created."""
    inbox = open_inbox(run, db)
    try:
        for agent in inbox.agents():
            typer.echo(f"{agent['name']}\t{agent['created_at']}")
    finally:
        inbox.store.close()


@agent_app.command("remove")
def agent_remove(
    name: Annotated[str, typer.Argument(help="The agent to remove (its sessions end).")],
    run: RunOption = None,
    db: DbOption = None,
) -> None:
    """Remove an agent and end its sessions (its past replies stay in the conversations)."""
    inbox = open_inbox(run, db)
    try:
        inbox.remove_agent(name)
    finally:
        inbox.store.close()
    typer.echo(f"removed agent {name}", err=True)


# the commands of the corrections loop (retrain, export) live in their own module
from launchml.assistant import cli_loop  # noqa: E402, F401

__all__ = ["app"]
