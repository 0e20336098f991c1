"""Shared fixtures: an in-process CLI runner, tiny datasets, and the real-data location."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from launchml.cli import main

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

INTENTS = {
    "order_status": [
        "where is my order", "has my order shipped yet", "track my parcel please",
        "when will my package arrive", "what is the status of order 123",
        "is my order on its way", "can you check my delivery status", "order tracking info",
    ],
    "refund": [
        "i want a refund", "give me my money back", "refund my purchase please",
        "how do i get reimbursed", "can i have a refund for this", "money back request",
        "please refund the charge", "i need my money returned",
    ],
    "change_address": [
        "change my shipping address", "update delivery address", "i moved, new address please",
        "ship it to a different address", "wrong address on my order", "edit my address",
        "can i change where it is delivered", "new postal address for the order",
    ],
}  # fmt: skip


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):
    """Run ``launchml ARGS...`` in-process; returns exit code, stdout and stderr."""

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def write_csv(
    path: Path, rows: list[tuple[str, str]], header: tuple[str, str] = ("text", "label")
) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def intent_rows() -> list[tuple[str, str]]:
    return [(text, label) for label, texts in INTENTS.items() for text in texts]


@pytest.fixture
def text_config(tmp_path: Path, intent_rows: list[tuple[str, str]]) -> Path:
    """A config for a tiny 3-intent text task, with a separate test file."""
    write_csv(tmp_path / "train.csv", intent_rows)
    write_csv(
        tmp_path / "test.csv",
        [
            ("where's my parcel", "order_status"),
            ("refund please", "refund"),
            ("please change the address", "change_address"),
            ("has it shipped", "order_status"),
        ],
    )
    config = tmp_path / "config.yaml"
    config.write_text(
        "data:\n  train: train.csv\n  test: test.csv\n  split: {val: 0.25, seed: 0}\n"
        "model:\n  type: tfidf_logreg\n",
        encoding="utf-8",
    )
    return config


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real datasets not found at {SHARED_DATA} (../shared/data beside the repo)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def postgres_url():
    """The URL of a throw-away PostgreSQL server on loopback (tests/postgres.py); skipped with
    the reason when Debian's postgresql package is not installed."""
    from tests.postgres import find_binaries, postgres_server

    binaries = find_binaries()
    if binaries is None:
        pytest.skip("PostgreSQL server binaries not found (apt-get install postgresql)")
    with postgres_server(binaries) as url:
        yield url


GERMAN = {
    "order_status": ["wo ist meine bestellung", "wann kommt mein paket", "sendung verfolgen"],
    "refund": ["ich möchte mein geld zurück", "bitte erstatten sie es", "rückerstattung bitte"],
    "change_address": ["lieferadresse ändern", "neue adresse bitte", "ich bin umgezogen"],
}  # fmt: skip
HUMAN = [
    "let me talk to someone", "i want a person", "get me an agent", "can i call somebody",
    "put me through to staff", "i need a human being",
]  # fmt: skip


def write_tiny_project(directory: Path, model: str = "") -> Path:
    """A 4-intent, 2-language assistant project with a 3-entry FAQ (seconds to train)."""
    directory.mkdir(parents=True, exist_ok=True)
    rows = [(t, i, "en") for i, texts in INTENTS.items() for t in texts]
    rows += [(t, i, "de") for i, texts in GERMAN.items() for t in texts]
    rows += [(t, "contact_human", "en") for t in HUMAN]
    with (directory / "intents.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "intent", "lang"])
        writer.writerows(rows)
    faq = [
        ("Do you ship internationally?", "Yes, to every EU country.", "en"),
        ("Which payment methods do you accept?", "Cards, PayPal and invoice.", "en"),
        ("Liefern Sie ins Ausland?", "Ja, in alle EU-Länder.", "de"),
    ]
    with (directory / "faq.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["question", "answer", "lang"])
        writer.writerows(faq)
    write_csv(
        directory / "faq_test.csv",
        [("do you deliver abroad", "Do you ship internationally?"),
         ("can I pay with paypal", "Which payment methods do you accept?")],
        header=("text", "question"),
    )  # fmt: skip
    (directory / "assistant.yaml").write_text(
        "name: tiny\nlanguages: [en, de]\n"
        "data: {intents: intents.csv, faq: faq.csv, faq_test: faq_test.csv, val: 0.3}\n"
        + model
        + "policy:\n  handoff_intents: [contact_human]\n"
        "  human_phrases: {en: [real person], de: [mit einem menschen]}\n"
        "responses:\n"
        "  order_status: {en: Track it under Orders., de: Verfolgen Sie es unter Bestellungen.}\n"
        "  refund: {en: Refunds take 5 days., de: Erstattungen dauern 5 Tage.}\n"
        "  change_address: {en: Edit the address under Orders.}\n",
        encoding="utf-8",
    )
    return directory / "assistant.yaml"


@pytest.fixture(scope="session")
def tiny_assistant_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A trained tiny assistant (the default frozen-encoder classifier)."""
    from launchml.assistant.train import train_assistant

    root = tmp_path_factory.mktemp("assistant")
    project = write_tiny_project(root / "project")
    train_assistant(project, out=root / "run").close()
    return root / "run"


@pytest.fixture(scope="session")
def scripted_assistant(tiny_assistant_run: Path) -> Iterator[Any]:
    """The tiny assistant with its models' output scripted (tests/web_fakes.py), loaded once."""
    from tests.web_fakes import scripted_assistant

    assistant = scripted_assistant(tiny_assistant_run)
    yield assistant
    assistant.close()


@pytest.fixture(scope="session")
def shop_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The README's demo run (TF-IDF on examples/shop), trained once for the server tests."""
    from tests.serve_fakes import train_shop_run

    return train_shop_run(tmp_path_factory.mktemp("serve") / "shop")
