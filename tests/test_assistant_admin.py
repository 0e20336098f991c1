"""POST /admin/reload: a good run is swapped in, a broken one refused (the old one keeps
serving), requests in flight finish on the old one, and no admin key means no reload."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from launchml.assistant.admin_api import AdminSettings
from launchml.assistant.runtime import Assistant
from launchml.assistant.web import create_app
from launchml.errors import InvalidConfigError, NotFoundError
from launchml.serve import ServeSettings

KEY = "admin-key-0123456789"
ADMIN = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture(scope="module")
def runs(tiny_assistant_run: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("reload")
    second = root / "second"
    shutil.copytree(tiny_assistant_run, second)
    broken = root / "broken"
    shutil.copytree(tiny_assistant_run, broken)
    (broken / "assistant.json").write_text("{}", encoding="utf-8")  # no longer its manifest's
    return {"first": tiny_assistant_run, "second": second, "broken": broken}


@pytest.fixture
def app_and_client(runs: dict[str, Path], tmp_path: Path) -> Iterator[tuple[object, TestClient]]:
    assistant = Assistant.load(runs["first"], store_url=f"sqlite:///{tmp_path / 'chat.db'}")
    # the app of launchml assistant serve, with the admin key
    app = create_app(assistant, ServeSettings(), admin_key=KEY)
    yield app, TestClient(app)
    app.state.assistant.close()


def test_a_good_run_is_swapped_in_and_conversations_carry_on(
    app_and_client: tuple[object, TestClient], runs: dict[str, Path]
) -> None:
    app, client = app_and_client
    first = client.post("/v1/chat", json={"message": "I want a real person"}).json()
    old = app.state.assistant  # type: ignore[attr-defined]
    response = client.post("/admin/reload", json={"run": str(runs["second"])}, headers=ADMIN)
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "status": "reloaded",
        "run": str(runs["second"]),
        "name": "tiny",
        "previous": str(runs["first"]),
        "intent_accuracy": json.loads((runs["second"] / "evaluation.json").read_text())["intent"][
            "accuracy"
        ],
    }
    new = app.state.assistant  # type: ignore[attr-defined]
    assert new is not old and new.path == runs["second"]
    assert new.store is old.store  # the same conversations, the same database connection pool
    # the handed-off conversation stays with its person on the new run
    later = client.post(
        "/v1/chat", json={"conversation_id": first["conversation_id"], "message": "hello?"}
    ).json()
    assert (later["kind"], later["reason"], later["reply"]) == (
        "handoff", "waiting_for_agent", None,
    )  # fmt: skip


def test_no_body_reloads_the_same_run(app_and_client: tuple[object, TestClient]) -> None:
    app, client = app_and_client
    old = app.state.assistant  # type: ignore[attr-defined]
    response = client.post("/admin/reload", headers={"X-Admin-Key": KEY})
    assert response.status_code == 200
    assert response.json()["run"] == response.json()["previous"] == str(old.path)
    assert app.state.assistant is not old  # type: ignore[attr-defined]


@pytest.mark.parametrize("which", ["broken", "missing", "not_a_run"])
def test_a_broken_run_is_refused_and_the_old_one_keeps_serving(
    app_and_client: tuple[object, TestClient], runs: dict[str, Path], tmp_path: Path, which: str
) -> None:
    app, client = app_and_client
    path = {"broken": runs["broken"], "missing": tmp_path / "nope", "not_a_run": tmp_path}[which]
    reason = {
        "broken": "changed since it was trained (modified: assistant.json)",
        "missing": "not an assistant run (no assistant.json)",
        "not_a_run": "not an assistant run (no assistant.json)",
    }[which]
    old = app.state.assistant  # type: ignore[attr-defined]
    response = client.post("/admin/reload", json={"run": str(path)}, headers=ADMIN)
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("reload_refused", "run")
    assert error["message"].startswith(f"{path}: not loaded ({path}: {reason}")
    assert error["message"].endswith(f"; still serving {runs['first']}")
    assert app.state.assistant is old  # type: ignore[attr-defined]
    chat = client.post("/v1/chat", json={"message": "where is my order, has it shipped?"})
    assert (chat.status_code, chat.json()["intent"]) == (200, "order_status")


@pytest.mark.parametrize(
    ("headers", "status", "code", "message"),
    [
        ({}, 401, "unauthorized",
         "missing admin key; send 'X-Admin-Key: KEY' or 'Authorization: Bearer KEY'"),
        ({"X-Admin-Key": "wrong-key-0123456789"}, 401, "unauthorized", "wrong admin key"),
        ({"Authorization": "Bearer nope"}, 401, "unauthorized", "wrong admin key"),
    ],
)  # fmt: skip
def test_no_or_wrong_key_is_refused(
    app_and_client: tuple[object, TestClient],
    headers: dict[str, str],
    status: int,
    code: str,
    message: str,
) -> None:
    app, client = app_and_client
    old = app.state.assistant  # type: ignore[attr-defined]
    response = client.post("/admin/reload", headers=headers)
    assert response.status_code == status
    assert response.json() == {"error": {"code": code, "message": message, "field": None}}
    assert app.state.assistant is old  # type: ignore[attr-defined]


def test_without_a_configured_key_the_admin_api_is_off(
    app_and_client: tuple[object, TestClient],
) -> None:
    app, client = app_and_client
    app.state.admin_key = None  # type: ignore[attr-defined]
    response = client.post("/admin/reload", headers=ADMIN)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert "--admin-key-file" in response.json()["error"]["message"]


def test_requests_in_flight_finish_on_the_old_run(
    app_and_client: tuple[object, TestClient], runs: dict[str, Path]
) -> None:
    app, client = app_and_client
    old = app.state.assistant  # type: ignore[attr-defined]
    started, release = threading.Event(), threading.Event()
    real_reply = old.reply

    def slow_reply(*args: object) -> object:
        started.set()
        assert release.wait(30)
        return real_reply(*args)

    old.reply = slow_reply
    answers: list[dict[str, object]] = []
    worker = threading.Thread(
        target=lambda: answers.append(
            client.post("/v1/chat", json={"message": "i want a refund"}).json()
        )
    )
    worker.start()
    assert started.wait(30)  # the request is inside the old assistant now
    reloaded = client.post("/admin/reload", json={"run": str(runs["second"])}, headers=ADMIN)
    assert reloaded.status_code == 200
    assert app.state.assistant is not old  # type: ignore[attr-defined]
    release.set()
    worker.join(30)
    assert answers and answers[0]["intent"] == "refund"  # answered, by the old assistant
    history = app.state.assistant.conversation(answers[0]["conversation_id"])  # type: ignore[attr-defined]
    assert [m["role"] for m in history["messages"]] == ["customer", "bot"]


def test_admin_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAUNCHML_ADMIN_KEY", raising=False)
    assert AdminSettings().resolved_admin_key() is None
    monkeypatch.setenv("LAUNCHML_ADMIN_KEY", KEY)
    assert AdminSettings().resolved_admin_key() == KEY
    monkeypatch.delenv("LAUNCHML_ADMIN_KEY")
    key_file = tmp_path / "admin.key"
    key_file.write_text(f"{KEY}\n", encoding="utf-8")
    assert AdminSettings(admin_key_file=key_file).resolved_admin_key() == KEY
    key_file.write_text("short\n", encoding="utf-8")
    with pytest.raises(InvalidConfigError, match="admin key is 5 characters; use at least 16"):
        AdminSettings(admin_key_file=key_file).resolved_admin_key()
    with pytest.raises(NotFoundError, match="admin key file not found"):
        AdminSettings(admin_key_file=tmp_path / "none").resolved_admin_key()
