"""``launchml assistant retrain``: the merge rules on hand-made data, and the whole command on
the tiny project, where a relabelled message is answered right only by the retrained run."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from launchml.assistant.data import Examples
from launchml.assistant.retrain import (
    CorrectedMessage,
    measure,
    merge_corrections,
    read_corrections,
)
from launchml.assistant.runtime import Assistant
from launchml.assistant.store import Store
from launchml.manifest import file_digests, verify_manifest

LABELS = ["change_address", "order_status", "refund"]


def fix(mid: int, text: str, intent: str) -> CorrectedMessage:
    return CorrectedMessage(mid, text, "en", intent, "sam", None)


def test_merge_rules_in_order() -> None:
    pool = Examples(
        ["where is my order", "i want a refund", "edit my address"],
        ["order_status", "refund", "change_address"],
        ["en", "en", "en"],
    )
    held = Examples(["track my parcel"], ["order_status"], ["en"])
    merge = merge_corrections(
        pool,
        held,
        [
            fix(1, "parcel arrived damaged", "order_status"),  # superseded by 2 (same text)
            fix(2, "Parcel arrived damaged!", "refund"),
            fix(3, "cancel my subscription", "cancel"),  # not an intent of the run
            fix(4, "Track my parcel.", "order_status"),  # in the held-out data
            fix(5, "where is my order?", "order_status"),  # already an example
            fix(6, "Edit my address", "refund"),  # contradicts an example: wins
            fix(7, "box was crushed", "refund"),
        ],
        LABELS,
        "en",
    )
    assert merge.counts() == {
        "trained": 3, "held_out": 0, "conflicting": 1, "unknown_intent": 1,
        "in_held_out_data": 1, "duplicate": 1, "replaced": 1,
    }  # fmt: skip
    assert merge.report["conflicting"] == [
        {"message_id": 1, "text": "parcel arrived damaged", "intent": "order_status",
         "superseded_by": 2}
    ]  # fmt: skip
    assert merge.report["replaced"] == [
        {"message_id": 6, "text": "Edit my address", "intent": "refund",
         "example": "edit my address", "example_intent": "change_address"}
    ]  # fmt: skip
    assert [r["message_id"] for r in merge.report["unknown_intent"]] == [3]
    assert [r["message_id"] for r in merge.report["in_held_out_data"]] == [4]
    assert [r["message_id"] for r in merge.report["duplicate"]] == [5]
    assert merge.training.texts == [
        "where is my order", "i want a refund",  # the contradicted example is gone
        "Parcel arrived damaged!", "Edit my address", "box was crushed",
    ]  # fmt: skip
    assert merge.training.intents == ["order_status", "refund", "refund", "refund", "refund"]


def test_a_kept_split_loses_only_the_replaced_examples() -> None:
    """With a test split, RUN2 keeps RUN's fit/validation split: the pool is fit + val, and
    each kept example goes back to its side."""
    from launchml.assistant.retrain import _pool_part

    fit = Examples(["where is my order", "edit my address"], ["order_status", "change_address"],
                   ["en", "en"])  # fmt: skip
    val = Examples(["i want a refund", "track it"], ["refund", "order_status"], ["en", "en"])
    pool = Examples(fit.texts + val.texts, fit.intents + val.intents, fit.langs + val.langs)
    merge = merge_corrections(pool, Examples([], [], []),
                              [fix(1, "track it!", "refund"), fix(2, "box crushed", "refund")],
                              LABELS, "en")  # fmt: skip
    assert _pool_part(merge, 0, 2).texts == ["where is my order", "edit my address"]
    assert _pool_part(merge, 2, None).texts == ["i want a refund"]  # "track it" was replaced
    assert merge.trained.texts == ["track it!", "box crushed"]


def test_merge_holds_out_a_share_of_many_corrections() -> None:
    empty = Examples([], [], [])
    many = [fix(i, f"broken thing number {i}", "refund") for i in range(20)]
    merge = merge_corrections(empty, empty, many, LABELS, "en", holdout=0.25, seed=1)
    assert (len(merge.trained), len(merge.held_out)) == (15, 5)
    assert set(merge.trained.texts).isdisjoint(merge.held_out.texts)
    few = merge_corrections(empty, empty, many[:9], LABELS, "en", holdout=0.25)
    assert (len(few.trained), len(few.held_out)) == (9, 0)  # under 10: all trained on


DAMAGED = [
    "my parcel arrived damaged",
    "the package came broken, I want compensation",
    "item arrived smashed to pieces",
    "the box was crushed and the lamp is broken",
]


@pytest.fixture(scope="module")
def corrected(tiny_assistant_run: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A store where a customer's damaged-parcel messages were relabelled 'refund'."""
    root = tmp_path_factory.mktemp("retrain")
    url = f"sqlite:///{root / 'chat.db'}"
    bot = Assistant.load(tiny_assistant_run, store_url=url)
    before = {text: bot.reply(None, text) for text in DAMAGED}
    for reply in before.values():
        bot.store.add_correction(reply.message_id, "order_status", author="kim")  # a slip ...
        bot.store.add_correction(reply.message_id, "refund", author="sam")  # ... corrected
    with open(tiny_assistant_run / "data" / "fit.csv", encoding="utf-8") as handle:
        first = next(csv.DictReader(handle))
    again = bot.reply(None, first["text"])  # a message that is a training example already
    bot.store.add_correction(again.message_id, first["intent"])
    unknown = bot.reply(None, "cancel my subscription")
    bot.store.add_correction(unknown.message_id, "cancel_subscription")
    bot.close()
    return {"root": root, "url": url, "before": before}


def test_corrections_are_read_with_their_latest_intent(corrected: dict) -> None:
    store = Store(corrected["url"])
    rows = read_corrections(store)
    store.close()
    assert [r.text for r in rows[:4]] == DAMAGED and {r.intent for r in rows[:4]} == {"refund"}
    assert len(rows) == 6


def test_retrain_answers_the_corrected_message_only_afterwards(
    cli, tiny_assistant_run: Path, corrected: dict
) -> None:
    target = DAMAGED[0]
    before = corrected["before"][target]
    assert (before.kind, before.intent) != ("answer", "refund")  # the old run gets it wrong
    digests = file_digests(tiny_assistant_run)
    out = corrected["root"] / "runs" / "tiny-2"
    result = cli("assistant", "retrain", tiny_assistant_run, "--out", out, "--db",
                 corrected["url"], "--quiet")  # fmt: skip
    assert result.code == 0, result.err
    assert file_digests(tiny_assistant_run) == digests  # RUN untouched
    assert sorted(p.name for p in out.parent.iterdir()) == ["tiny-2"]  # no scratch left
    assert verify_manifest(out) == [] and (out / "manifest.json").is_file()
    report = json.loads((out / "retrain.json").read_text(encoding="utf-8"))
    assert report["counts"] == {
        "trained": 4, "held_out": 0, "conflicting": 0, "unknown_intent": 1,
        "in_held_out_data": 0, "duplicate": 1, "replaced": 0,
    }  # fmt: skip
    lines = result.out.splitlines()
    assert lines[0] == (
        "corrections: 4 trained, 0 held out, 0 conflicting, 1 unknown intent, "
        "0 in held out data, 1 duplicate, 0 replaced"
    )
    assert "unknown_intent: message" in result.err and "cancel_subscription" in result.err
    assert lines[-1] == str(out)
    trained = report["figures"]["corrections_trained"]
    assert trained["before"]["n"] == trained["after"]["n"] == 4
    assert trained["after"]["answered_correctly"] == 1.0
    assert trained["before"]["answered_correctly"] < 1.0
    row = next(line for line in lines if line.startswith("corrections trained on"))
    assert row.split()[-6:] == [
        f"{trained['before']['accuracy']:.3f}", "->", f"{trained['after']['accuracy']:.3f}",
        f"{trained['before']['answered_correctly']:.3f}", "->", "1.000",
    ]  # fmt: skip
    assert any(line.startswith("held out: RUN's validation split") for line in lines)

    new = Assistant.load(out, store_url=f"sqlite:///{corrected['root'] / 'after.db'}")
    try:
        after = new.reply(None, target)
        assert (after.kind, after.intent) == ("answer", "refund")
        # the same held-out examples, measured on both runs, are those the report shows
        with open(tiny_assistant_run / "data" / "val.csv", encoding="utf-8") as handle:
            val = list(csv.DictReader(handle))
        examples = Examples([r["text"] for r in val], [r["intent"] for r in val],
                            [r["lang"] for r in val])  # fmt: skip
        assert report["figures"]["held_out"]["after"] == measure(new, examples)
        assert new.evaluation["split"] == "test" and new.evaluation["n"] == len(val)
    finally:
        new.close()
    project = (out / "assistant.yaml").read_text(encoding="utf-8")
    assert "intents: data/intents.csv" in project and "intents_test: data/test.csv" in project
    with open(out / "data" / "intents.csv", encoding="utf-8") as handle:
        texts = [r["text"] for r in csv.DictReader(handle)]
    assert set(DAMAGED) <= set(texts) and len(texts) == len(set(texts))

    again = cli("assistant", "retrain", tiny_assistant_run, "--out", out, "--db", corrected["url"])
    assert again.code == 2 and again.err == f"error: {out}: already exists; choose another --out\n"


def test_retrain_without_corrections_says_so(cli, tiny_assistant_run: Path, tmp_path: Path) -> None:
    Store(f"sqlite:///{tmp_path / 'empty.db'}").close()
    result = cli("assistant", "retrain", tiny_assistant_run, "--out", tmp_path / "r2",
                 "--db", f"sqlite:///{tmp_path / 'empty.db'}")  # fmt: skip
    assert result.code == 2
    assert result.err.startswith("error: sqlite:///") and "no corrections to train on" in result.err
    missing = cli("assistant", "retrain", tiny_assistant_run, "--out", tmp_path / "r2",
                  "--db", f"sqlite:///{tmp_path / 'none.db'}")  # fmt: skip
    assert missing.code == 2 and "none.db not found" in missing.err
    assert not (tmp_path / "none.db").exists() and not (tmp_path / "r2").exists()
