"""An assistant trained on a Banking77 subset answers, clarifies and hands off where it should."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from launchml.assistant import Assistant
from launchml.assistant.train import train_assistant

KNOWN = [
    "card_arrival", "card_delivery_estimate", "lost_or_stolen_card", "card_not_working",
    "exchange_rate", "top_up_failed", "top_up_reverted", "pending_transfer", "change_pin",
    "activate_my_card", "terminate_account", "transfer_not_received_by_recipient",
]  # fmt: skip
UNKNOWN = ["age_limit", "atm_support", "country_support"]  # never seen in training
PER_INTENT = 40


@pytest.mark.realdata
@pytest.mark.slow
def test_banking77_assistant_answers_clarifies_and_hands_off(
    shared_data: Path, tmp_path: Path
) -> None:
    bank = shared_data / "banking77"
    train = pd.read_csv(bank / "train.csv")
    test = pd.read_csv(bank / "test.csv")
    rows = (
        train[train["category"].isin(KNOWN)].groupby("category").sample(PER_INTENT, random_state=0)
    )
    rows.rename(columns={"category": "intent"}).to_csv(tmp_path / "intents.csv", index=False)
    project = {
        "name": "bank",
        "data": {"intents": "intents.csv", "val": 0.25},
        "responses": {i: {"en": f"About {i}."} for i in KNOWN},
        "policy": {"human_phrases": {"en": ["speak to a human"]}},
    }
    (tmp_path / "assistant.yaml").write_text(json.dumps(project), encoding="utf-8")
    bot = train_assistant(tmp_path / "assistant.yaml", out=tmp_path / "run")
    bot.close()
    bot = Assistant.load(tmp_path / "run", store_url=f"sqlite:///{tmp_path / 'c.db'}")

    known = test[test["category"].isin(KNOWN)].groupby("category").head(10)
    unknown = test[test["category"].isin(UNKNOWN)].groupby("category").head(10)
    known_replies = [bot.reply(None, text) for text in known["text"]]
    unknown_replies = [bot.reply(None, text) for text in unknown["text"]]
    truth = list(known["category"])

    answered_right = np.mean(
        [r.kind == "answer" and r.intent == t for r, t in zip(known_replies, truth, strict=True)]
    )
    assert answered_right >= 0.6, answered_right
    known_off = np.mean([r.kind == "handoff" for r in known_replies])
    unknown_off = np.mean([r.kind == "handoff" for r in unknown_replies])
    assert unknown_off >= 0.3 and unknown_off > 2 * known_off, (unknown_off, known_off)
    # when it asks "A or B?", the right intent is nearly always one of the two
    clarified = [(r, t) for r, t in zip(known_replies, truth, strict=True) if r.kind == "clarify"]
    assert clarified, "no close calls among 120 messages of 12 intents"
    assert np.mean([t in r.options for r, t in clarified]) >= 0.6
    # ... and picking an option answers it
    reply, _ = clarified[0]
    picked = bot.reply(reply.conversation_id, "2")
    assert (picked.kind, picked.intent, picked.reason) == (
        "answer",
        reply.options[1],
        "option_chosen",
    )
    assert bot.reply(None, "I want to speak to a human now").reason == "asked_for_person"
    bot.close()
