"""``launchml assistant export``: the conversations, for the team's own analysis.

Everything comes from the conversation store, so every text is already redacted. Two formats:

- ``jsonl``: one conversation per line, as ``GET /v1/conversations/{id}`` shows it (messages
  oldest first, each with the policy's decision and its scores) plus its ``handoffs``;
- ``csv``: one message per row, with its conversation's columns first and the decision's
  columns after it (``decision_scores`` as a JSON string; ``redacted`` as ``EMAIL;PHONE``);
  a conversation without messages has no row.

The period selects conversations by when they *started* (``[since, until)``, as the analytics
do). The file is written beside its final name and linked into place: it is never half-written
and an existing file is never replaced.

Example::

    export_conversations(Store("sqlite:///chat.db"), Path("chats.jsonl"), "jsonl")
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from launchml.assistant.analytics import as_utc
from launchml.assistant.store import Conversation, Store
from launchml.errors import ConflictError, NotFoundError

Format = Literal["csv", "jsonl"]
CONVERSATION_COLUMNS = ["conversation_id", "state", "conversation_language", "started_at"]
MESSAGE_COLUMNS = ["message_id", "role", "text", "language", "author", "redacted", "created_at"]
DECISION_COLUMNS = [
    "kind", "reason", "intent", "confidence", "in_scope", "threshold", "language_source",
    "scores",
]  # fmt: skip
CSV_COLUMNS = CONVERSATION_COLUMNS + MESSAGE_COLUMNS + [f"decision_{c}" for c in DECISION_COLUMNS]


def conversation_ids(
    store: Store, since: datetime | None = None, until: datetime | None = None
) -> list[str]:
    """The conversations started in ``[since, until)`` (either end open), oldest first."""
    query = select(Conversation.id).order_by(Conversation.created_at, Conversation.id)
    if since is not None:
        query = query.where(Conversation.created_at >= as_utc(since))
    if until is not None:
        query = query.where(Conversation.created_at < as_utc(until))
    with Session(store.engine) as session:
        return list(session.scalars(query))


def export_conversations(
    store: Store,
    out: Path,
    fmt: Format,
    since: datetime | None = None,
    until: datetime | None = None,
) -> int:
    """Write the period's conversations to ``out``; returns how many were written."""
    out = Path(out)
    if out.exists():
        raise ConflictError(f"{out}: already exists; choose another --out (nothing is replaced)")
    if not out.parent.is_dir():
        raise NotFoundError(f"{out.parent}: directory not found (--out)")
    ids = conversation_ids(store, since, until)
    handle, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            write = _write_jsonl if fmt == "jsonl" else _write_csv
            write(store, ids, stream)
        try:
            os.link(tmp, out)  # unlike a rename, fails when out appeared meanwhile
        except FileExistsError:
            raise ConflictError(f"{out}: already exists; choose another --out") from None
    finally:
        tmp.unlink(missing_ok=True)
    return len(ids)


def _write_jsonl(store: Store, ids: list[str], stream: TextIO) -> None:
    for cid in ids:
        record = {**store.conversation(cid), "handoffs": store.handoffs(cid)}
        stream.write(json.dumps(record, ensure_ascii=False) + "\n")


def _write_csv(store: Store, ids: list[str], stream: TextIO) -> None:
    writer = csv.writer(stream)
    writer.writerow(CSV_COLUMNS)
    for cid in ids:
        conversation = store.conversation(cid)
        head = [cid, conversation["state"], conversation["language"], conversation["created_at"]]
        for m in conversation["messages"]:
            decision = m["decision"] or {}
            row: list[Any] = [*head, m["id"], m["role"], m["text"], m["language"], m["author"],
                              ";".join(m["redacted"]), m["created_at"]]  # fmt: skip
            for column in DECISION_COLUMNS:
                value = decision.get(column)
                if column == "scores" and value is not None:
                    value = json.dumps(value, ensure_ascii=False)
                row.append(value)
            writer.writerow(["" if v is None else v for v in row])


__all__ = ["CSV_COLUMNS", "conversation_ids", "export_conversations"]
