"""The assistant's machine API on the server of ``launchml serve``: exact JSON bodies, errors
included."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from launchml.assistant.runtime import Assistant, Reply
from launchml.assistant.store import Store
from launchml.assistant.web import create_app
from launchml.assistant.web.server import CHAT_BODY_BYTES, assistant_settings
from launchml.errors import InvalidConfigError, NotFoundError
from launchml.serve import ServeSettings

REPLY = Reply(
    conversation_id="c1",
    message_id=7,
    kind="clarify",
    text="Did you mean a refund or returning an item?",
    intent=None,
    confidence=0.46,
    language="en",
    candidates=[{"intent": "refund", "confidence": 0.46}, {"intent": "return", "confidence": 0.4}],
    reason="close_call",
    handed_off=False,
    options=["refund", "return"],
)


class FakeAssistant:
    """Stands in for a trained assistant: the API layer alone is under test."""

    name = "fake"

    def __init__(self, store: Store) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.store = store  # the web side's tables live there

    def reply(self, conversation_id: str | None, message: str, language: str | None) -> Reply:
        self.calls.append((conversation_id, message, language))
        return REPLY

    def conversation(self, conversation_id: str) -> dict[str, Any]:
        if conversation_id != "c1":
            raise NotFoundError(f"conversation {conversation_id!r} not found")
        return {"id": "c1", "state": "bot", "messages": []}


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeAssistant]:
    store = Store(f"sqlite:///{tmp_path / 'fake.db'}")
    yield FakeAssistant(store)
    store.close()


@pytest.fixture
def client(fake: FakeAssistant) -> Iterator[TestClient]:
    app = create_app(fake, assistant_settings(ServeSettings()))  # type: ignore[arg-type]
    with TestClient(app) as client:
        yield client


def test_chat_returns_the_reply_as_json(client: TestClient, fake: FakeAssistant) -> None:
    response = client.post("/v1/chat", json={"conversation_id": "c1", "message": "money back"})
    assert response.status_code == 200
    assert response.json() == {
        "conversation_id": "c1",
        "message_id": 7,
        "reply": "Did you mean a refund or returning an item?",
        "kind": "clarify",
        "reason": "close_call",
        "intent": None,
        "confidence": 0.46,
        "language": "en",
        "candidates": [
            {"intent": "refund", "confidence": 0.46},
            {"intent": "return", "confidence": 0.4},
        ],
        "options": ["refund", "return"],
        "faq": None,
        "handed_off": False,
    }
    assert fake.calls == [("c1", "money back", None)]


def test_conversation_history_and_not_found(client: TestClient) -> None:
    assert client.get("/v1/conversations/c1").json() == {"id": "c1", "state": "bot", "messages": []}
    response = client.get("/v1/conversations/c2")
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "not_found", "message": "conversation 'c2' not found", "field": None}
    }


@pytest.mark.parametrize(
    ("body", "field", "message_start"),
    [
        ({"message": ""}, "message", "message: String should have at least 1 character"),
        ({"text": "hi"}, "message", "message: Field required"),
        ({"message": "hi", "mood": "x"}, "mood", "mood: Extra inputs are not permitted"),
        ({"message": "hi", "conversation_id": "a/b"}, "conversation_id", "conversation_id: String"),
        ({"message": "hi", "language": "English"}, "language", "language: String should match"),
        ({"message": "x" * 4001}, "message", "message: String should have at most 4000"),
    ],
)
def test_bad_requests_are_one_json_error(
    client: TestClient, body: dict[str, Any], field: str, message_start: str
) -> None:
    response = client.post("/v1/chat", json=body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("invalid_input", field)
    assert error["message"].startswith(message_start)


def test_oversized_bodies_are_refused(client: TestClient) -> None:
    response = client.post(
        "/v1/chat", content=b"{" + b" " * CHAT_BODY_BYTES + b"}",
        headers={"content-type": "application/json"},
    )  # fmt: skip
    assert response.status_code == 413
    assert response.json()["error"] == {
        "code": "too_large",
        "message": f"the request body is larger than {CHAT_BODY_BYTES} bytes (max_body_bytes)",
        "field": "body",
        "limit": CHAT_BODY_BYTES,
    }


def test_the_server_settings_apply(fake: FakeAssistant) -> None:
    # the server of launchml serve: off loopback without a key it refuses to start, the body
    # limit is the user's when set, one worker only; /healthz, /readyz and /metrics are there
    with pytest.raises(InvalidConfigError, match="an API key is required"):
        create_app(fake, ServeSettings(host="0.0.0.0"))  # type: ignore[arg-type]
    assert assistant_settings(ServeSettings(max_body_bytes=10)).max_body_bytes == 10
    with pytest.raises(InvalidConfigError, match="runs one process"):
        assistant_settings(ServeSettings(workers=2))
    with TestClient(create_app(fake)) as client:  # type: ignore[arg-type]
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/readyz").status_code == 200
        client.post("/v1/chat", json={"message": "hi"})
        metrics = client.get("/metrics").text
        assert 'launchml_requests_total{method="POST",route="/v1/chat",status="200"} 1.0' in metrics


def test_an_api_key_protects_every_route(fake: FakeAssistant) -> None:
    settings = ServeSettings(host="0.0.0.0", api_key="k" * 24)
    client = TestClient(create_app(fake, settings))  # type: ignore[arg-type]
    response = client.post("/v1/chat", json={"message": "hi"})
    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "code": "unauthorized",
            "message": "missing or wrong API key; send 'Authorization: Bearer KEY' or "
            "'X-API-Key: KEY'",
            "field": None,
        }
    }
    assert client.get("/v1/conversations/c1", headers={"X-API-Key": "wrong"}).status_code == 401
    assert client.get("/metrics").status_code == 401
    ok = client.get("/v1/conversations/c1", headers={"Authorization": f"Bearer {'k' * 24}"})
    assert ok.status_code == 200


def test_a_trained_assistant_over_http(tiny_assistant_run: Path, tmp_path: Path) -> None:
    assistant = Assistant.load(tiny_assistant_run, store_url=f"sqlite:///{tmp_path / 'c.db'}")
    client = TestClient(create_app(assistant, ServeSettings()))
    first = client.post("/v1/chat", json={"message": "where is my order? mail me: a@b.de"}).json()
    assert (first["kind"], first["intent"], first["reply"]) == (
        "answer", "order_status", "Track it under Orders.",
    )  # fmt: skip
    cid = first["conversation_id"]
    second = client.post(
        "/v1/chat", json={"conversation_id": cid, "message": "Liefern Sie ins Ausland?"}
    )
    assert second.json()["kind"] == "faq" and second.json()["language"] == "de"
    history = client.get(f"/v1/conversations/{cid}").json()
    assert [m["role"] for m in history["messages"]] == ["customer", "bot", "customer", "bot"]
    assert history["messages"][0]["text"] == "where is my order? mail me: [EMAIL]"
    assert history["messages"][0]["decision"]["intent"] == "order_status"
    assistant.close()
