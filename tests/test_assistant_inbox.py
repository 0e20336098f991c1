"""The agent inbox's routes: login, session cookie and CSRF, the queue, one conversation with
its decisions, and every action, with exact JSON; 401 when logged out, 403 without CSRF."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from launchml.assistant.runtime import Assistant
from launchml.assistant.web.auth import CSRF_HEADER, SESSION_COOKIE
from launchml.assistant.web.settings import WebSettings
from tests.test_assistant_widget import INBOX_ROUTES
from tests.web_fakes import NOW, PASSWORD, Web, web_app


@pytest.fixture
def web(scripted_assistant: Assistant, tmp_path: Path) -> Iterator[Web]:
    yield from web_app(scripted_assistant, tmp_path / "chat.db")


def handed_off(web: Web) -> tuple[str, str]:
    """A widget conversation answered once and then handed off: (token, conversation id)."""
    token = web.start()
    web.say(token, "where is my parcel")
    web.say(token, "what is the weather on mars")
    return token, web.conversation_id(token)


def decision(kind: str, reason: str, intent: str | None, candidates: list[tuple[str, float]],
             in_scope: float, faq: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    margin = round(candidates[0][1] - candidates[1][1], 4)
    return {
        "kind": kind, "reason": reason, "intent": intent, "confidence": candidates[0][1],
        "in_scope": in_scope, "threshold": 0.0, "language_source": "detected",
        "scores": {
            "language": "en",
            "candidates": [{"intent": i, "confidence": c} for i, c in candidates],
            "in_scope": in_scope, "threshold": 0.0, "margin": margin, "clarify_margin": 0.2,
            "nearest_intent": 0.5, "faq": faq, "faq_min_similarity": 0.75,
            "language_confidence": 0.99,
        },
    }  # fmt: skip


def agent_message(id_: int, role: str, text: str, decision: dict[str, Any] | None = None,
                  author: str | None = None, **extra: Any) -> dict[str, Any]:  # fmt: skip
    return {
        "id": id_, "role": role, "text": text, "language": "en", "author": author,
        "redacted": [], "created_at": NOW, "decision": decision, "corrections": [],
        "feedback": [], "faq_verdicts": [], **extra,
    }  # fmt: skip


def test_login_sets_a_strict_http_only_cookie_and_returns_the_csrf_token(web: Web) -> None:
    response = web.client.post("/inbox/api/login", json={"name": "sam", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body == {"agent": "sam", "csrf_token": body["csrf_token"]}
    assert len(body["csrf_token"]) == 43
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite", "max-age", "path"} <= attributes
    assert "samesite=strict" in cookie.lower()
    assert "secure" not in attributes  # on loopback; off loopback see the widget tests
    me = web.client.get("/inbox/api/me")
    assert me.json() == {"agent": "sam", "csrf_token": body["csrf_token"]}


@pytest.mark.parametrize(
    "credentials",
    [{"name": "sam", "password": "wrong password"}, {"name": "nobody", "password": PASSWORD}],
)
def test_a_wrong_name_or_password_is_one_answer(web: Web, credentials: dict[str, str]) -> None:
    response = web.client.post("/inbox/api/login", json=credentials)
    assert response.status_code == 401
    assert response.json() == {
        "error": {"code": "unauthorized", "message": "wrong name or password", "field": None}
    }
    assert "set-cookie" not in response.headers


def test_login_attempts_are_rate_limited(scripted_assistant: Assistant, tmp_path: Path) -> None:
    for web in web_app(scripted_assistant, tmp_path / "c.db", web=WebSettings(logins_per_minute=1)):
        codes = [
            web.client.post(
                "/inbox/api/login", json={"name": "sam", "password": "nope"}
            ).status_code
            for _ in range(6)
        ]
        assert codes == [401] * 5 + [429]
        # the right password is refused too until the bucket refills: no guessing at speed
        late = web.client.post("/inbox/api/login", json={"name": "sam", "password": PASSWORD})
        assert late.status_code == 429


def test_logged_out_agents_get_401_everywhere(web: Web) -> None:
    _, cid = handed_off(web)
    for method, path in INBOX_ROUTES:
        response = web.client.request(method, path.format(cid=cid), json={})
        assert response.status_code == 401, (method, path)
        assert response.json() == {
            "error": {
                "code": "unauthorized",
                "message": "not logged in; log in at /inbox/login",
                "field": None,
            }
        }


def test_every_change_needs_the_csrf_token(web: Web) -> None:
    _, cid = handed_off(web)
    web.login()
    changes = [(m, p) for m, p in INBOX_ROUTES if m == "POST"]
    for headers in ({}, {CSRF_HEADER: "not-the-token"}):
        for method, path in changes:
            response = web.client.request(
                method, path.format(cid=cid), headers=headers,
                json={"text": "hi", "intent": "refund", "verdict": "right"},
            )  # fmt: skip
            assert response.status_code == 403, (path, headers)
            assert response.json()["error"]["code"] == "csrf_failed"
    # nothing changed
    assert web.inbox.status(cid)["status"] == "waiting"
    assert web.inbox.detail(cid)["messages"][2]["corrections"] == []


def test_another_agents_csrf_token_does_not_pass(web: Web) -> None:
    _, cid = handed_off(web)
    _, kims = web.inbox.new_session("kim", timedelta(hours=1))
    web.login("sam")
    refused = web.post(f"/inbox/api/conversations/{cid}/take", kims)
    assert refused.status_code == 403


def test_an_expired_or_ended_session_is_refused(web: Web) -> None:
    token, _ = web.inbox.new_session("sam", timedelta(seconds=-1))
    web.client.cookies.set(SESSION_COOKIE, token)
    expired = web.client.get("/inbox/api/me")
    assert expired.status_code == 401
    assert expired.json()["error"]["message"] == (
        "the session has expired or was ended; log in at /inbox/login"
    )
    web.client.cookies.clear()
    csrf = web.login()
    out = web.post("/inbox/api/logout", csrf)
    assert (out.status_code, out.json()) == (200, {"agent": None})
    assert 'launchml_session=""' in out.headers["set-cookie"]
    # the old cookie value is dead on the server too, not only deleted in the browser
    web.client.cookies.set(SESSION_COOKIE, token)
    assert web.client.get("/inbox/api/me").status_code == 401


def test_the_queue(web: Web) -> None:
    _, cid = handed_off(web)
    happy = web.start()
    web.say(happy, "where is my parcel")  # answered: not in the queue
    web.start()  # no message yet: in no list
    web.login()
    queue = web.client.get("/inbox/api/conversations").json()
    assert queue == {
        "conversations": [
            {
                "id": cid,
                "status": "waiting",
                "language": "en",
                "assigned_agent": None,
                "handoff_reason": "out_of_scope",
                "handed_off_at": NOW,
                "customer_message": "what is the weather on mars",
                "last_message": {
                    "id": 4,
                    "role": "bot",
                    "text": "I'm passing you to a colleague who will reply here shortly.",
                    "created_at": NOW,
                },
                "messages": 4,
                "updated_at": NOW,
            }
        ]
    }
    everything = web.client.get("/inbox/api/conversations?view=all").json()["conversations"]
    assert sorted(c["status"] for c in everything) == ["bot", "waiting"]
    assert web.client.get("/inbox/api/conversations?view=x").status_code == 422


def test_one_conversation_with_decisions_and_scores(web: Web) -> None:
    _, cid = handed_off(web)
    web.login()
    detail = web.client.get(f"/inbox/api/conversations/{cid}").json()
    assert detail == {
        "id": cid,
        "state": "handoff",
        "language": "en",
        "created_at": NOW,
        "updated_at": NOW,
        "status": "waiting",
        "assigned_agent": None,
        "messages": [
            agent_message(1, "customer", "where is my parcel", decision(
                "answer", "confident", "order_status",
                [("order_status", 0.95), ("refund", 0.03)], 2.0)),
            agent_message(2, "bot", "Track it under Orders."),
            agent_message(3, "customer", "what is the weather on mars", decision(
                "handoff", "out_of_scope", None, [("order_status", 0.5), ("refund", 0.2)], -5.0)),
            agent_message(4, "bot", "I'm passing you to a colleague who will reply here shortly."),
        ],
        "handoffs": [
            {"reason": "out_of_scope", "started_at": NOW, "ended_at": None, "ended_by": None}
        ],
    }  # fmt: skip
    missing = web.client.get("/inbox/api/conversations/nope")
    assert (missing.status_code, missing.json()["error"]["message"]) == (
        404, "conversation 'nope' not found",
    )  # fmt: skip


def test_take_reply_give_back(web: Web) -> None:
    token, cid = handed_off(web)
    csrf = web.login()
    took = web.post(f"/inbox/api/conversations/{cid}/take", csrf)
    assert (took.status_code, took.json()) == (
        200, {"conversation_id": cid, "status": "assigned", "assigned_agent": "sam"},
    )  # fmt: skip
    reply = web.post(
        f"/inbox/api/conversations/{cid}/reply", csrf, {"text": "Card 4111 1111 1111 1111?"}
    )
    assert (reply.status_code, reply.json()) == (
        201,
        {"message_id": 5, "conversation_id": cid, "status": "assigned", "assigned_agent": "sam"},
    )
    shown = web.client.get(f"/inbox/api/conversations/{cid}").json()["messages"][-1]
    assert shown == agent_message(5, "agent", "Card [CARD]?", author="sam")
    back = web.post(f"/inbox/api/conversations/{cid}/give-back", csrf)
    assert back.json() == {"conversation_id": cid, "status": "bot", "assigned_agent": None}
    assert web.say(token, "where is my parcel")["kind"] == "answer"  # the bot talks again
    again = web.post(f"/inbox/api/conversations/{cid}/give-back", csrf)
    assert (again.status_code, again.json()["error"]) == (
        409, {"code": "conflict", "message": f"conversation {cid!r} is not handed off",
              "field": None},
    )  # fmt: skip
    late = web.post(f"/inbox/api/conversations/{cid}/reply", csrf, {"text": "hello"})
    assert late.status_code == 409
    assert late.json()["error"]["message"] == f"conversation {cid!r} is not handed off (it is bot)"
    handoffs = web.client.get(f"/inbox/api/conversations/{cid}").json()["handoffs"]
    assert handoffs == [
        {"reason": "out_of_scope", "started_at": NOW, "ended_at": NOW, "ended_by": "sam"}
    ]


def test_a_reply_joins_and_a_second_agent_can_take_over(web: Web) -> None:
    _, cid = handed_off(web)
    csrf = web.login("kim")
    first = web.post(f"/inbox/api/conversations/{cid}/reply", csrf, {"text": "Kim here"})
    assert first.json()["assigned_agent"] == "kim"
    empty = web.post(f"/inbox/api/conversations/{cid}/reply", csrf, {"text": ""})
    assert (empty.status_code, empty.json()["error"]["field"]) == (422, "text")


def test_resolve_and_reopen(web: Web) -> None:
    token, cid = handed_off(web)
    csrf = web.login()
    done = web.post(f"/inbox/api/conversations/{cid}/resolve", csrf)
    assert (done.status_code, done.json()) == (
        200, {"conversation_id": cid, "status": "resolved", "assigned_agent": None},
    )  # fmt: skip
    assert web.client.get("/inbox/api/conversations").json() == {"conversations": []}
    twice = web.post(f"/inbox/api/conversations/{cid}/resolve", csrf)
    assert twice.status_code == 409
    seen = web.say(token, "where is my parcel")  # a new message reopens it, with the bot
    assert (seen["kind"], seen["conversation"]["status"]) == ("answer", "bot")
    assert web.post(f"/inbox/api/conversations/{cid}/resolve", csrf).status_code == 200
    missing = web.post("/inbox/api/conversations/nope/resolve", csrf)
    assert missing.status_code == 404


def test_relabel_a_message(web: Web) -> None:
    _, cid = handed_off(web)
    csrf = web.login()
    done = web.post("/inbox/api/messages/3/correction", csrf, {"intent": "refund"})
    assert (done.status_code, done.json()) == (
        201, {"id": 1, "message_id": 3, "intent": "refund", "author": "sam"},
    )  # fmt: skip
    message = web.client.get(f"/inbox/api/conversations/{cid}").json()["messages"][2]
    assert message["corrections"] == [{"intent": "refund", "author": "sam", "created_at": NOW}]
    unknown = web.post("/inbox/api/messages/3/correction", csrf, {"intent": "weather"})
    assert (unknown.status_code, unknown.json()["error"]["message"]) == (
        422, "intent: 'weather' is not an intent of this assistant "
             "(change_address, contact_human, order_status, refund)",
    )  # fmt: skip
    on_bot = web.post("/inbox/api/messages/4/correction", csrf, {"intent": "refund"})
    assert (on_bot.status_code, on_bot.json()["error"]["message"]) == (
        409, "message 4 is not a customer's message",
    )  # fmt: skip
    gone = web.post("/inbox/api/messages/99/correction", csrf, {"intent": "refund"})
    assert (gone.status_code, gone.json()["error"]["message"]) == (404, "message 99 not found")


def test_faq_verdicts(web: Web) -> None:
    token = web.start()
    web.say(token, "do you ship abroad")
    web.say(token, "where is my parcel")
    cid = web.conversation_id(token)
    csrf = web.login()
    wrong = web.post("/inbox/api/messages/1/faq-verdict", csrf, {"verdict": "wrong"})
    assert (wrong.status_code, wrong.json()) == (
        201, {"id": 1, "message_id": 1, "verdict": "wrong", "author": "sam"},
    )  # fmt: skip
    first = web.client.get(f"/inbox/api/conversations/{cid}").json()["messages"][0]
    assert first["faq_verdicts"] == [
        {"verdict": "wrong", "faq_id": 0, "author": "sam", "created_at": NOW}
    ]
    not_faq = web.post("/inbox/api/messages/3/faq-verdict", csrf, {"verdict": "right"})
    assert (not_faq.status_code, not_faq.json()["error"]["message"]) == (
        409, "message 3 was not answered from the FAQ",
    )  # fmt: skip
    bad = web.post("/inbox/api/messages/1/faq-verdict", csrf, {"verdict": "maybe"})
    assert (bad.status_code, bad.json()["error"]["field"]) == (422, "verdict")


def test_intents_for_relabelling(web: Web) -> None:
    web.login()
    assert web.client.get("/inbox/api/intents").json() == {
        "intents": [
            {"intent": "change_address", "title": "change address"},
            {"intent": "contact_human", "title": "contact human"},
            {"intent": "order_status", "title": "order status"},
            {"intent": "refund", "title": "refund"},
        ]
    }


def test_the_event_stream_sends_the_queue_and_the_open_conversation(web: Web) -> None:
    _, cid = handed_off(web)
    web.login()
    response = web.client.get(f"/inbox/api/events?conversation={cid}")
    assert response.headers["content-type"].startswith("text/event-stream")
    events = {}
    for block in response.text.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.split("\n") if ": " in line)
        if "event" in lines:
            events[lines["event"]] = json.loads(lines["data"])
    assert events == {
        "queue": web.client.get("/inbox/api/conversations").json(),
        "conversation": web.client.get(f"/inbox/api/conversations/{cid}").json(),
    }
    assert web.client.get("/inbox/api/events?conversation=nope").status_code == 404


def test_agents_are_made_on_the_cli(cli, tmp_path: Path, monkeypatch) -> None:
    db = f"sqlite:///{tmp_path / 'agents.db'}"
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    added = cli("assistant", "agent", "add", "alex", "--db", db)
    assert (added.code, added.out) == (0, "alex\n")
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    twice = cli("assistant", "agent", "add", "alex", "--db", db)
    assert (twice.code, twice.err) == (2, "error: agent 'alex' exists already\n")
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    short = cli("assistant", "agent", "add", "kim", "--db", db)
    assert short.code == 2 and short.err.startswith("error: password: 5 characters; use at least")
    bad = cli("assistant", "agent", "add", "no spaces", "--db", db)
    assert bad.code == 2 and bad.err.startswith("error: agent name 'no spaces': use 1-64")
    where = cli("assistant", "agent", "add", "kim")
    assert (where.code, where.err) == (
        2, "error: give --run RUN (its store.url) or --db URL: which store?\n",
    )  # fmt: skip
    listed = cli("assistant", "agent", "list", "--db", db)
    assert listed.code == 0 and listed.out.startswith("alex\t")
    from launchml.assistant.inbox_store import InboxStore
    from launchml.assistant.store import Store
    from launchml.assistant.web.auth import check_password

    inbox = InboxStore(Store(db))
    stored = inbox.password_hash("alex")
    assert stored is not None and stored.startswith("$argon2id$") and PASSWORD not in stored
    assert check_password(stored, PASSWORD) and not check_password(stored, "wrong")
    inbox.store.close()
    assert cli("assistant", "agent", "remove", "alex", "--db", db).code == 0
    assert cli("assistant", "agent", "remove", "alex", "--db", db).code == 2


def test_analytics_and_reload_are_mounted_behind_their_guards(web: Web) -> None:
    handed_off(web)
    assert web.client.get("/inbox/api/analytics").status_code == 401
    assert web.client.get("/inbox/analytics").status_code == 401
    reload = web.client.post("/admin/reload")
    assert (reload.status_code, reload.json()["error"]["code"]) == (403, "forbidden")
    web.login()
    figures = web.client.get("/inbox/api/analytics?since=2025-01-01&until=2025-02-01").json()
    # the widget's conversation, counted by 20b's analytics from the same store
    assert figures["conversations"] == {
        "total": 1, "contained": 0, "handed_off": 1, "containment_rate": 0.0, "handoff_rate": 1.0,
    }  # fmt: skip
    assert figures["unanswered"][0]["text"] == "what is the weather on mars"
    page = web.client.get("/inbox/analytics?from=2025-01-01&to=2025-01-31")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
