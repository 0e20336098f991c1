"""``launchml assistant export``: CSV and JSONL round-trip to what the store holds; the file is
never half-written and never replaces another."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from launchml.assistant.export import CSV_COLUMNS, export_conversations
from launchml.assistant.store import Store
from launchml.errors import ConflictError
from tests.assistant_fixture_db import SINCE, UNTIL, build_store

IN_PERIOD = ["c1", "c2", "c3", "c4", "c5", "c8", "c6", "c9"]  # by start time; c8 has no message


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, str]]:
    path = tmp_path_factory.mktemp("export") / "chat.db"
    store = build_store(path)
    yield store, f"sqlite:///{path}"
    store.close()


def expected(store: Store, ids: list[str]) -> list[dict[str, Any]]:
    return [{**store.conversation(c), "handoffs": store.handoffs(c)} for c in ids]


def test_jsonl_round_trip(cli, db: tuple[Store, str], tmp_path: Path) -> None:
    store, url = db
    out = tmp_path / "chats.jsonl"
    result = cli("assistant", "export", "--db", url, "--format", "jsonl", "--out", out,
                 "--since", "2025-03-01", "--until", "2025-03-05")  # fmt: skip
    assert result.code == 0, result.err
    assert result.out == f"{out}\n" and result.err == f"wrote 8 conversations to {out}\n"
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in records] == IN_PERIOD
    assert records == expected(store, IN_PERIOD)
    c5 = records[IN_PERIOD.index("c5")]
    assert c5["handoffs"] == [{"reason": "asked_for_person", "started_at": "2025-03-03T14:00:00Z",
                               "ended_at": "2025-03-03T15:00:00Z", "ended_by": "sam"}]  # fmt: skip
    assert [p.name for p in tmp_path.iterdir()] == ["chats.jsonl"]  # no temporary file left


def test_csv_round_trip(db: tuple[Store, str], tmp_path: Path) -> None:
    store, _ = db
    out = tmp_path / "chats.csv"
    assert export_conversations(store, out, "csv") == 10  # no period: every conversation
    with out.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == CSV_COLUMNS
        rows = list(reader)
    by_conversation: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_conversation.setdefault(row["conversation_id"], []).append(row)
    assert list(by_conversation) == ["c7", "c1", "c2", "c3", "c4", "c5", "c6", "c9", "c10"]
    for cid, messages in by_conversation.items():
        conversation = store.conversation(cid)
        assert {m["state"] for m in messages} == {conversation["state"]}
        assert [_message(m) for m in messages] == conversation["messages"]


def _message(row: dict[str, str]) -> dict[str, Any]:
    """A CSV row back into the store's JSON for a message."""

    def opt(value: str) -> str | None:
        return value or None

    def num(value: str) -> float | None:
        return float(value) if value else None

    decision = None
    if row["decision_kind"]:
        decision = {
            "kind": row["decision_kind"],
            "reason": row["decision_reason"],
            "intent": opt(row["decision_intent"]),
            "confidence": num(row["decision_confidence"]),
            "in_scope": num(row["decision_in_scope"]),
            "threshold": num(row["decision_threshold"]),
            "language_source": opt(row["decision_language_source"]),
            "scores": json.loads(row["decision_scores"]),
        }
    return {
        "id": int(row["message_id"]),
        "role": row["role"],
        "text": row["text"],
        "language": opt(row["language"]),
        "author": opt(row["author"]),
        "redacted": row["redacted"].split(";") if row["redacted"] else [],
        "created_at": row["created_at"],
        "decision": decision,
    }


def test_export_refuses_to_overwrite(cli, db: tuple[Store, str], tmp_path: Path) -> None:
    store, url = db
    out = tmp_path / "chats.jsonl"
    out.write_text("keep me\n", encoding="utf-8")
    result = cli("assistant", "export", "--db", url, "--out", out)
    assert result.code == 2
    assert (
        result.err == f"error: {out}: already exists; choose another --out (nothing is replaced)\n"
    )
    assert out.read_text(encoding="utf-8") == "keep me\n"
    with pytest.raises(ConflictError):
        export_conversations(store, out, "csv", SINCE, UNTIL)


def test_export_reads_the_store_of_a_run(cli, db: tuple[Store, str], tmp_path: Path) -> None:
    _, url = db
    run = tmp_path / "run"
    run.mkdir()
    (run / "assistant.yaml").write_text(
        f"data: {{intents: intents.csv}}\nstore: {{url: '{url}'}}\n", encoding="utf-8"
    )
    out = tmp_path / "chats.jsonl"
    result = cli("assistant", "export", run, "--out", out, "--since", "2025-03-04")
    assert result.code == 0, result.err
    ids = [json.loads(line)["id"] for line in out.read_text(encoding="utf-8").splitlines()]
    assert ids == ["c8", "c6", "c9", "c10"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "xml"], "error: --format 'xml': expected csv or jsonl"),
        ([], "error: give an assistant RUN or --db URL (the conversation store)"),
        (["--db", "sqlite:///{tmp}/none.db"], "none.db not found; pass --db"),
        (["--db", "sqlite:///{tmp}/x.db", "--since", "monday"],
         "error: --since: 'monday' is not a date; expected YYYY-MM-DD"),
    ],
)  # fmt: skip
def test_bad_export_arguments(
    cli, db: tuple[Store, str], tmp_path: Path, args: list[str], message: str
) -> None:
    Store(f"sqlite:///{tmp_path / 'x.db'}").close()
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = cli("assistant", "export", *args, "--out", tmp_path / "o.jsonl")
    assert result.code == 2 and message in result.err and "Traceback" not in result.err
    assert not (tmp_path / "o.jsonl").exists() and not (tmp_path / "none.db").exists()
