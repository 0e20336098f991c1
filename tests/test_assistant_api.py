"""The assistant's HTTP API: exact JSON bodies, errors included."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from launchml.assistant.api import MAX_BODY_BYTES, create_app
from launchml.assistant.runtime import Assistant, Reply
from launchml.errors import NotFoundError

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

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def reply(self, conversation_id: str | None, message: str, language: str | None) -> Reply:
        self.calls.append((conversation_id, message, language))
        return REPLY

    def conversation(self, conversation_id: str) -> dict[str, Any]:
        if conversation_id != "c1":
            raise NotFoundError(f"conversation {conversation_id!r} not found")
        return {"id": "c1", "state": "bot", "messages": []}


@pytest.fixture
def fake() -> FakeAssistant:
    return FakeAssistant()


@pytest.fixture
def client(fake: FakeAssistant) -> TestClient:
    return TestClient(create_app(fake))  # type: ignore[arg-type]


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
        "/v1/chat", content=b"{" + b" " * MAX_BODY_BYTES + b"}",
        headers={"content-type": "application/json"},
    )  # fmt: skip
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


def test_an_api_key_protects_every_route(fake: FakeAssistant) -> None:
    client = TestClient(create_app(fake, api_key="k" * 24))  # type: ignore[arg-type]
    response = client.post("/v1/chat", json={"message": "hi"})
    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "code": "unauthorized",
            "message": "missing or wrong API key; send 'Authorization: Bearer KEY'",
            "field": None,
        }
    }
    assert client.get("/v1/conversations/c1", headers={"X-API-Key": "wrong"}).status_code == 401
    ok = client.get("/v1/conversations/c1", headers={"Authorization": f"Bearer {'k' * 24}"})
    assert ok.status_code == 200


def test_a_trained_assistant_over_http(tiny_assistant_run: Path, tmp_path: Path) -> None:
    assistant = Assistant.load(tiny_assistant_run, store_url=f"sqlite:///{tmp_path / 'c.db'}")
    client = TestClient(create_app(assistant))
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
