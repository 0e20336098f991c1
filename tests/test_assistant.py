"""An assistant trained on a tiny project: the run artifact, and conversations through it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from launchml.assistant import Assistant
from launchml.manifest import verify_manifest
from launchml.runs import Run


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("store")


@pytest.fixture(scope="module")
def assistant(tiny_assistant_run: Path, store_dir: Path):
    bot = Assistant.load(tiny_assistant_run, store_url=f"sqlite:///{store_dir / 'chat.db'}")
    yield bot
    bot.close()


def test_the_run_is_complete_and_self_describing(tiny_assistant_run: Path) -> None:
    names = {p.name for p in tiny_assistant_run.iterdir()}
    expected = {"assistant.yaml", "assistant.json", "intent", "index.safetensors", "faq.json",
                "evaluation.json", "report.html", "meta.json", "manifest.json", "data"}  # fmt: skip
    assert expected <= names
    assert verify_manifest(tiny_assistant_run) == []
    intent = Run.load(tiny_assistant_run / "intent")  # a normal launchml run
    assert intent.config.model.type == "transformer"
    assert intent.config.model.transformer.body == "frozen"
    state = json.loads((tiny_assistant_run / "assistant.json").read_text())
    assert state["shares_encoder"] is True  # the head reads the assistant's own vectors
    assert "encoder" not in names  # so the encoder is not stored twice
    assert state["temperature"] > 0 and set(state["thresholds"]) == {"*", "en", "de"}
    evaluation = json.loads((tiny_assistant_run / "evaluation.json").read_text())
    assert evaluation["split"] == "val"
    assert evaluation["faq"]["n"] == 2
    assert evaluation["out_of_scope"]["simulated"]["rounds"]
    page = (tiny_assistant_run / "report.html").read_text()
    for anchor in ("intents", "calibration", "out-of-scope", "faq", "containment"):
        assert f'id="{anchor}"' in page
    assert f'data-value="{json.dumps(evaluation["intent"]["accuracy"])}"' in page


def test_a_conversation_answers_hands_off_and_comes_back(assistant: Assistant) -> None:
    first = assistant.reply(None, "where is my order, has it shipped?")
    cid = first.conversation_id
    assert (first.kind, first.intent, first.text) == (
        "answer",
        "order_status",
        "Track it under Orders.",
    )
    assert first.candidates[0]["intent"] == "order_status"
    handoff = assistant.reply(cid, "I want a real person")
    assert (handoff.kind, handoff.reason, handoff.handed_off) == (
        "handoff",
        "asked_for_person",
        True,
    )
    assert handoff.text == assistant.project.message("handoff", "en")
    silent = assistant.reply(cid, "i want a refund")
    assert (silent.kind, silent.reason, silent.text) == ("handoff", "waiting_for_agent", None)
    assistant.agent_reply(cid, "Hi, this is Sam. Mail me at sam@example.com", agent="sam")
    assistant.give_back(cid, agent="sam")
    back = assistant.reply(cid, "i want a refund for this purchase")
    assert (back.kind, back.intent) == ("answer", "refund")
    history = assistant.conversation(cid)
    roles = [m["role"] for m in history["messages"]]
    assert roles == ["customer", "bot", "customer", "bot", "customer", "agent", "customer", "bot"]
    assert history["messages"][5]["text"] == "Hi, this is Sam. Mail me at [EMAIL]"
    assert history["messages"][4]["decision"]["reason"] == "waiting_for_agent"


def test_faq_questions_get_the_faq_answer(assistant: Assistant) -> None:
    reply = assistant.reply(None, "Do you ship internationally?")
    assert (reply.kind, reply.text) == ("faq", "Yes, to every EU country.")
    assert reply.faq is not None and reply.faq["similarity"] > 0.95


def test_replies_follow_the_customers_language(assistant: Assistant) -> None:
    german = assistant.reply(None, "Ich möchte bitte mein Geld zurück")
    assert (german.language, german.intent) == ("de", "refund")
    assert german.text == "Erstattungen dauern 5 Tage."
    short = assistant.reply(german.conversation_id, "danke")  # too short to tell: stays German
    assert short.language == "de"
    stored = assistant.conversation(german.conversation_id)["messages"][2]
    assert stored["decision"]["language_source"] == "conversation"
    # a language without its own response falls back to the default language's
    stated = assistant.reply(None, "please change my shipping address", language="de")
    assert (stated.language, stated.intent) == ("de", "change_address")
    assert stated.text == "Edit the address under Orders."


def test_personal_data_never_reaches_the_database(assistant: Assistant, store_dir: Path) -> None:
    reply = assistant.reply(
        None, "refund to card 4111 1111 1111 1111 please, mail jo.doe@example.com"
    )
    message = assistant.conversation(reply.conversation_id)["messages"][0]
    assert message["text"] == "refund to card [CARD] please, mail [EMAIL]"
    assert message["redacted"] == ["CARD", "EMAIL"]
    assistant.close()
    raw = b"".join(p.read_bytes() for p in store_dir.glob("chat.db*"))
    assert b"4111" not in raw and b"jo.doe" not in raw


def test_any_text_model_type_can_classify(tmp_path: Path) -> None:
    """A TF-IDF classifier does not read the encoder's vectors: the assistant keeps its own
    copy of the encoder (for out-of-scope and FAQ) and the simulation trains through the
    pipeline."""
    from launchml.assistant.train import train_assistant
    from tests.conftest import write_tiny_project

    project = write_tiny_project(
        tmp_path / "p", model="classifier: {model: {type: tfidf_logreg}}\n"
    )
    bot = train_assistant(project, out=tmp_path / "run")
    try:
        assert bot.state["shares_encoder"] is False
        assert (tmp_path / "run" / "encoder" / "config.json").is_file()
        assert Run.load(tmp_path / "run" / "intent").config.model.type == "tfidf_logreg"
        assert bot.evaluation["out_of_scope"]["simulated"]["rounds"]
        bot.store_url = f"sqlite:///{tmp_path / 'c.db'}"
        reply = bot.reply(None, "i want a refund for this")
        assert (reply.kind, reply.intent) == ("answer", "refund")
    finally:
        bot.close()
