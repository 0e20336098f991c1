"""The chat widget's routes: exact JSON, a customer sees only their own conversation, never
the inbox or the machine API; rate limits; the pages and the script are served offline."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from launchml.assistant.runtime import Assistant
from launchml.assistant.web.auth import SESSION_COOKIE, TOKEN_HEADER
from launchml.assistant.web.settings import WebSettings
from launchml.serve import ServeSettings
from tests.web_fakes import NOW, Web, web_app

GREETING = "Hi! Ask me anything about your order."


@pytest.fixture
def web(scripted_assistant: Assistant, tmp_path: Path) -> Iterator[Web]:
    yield from web_app(scripted_assistant, tmp_path / "chat.db")


def message(id_: int, role: str, text: str, rateable: bool = False, author: str | None = None):
    return {"id": id_, "role": role, "text": text, "author": author, "created_at": NOW,
            "rateable": rateable}  # fmt: skip


def view(messages: list[dict[str, Any]], status: str = "bot", **changes: Any) -> dict[str, Any]:
    body = {"status": status, "agent": None, "notice": None, "language": "en",
            "greeting": GREETING, "messages": messages, "options": []}  # fmt: skip
    return {**body, **changes}


def test_a_conversation_starts_with_a_token_and_a_greeting(web: Web) -> None:
    response = web.client.post("/widget/v1/conversations", json={"language": "de"})
    assert response.status_code == 201
    body = response.json()
    token = body.pop("token")
    assert len(token) == 43 and token.replace("-", "").replace("_", "").isalnum()  # 256 bits
    assert body == {
        "conversation": view(
            [], language="de", greeting="Hallo! Fragen Sie mich alles zu Ihrer Bestellung."
        )
    }
    # a language the assistant does not speak is ignored; two conversations, two tokens
    other = web.client.post("/widget/v1/conversations", json={"language": "fr"}).json()
    assert other["conversation"]["language"] == "en" and other["token"] != token
    # only the token's hash is stored
    assert token not in (Path(web.assistant.store_url.removeprefix("sqlite:///"))).read_text(
        "latin-1"
    )


def test_answer_clarify_with_choices_faq_and_handoff(web: Web) -> None:
    token = web.start()
    first = web.say(token, "where is my parcel")
    assert first == {
        "kind": "answer",
        "conversation": view(
            [
                message(1, "customer", "where is my parcel"),
                message(2, "bot", "Track it under Orders.", rateable=True),
            ]
        ),
    }
    clarify = web.say(token, "refund or new address")
    assert clarify["kind"] == "clarify"
    assert clarify["conversation"]["messages"][-1] == message(
        4, "bot", "Did you mean refund or change address?"
    )
    assert clarify["conversation"]["options"] == [
        {"intent": "refund", "title": "refund"},
        {"intent": "change_address", "title": "change address"},
    ]
    picked = web.say(token, "change address")  # what the widget's button sends: the title
    assert picked["kind"] == "answer" and picked["conversation"]["options"] == []
    assert picked["conversation"]["messages"][-1] == message(
        6, "bot", "Edit the address under Orders.", rateable=True
    )
    faq = web.say(token, "do you ship abroad")
    assert faq["conversation"]["messages"][-1] == message(
        8, "bot", "Yes, to every EU country.", rateable=True
    )
    handoff = web.say(token, "what is the weather on mars")
    assert handoff["kind"] == "handoff"
    assert handoff["conversation"]["status"] == "waiting"
    quiet = web.say(token, "hello?")  # the bot stays silent until an agent gives it back
    assert quiet["conversation"]["messages"][-1] == message(11, "customer", "hello?")
    assert (
        web.client.get("/widget/v1/conversation", headers={TOKEN_HEADER: token}).json()
        == (quiet["conversation"])
    )


def test_an_agent_joining_and_replying_is_shown(web: Web) -> None:
    token = web.start()
    web.say(token, "what is the weather on mars")
    cid = web.conversation_id(token)
    web.inbox.assign(cid, "sam")
    got = web.client.get("/widget/v1/conversation", headers={TOKEN_HEADER: token}).json()
    assert (got["status"], got["agent"], got["notice"]) == (
        "assigned", "sam", "sam joined the conversation.",
    )  # fmt: skip
    web.assistant.agent_reply(cid, "Hi, Sam here. Write to sam@shop.example", "sam")
    got = web.client.get("/widget/v1/conversation", headers={TOKEN_HEADER: token}).json()
    assert got["messages"][-1] == message(
        3, "agent", "Hi, Sam here. Write to [EMAIL]", author="sam"
    )


def test_thumbs_up_and_down_on_answers(web: Web) -> None:
    token = web.start()
    web.say(token, "where is my parcel")
    web.say(token, "refund or new address")
    headers = {TOKEN_HEADER: token}
    rate = web.client.post(
        "/widget/v1/feedback", json={"message_id": 2, "rating": 1}, headers=headers
    )
    assert (rate.status_code, rate.json()) == (201, {"message_id": 2, "rating": 1})
    again = web.client.post(
        "/widget/v1/feedback", json={"message_id": 2, "rating": -1}, headers=headers
    )
    assert again.status_code == 409
    assert again.json()["error"] == {
        "code": "conflict", "message": "message_id: answer 2 is rated already", "field": None,
    }  # fmt: skip
    for wrong in (1, 3, 99):  # the customer's own message, a clarification, no such message
        refused = web.client.post(
            "/widget/v1/feedback", json={"message_id": wrong, "rating": -1}, headers=headers
        )
        assert refused.status_code in (404, 409), wrong
    bad = web.client.post(
        "/widget/v1/feedback", json={"message_id": 2, "rating": 5}, headers=headers
    )
    assert (bad.status_code, bad.json()["error"]["field"]) == (422, "rating")
    cid = web.conversation_id(token)
    detail = web.inbox.detail(cid)
    assert detail["messages"][1]["feedback"] == [{"rating": 1, "comment": None, "created_at": NOW}]


def test_feedback_on_a_clarifying_question_is_refused(web: Web) -> None:
    token = web.start()
    web.say(token, "refund or new address")
    refused = web.client.post(
        "/widget/v1/feedback", json={"message_id": 2, "rating": -1},
        headers={TOKEN_HEADER: token},
    )  # fmt: skip
    assert refused.status_code == 409
    assert refused.json()["error"]["message"] == "message_id: 2 is not one of the answers"


def test_a_customer_sees_only_their_own_conversation(web: Web) -> None:
    alice, bob = web.start(), web.start()
    web.say(alice, "where is my parcel")
    web.say(bob, "do you ship abroad")
    seen = web.client.get("/widget/v1/conversation", headers={TOKEN_HEADER: bob}).json()
    assert [m["text"] for m in seen["messages"]] == [
        "do you ship abroad", "Yes, to every EU country.",
    ]  # fmt: skip
    # Bob cannot rate Alice's answer (message 2) even knowing its id
    stolen = web.client.post(
        "/widget/v1/feedback", json={"message_id": 2, "rating": -1}, headers={TOKEN_HEADER: bob}
    )
    assert stolen.status_code == 404
    assert stolen.json()["error"]["message"] == "message_id: no answer 2 in this conversation"
    for token in (None, "", "x" * 43, alice[:-1] + ("A" if alice[-1] != "A" else "B")):
        headers = {TOKEN_HEADER: token} if token is not None else {}
        for method, path in (("GET", "/widget/v1/conversation"), ("GET", "/widget/v1/events")):
            response = web.client.request(method, path, headers=headers)
            assert response.status_code == 401, (token, path)
        said = web.client.post("/widget/v1/messages", json={"message": "hi"}, headers=headers)
        assert said.status_code == 401
    missing = web.client.get("/widget/v1/conversation")
    assert missing.json() == {
        "error": {
            "code": "unauthorized",
            "message": f"missing {TOKEN_HEADER}; start a conversation with POST "
            "/widget/v1/conversations",
            "field": None,
        }
    }


INBOX_ROUTES = [
    ("GET", "/inbox/api/me"),
    ("GET", "/inbox/api/intents"),
    ("GET", "/inbox/api/conversations"),
    ("GET", "/inbox/api/conversations/{cid}"),
    ("GET", "/inbox/api/events"),
    ("POST", "/inbox/api/conversations/{cid}/take"),
    ("POST", "/inbox/api/conversations/{cid}/reply"),
    ("POST", "/inbox/api/conversations/{cid}/give-back"),
    ("POST", "/inbox/api/conversations/{cid}/resolve"),
    ("POST", "/inbox/api/messages/1/correction"),
    ("POST", "/inbox/api/messages/1/faq-verdict"),
    ("POST", "/inbox/api/logout"),
]


def test_a_customer_token_opens_no_inbox_route(web: Web) -> None:
    token = web.start()
    web.say(token, "what is the weather on mars")
    cid = web.conversation_id(token)
    # the token as a header, as a bearer token, even as the session cookie: all refused
    attempts = [
        {"headers": {TOKEN_HEADER: token}},
        {"headers": {"Authorization": f"Bearer {token}"}},
        {"headers": {"Cookie": f"{SESSION_COOKIE}={token}"}},
    ]
    for method, path in INBOX_ROUTES:
        for attempt in attempts:
            response = web.client.request(
                method, path.format(cid=cid), json={"text": "x", "intent": "refund",
                                                    "verdict": "right"}, **attempt,
            )  # fmt: skip
            assert response.status_code == 401, (method, path, attempt)
            assert response.json()["error"]["code"] == "unauthorized"


def test_widget_routes_are_public_while_the_machine_api_needs_the_key(
    scripted_assistant: Assistant, tmp_path: Path
) -> None:
    key = "k" * 32
    settings = ServeSettings(host="0.0.0.0", api_key=key)
    for web in web_app(scripted_assistant, tmp_path / "chat.db", settings):
        token = web.start()
        assert web.say(token, "where is my parcel")["kind"] == "answer"
        cid = web.conversation_id(token)
        for headers in ({}, {TOKEN_HEADER: token}):
            assert web.client.get(f"/v1/conversations/{cid}", headers=headers).status_code == 401
            chat = web.client.post("/v1/chat", json={"message": "hi"}, headers=headers)
            assert chat.status_code == 401
        ok = web.client.get(f"/v1/conversations/{cid}", headers={"X-API-Key": key})
        assert ok.status_code == 200
        # off loopback the session cookie is Secure
        login = web.client.post("/inbox/api/login", json={"name": "sam", "password": "x" * 12})
        assert login.status_code == 401
        assert web.client.app.state.secure_cookies is True  # type: ignore[attr-defined]


def test_new_conversations_and_messages_are_rate_limited(
    scripted_assistant: Assistant, tmp_path: Path
) -> None:
    limits = WebSettings(conversations_per_minute=1, messages_per_minute=1, burst=2)
    for web in web_app(scripted_assistant, tmp_path / "chat.db", web=limits):
        token = web.start()
        web.start()
        refused = web.client.post("/widget/v1/conversations", json={})
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "60"
        assert refused.json() == {
            "error": {
                "code": "rate_limited",
                "message": "too many new conversations; retry in 60 s",
                "field": None,
            }
        }
        web.say(token, "where is my parcel")
        web.say(token, "where is my parcel")
        third = web.client.post(
            "/widget/v1/messages", json={"message": "hi"}, headers={TOKEN_HEADER: token}
        )
        assert third.status_code == 429


def test_the_event_stream_sends_the_conversation(web: Web) -> None:
    token = web.start()
    web.say(token, "where is my parcel")
    # the fixture's streams end after 0.3 s, so the whole body can be read here
    response = web.client.get("/widget/v1/events", headers={TOKEN_HEADER: token})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [block for block in response.text.split("\n\n") if block.startswith("event:")]
    assert len(events) == 1  # sent once: it did not change while the stream was open
    name, data = events[0].split("\n")
    assert name == "event: conversation"
    import json

    got = json.loads(data.removeprefix("data: "))
    assert got == web.client.get("/widget/v1/conversation", headers={TOKEN_HEADER: token}).json()


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/", "text/html"),
        ("/widget.js", "text/javascript"),
        ("/static/widget.css", "text/css"),
        ("/inbox", "text/html"),
        ("/inbox/login", "text/html"),
        ("/static/inbox.js", "text/javascript"),
    ],
)
def test_pages_are_served_from_the_package(web: Web, path: str, kind: str) -> None:
    response = web.client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(kind)
    if kind == "text/html":
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "http" not in response.text.split("<body", 1)[1]  # nothing from another host
        assert "<script>" not in response.text  # no inline script
    if path == "/widget.js":
        assert response.headers["cross-origin-resource-policy"] == "cross-origin"


def test_static_files_outside_the_folder_are_not_served(web: Web) -> None:
    for path in ("/static/..%2Fapp.py", "/static/app.py", "/static/nothing.js"):
        assert web.client.get(path).status_code == 404, path


def test_other_sites_may_call_the_widget_only_when_listed(
    scripted_assistant: Assistant, tmp_path: Path
) -> None:
    shop = "https://shop.example"
    cors = WebSettings(widget_origins=[shop])
    for web in web_app(scripted_assistant, tmp_path / "chat.db", web=cors):
        preflight = {
            "Origin": shop,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": f"content-type,{TOKEN_HEADER.lower()}",
        }
        ok = web.client.options("/widget/v1/messages", headers=preflight)
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == shop
        other = web.client.options(
            "/widget/v1/messages", headers={**preflight, "Origin": "https://evil.example"}
        )
        assert other.status_code == 400
        # the inbox never answers another site
        inbox = web.client.options("/inbox/api/login", headers=preflight)
        assert "access-control-allow-origin" not in inbox.headers
