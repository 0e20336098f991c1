"""The assistant's web side under test: the real app, runtime, policy and store, with the
models' output scripted per message and a fixed clock, so that every JSON body is exact."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from launchml.assistant.faq import FaqEntry, FaqMatch
from launchml.assistant.inbox_store import InboxStore
from launchml.assistant.language import Detected
from launchml.assistant.policy import Candidate, Understanding
from launchml.assistant.runtime import Assistant
from launchml.assistant.store import Store
from launchml.assistant.web import create_app
from launchml.assistant.web.auth import CSRF_HEADER, TOKEN_HEADER, hash_password
from launchml.assistant.web.settings import WebSettings
from launchml.serve import ServeSettings

FIXED = datetime(2025, 1, 31, 12, 0, 0, tzinfo=UTC)
NOW = "2025-01-31T12:00:00Z"
PASSWORD = "correct horse battery"
FAQ = FaqMatch(FaqEntry(0, "Do you ship internationally?", "Yes, to every EU country.", "en"), 0.91)

# message -> (candidates, in-scope score, FAQ match); the threshold is 0.0 everywhere
SCRIPT: dict[str, tuple[list[tuple[str, float]], float, FaqMatch | None]] = {
    "where is my parcel": ([("order_status", 0.95), ("refund", 0.03)], 2.0, None),
    "refund or new address": ([("refund", 0.48), ("change_address", 0.44)], 1.0, None),
    "do you ship abroad": ([("order_status", 0.4), ("refund", 0.3)], 1.0, FAQ),
    "what is the weather on mars": ([("order_status", 0.5), ("refund", 0.2)], -5.0, None),
}


def scripted_understanding(text: str, language: Detected) -> Understanding:
    """What the models "say" about ``text`` (a message outside the script: the first line's)."""
    candidates, in_scope, faq = SCRIPT.get(text.lower().strip(" ?!."), SCRIPT["where is my parcel"])
    return Understanding(
        text=text,
        language=language.language,
        candidates=[Candidate(i, c) for i, c in candidates],
        in_scope=in_scope,
        threshold=0.0,
        nearest_intent=0.5,
        faq=faq,
    )


@dataclass
class Web:
    client: TestClient
    assistant: Assistant
    inbox: InboxStore

    def start(self, **body: Any) -> str:
        """A new widget conversation; its token."""
        response = self.client.post("/widget/v1/conversations", json=body)
        assert response.status_code == 201, response.text
        token: str = response.json()["token"]
        return token

    def say(self, token: str, message: str) -> dict[str, Any]:
        response = self.client.post(
            "/widget/v1/messages", json={"message": message}, headers={TOKEN_HEADER: token}
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def conversation_id(self, token: str) -> str:
        found = self.inbox.conversation_of_token(token)
        assert found is not None
        return found

    def login(self, name: str = "sam", password: str = PASSWORD) -> str:
        """Log the client in (it keeps the cookie); the CSRF token."""
        response = self.client.post("/inbox/api/login", json={"name": name, "password": password})
        assert response.status_code == 200, response.text
        csrf: str = response.json()["csrf_token"]
        return csrf

    def post(self, path: str, csrf: str, body: dict[str, Any] | None = None) -> Any:
        return self.client.post(path, json=body, headers={CSRF_HEADER: csrf})


class English:
    """The language identifier, scripted: English, detected with confidence 0.99."""

    def identify(self, text: str, conversation: str | None, stated: str | None) -> Detected:
        return Detected(
            stated or "en", None if stated else 0.99, "request" if stated else "detected"
        )


def scripted_assistant(run: Path) -> Assistant:
    """The trained run, loaded once; :func:`web_app` gives it a new store every time."""
    assistant = Assistant.load(run)
    assistant.understand = scripted_understanding  # type: ignore[method-assign]
    assistant.languages = English()  # type: ignore[assignment]
    return assistant


@functools.cache
def password_hash() -> str:
    return hash_password(PASSWORD)


def use_store(assistant: Assistant, db: Path) -> InboxStore:
    """A new store (fixed clock) for ``assistant``, with agents sam and kim."""
    assistant.close()
    assistant.store_url = f"sqlite:///{db}"
    assistant._store = Store(assistant.store_url, clock=lambda: FIXED)
    inbox = InboxStore(assistant.store)
    inbox.add_agent("sam", password_hash())
    inbox.add_agent("kim", password_hash())
    return inbox


def web_app(
    assistant: Assistant,
    db: Path,
    settings: ServeSettings | None = None,
    web: WebSettings | None = None,
) -> Iterator[Web]:
    """The app on the scripted ``assistant`` and a new store, with agents ``sam`` and ``kim``
    (password :data:`PASSWORD`)."""
    use_store(assistant, db)
    app = create_app(assistant, settings or ServeSettings(), web or WebSettings(stream_s=0.3))
    with TestClient(app) as client:
        yield Web(client, assistant, app.state.inbox)
    assistant.close()
