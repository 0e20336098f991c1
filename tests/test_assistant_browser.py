"""The whole story in a real browser: headless Chromium (Debian's) driven by Playwright.

A customer asks a known question and gets the answer, asks something the assistant does not
know and is handed off; an agent, logged in on a second page before that, sees the
conversation appear without reloading, replies, and the customer's page shows the reply; the
agent relabels the message; the correction retrains the assistant, the server reloads it
without a restart, and a new customer asking the same question gets the answer. On failure
the pages are saved as screenshots under ``test-artifacts/``. Playwright drives
``/usr/bin/chromium``; it never downloads a browser.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from launchml.assistant.inbox_store import InboxStore
from launchml.assistant.runtime import Assistant
from launchml.assistant.web import create_app
from launchml.assistant.web.auth import hash_password
from launchml.assistant.web.settings import WebSettings
from launchml.serve import ServeSettings
from tests.serve_fakes import running_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PASSWORD = "correct horse battery"
ADMIN_KEY = "an-admin-key-for-the-browser-test"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).is_file(),
        reason="chromium is not installed (make test-browser installs Debian's chromium)",
    ),
]


@pytest.fixture
def server(tiny_assistant_run: Path, tmp_path: Path) -> Iterator[tuple[str, Assistant]]:
    """The real assistant (its real models) served on 127.0.0.1, with agent sam."""
    assistant = Assistant.load(tiny_assistant_run, store_url=f"sqlite:///{tmp_path / 'c.db'}")
    InboxStore(assistant.store).add_agent("sam", hash_password(PASSWORD))
    app = create_app(
        assistant, ServeSettings(access_log=False), WebSettings(poll_s=1.0), admin_key=ADMIN_KEY
    )
    try:
        with running_server(app) as (base, _):
            yield base, assistant
    finally:
        assistant.close()


@pytest.fixture
def browser() -> Iterator[Any]:
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield chromium
        finally:
            chromium.close()


def test_customer_to_agent_and_back(
    server: tuple[str, Assistant], browser: Any, tiny_assistant_run: Path, tmp_path: Path
) -> None:
    base, assistant = server
    errors: list[str] = []
    pages: dict[str, Any] = {}
    try:
        agent = pages["agent"] = browser.new_context(
            viewport={"width": 1280, "height": 860}
        ).new_page()
        agent.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        agent.goto(f"{base}/inbox")
        agent.wait_for_url("**/inbox/login")  # logged out: sent to the login page
        agent.fill("#name", "sam")
        agent.fill("#password", PASSWORD)
        agent.click("button[type=submit]")
        agent.wait_for_url("**/inbox")
        errors.clear()  # the logged-out visit's 401 was expected
        agent.locator("#live.on").wait_for()  # the live stream is open
        assert agent.locator(".queue-item").count() == 0

        customer = pages["customer"] = browser.new_context(
            viewport={"width": 390, "height": 800}
        ).new_page()
        customer.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        customer.goto(f"{base}/")
        chat = customer.locator("[data-launchml-chat]")
        chat.locator(".bubble", has_text="Hi! Ask me anything").wait_for()
        box = chat.locator("textarea")
        box.fill("where is my order")
        box.press("Enter")
        chat.locator(".row.bot .bubble", has_text="Track it under Orders.").wait_for()
        chat.locator(".row.bot .thumb.up").first.click()  # thumbs up on the answer
        chat.locator(".thanks").wait_for()

        box.fill("what is the weather like on mars today")
        box.press("Enter")
        chat.locator(".bubble", has_text="passing you to a colleague").wait_for()
        chat.locator(".status", has_text="Waiting for a person").wait_for()

        # the agent's page shows it without a reload
        item = agent.locator(".queue-item", has_text="weather like on mars")
        item.wait_for(timeout=15_000)
        item.click()
        agent.locator(".msg.customer", has_text="weather like on mars").wait_for()
        handoff = agent.locator(".msg.customer", has_text="weather like on mars")
        assert handoff.locator(".badge.kind-handoff").inner_text() == "handoff"
        agent.fill("#reply-text", "Hi, Sam here. I'll find out for you.")
        agent.click("#reply button[type=submit]")
        agent.locator(".msg.agent", has_text="Sam here").wait_for()

        # the customer's page shows who joined and the reply, live
        chat.locator(".row.agent .bubble", has_text="Sam here").wait_for(timeout=15_000)
        chat.locator(".notice", has_text="sam joined the conversation").wait_for()

        # the agent relabels the unanswered message
        handoff.locator("select").select_option("order_status")
        handoff.locator("button", has_text="Save label").click()
        handoff.locator(".chip", has_text="relabelled → order_status").wait_for()

        detail = InboxStore(assistant.store).detail(InboxStore(assistant.store).queue()[0]["id"])
        relabelled = [m for m in detail["messages"] if m["corrections"]]
        assert [m["text"] for m in relabelled] == ["what is the weather like on mars today"]
        assert relabelled[0]["corrections"][0]["intent"] == "order_status"
        rated = [m for m in detail["messages"] if m["feedback"]]
        assert [(m["text"], m["feedback"][0]["rating"]) for m in rated] == [
            ("Track it under Orders.", 1)
        ]
        assert errors == []

        # the correction retrains the assistant, the server switches to it without a restart,
        # and a new customer asking the same question now gets the answer
        import httpx

        from launchml.assistant.retrain import retrain_assistant

        retrained = tmp_path / "retrained"
        retrain_assistant(tiny_assistant_run, retrained, store_url=assistant.store.url)
        reload = httpx.post(
            f"{base}/admin/reload",
            json={"run": str(retrained)},
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
            timeout=120,
        )
        assert reload.status_code == 200, reload.text
        again = pages["again"] = browser.new_context(
            viewport={"width": 390, "height": 800}
        ).new_page()
        again.goto(f"{base}/")
        chat = again.locator("[data-launchml-chat]")
        chat.locator(".bubble", has_text="Hi! Ask me anything").wait_for()
        chat.locator("textarea").fill("what is the weather like on mars today")
        chat.locator("textarea").press("Enter")
        chat.locator(".row.bot .bubble", has_text="Track it under Orders.").wait_for()
    except BaseException:
        ARTIFACTS.mkdir(exist_ok=True)
        for name, page in pages.items():
            page.screenshot(path=str(ARTIFACTS / f"assistant-{name}.png"), full_page=True)
        raise


def test_did_you_mean_buttons_and_thumbs(
    scripted_assistant: Assistant, tmp_path: Path, browser: Any
) -> None:
    # the models' output scripted (tests/web_fakes.py): this message is a close call
    from tests.web_fakes import use_store

    use_store(scripted_assistant, tmp_path / "c.db")
    app = create_app(scripted_assistant, ServeSettings(access_log=False))
    page = browser.new_context(viewport={"width": 390, "height": 700}).new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        with running_server(app) as (base, _):
            page.goto(f"{base}/")
            chat = page.locator("[data-launchml-chat]")
            box = chat.locator("textarea")
            box.fill("refund or new address")
            box.press("Enter")
            chat.locator(".bubble", has_text="Did you mean refund or change address?").wait_for()
            assert chat.locator(".choice").all_inner_texts() == ["refund", "change address"]
            assert chat.locator(".thumb").count() == 0  # no thumbs on a question
            chat.locator(".choice", has_text="change address").click()
            chat.locator(".bubble", has_text="Edit the address under Orders.").wait_for()
            assert chat.locator(".choice").count() == 0
            chat.locator(".thumb.down").click()
            chat.locator(".thanks").wait_for()
            page.reload()  # the token in localStorage brings the same conversation back
            chat.locator(".bubble", has_text="Edit the address under Orders.").wait_for()
            assert errors == []
        inbox = InboxStore(scripted_assistant.store)
        answer = inbox.detail(inbox.queue(everything=True)[0]["id"])["messages"][-1]
        assert (answer["text"], [f["rating"] for f in answer["feedback"]]) == (
            "Edit the address under Orders.", [-1],
        )  # fmt: skip
    except BaseException:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "assistant-did-you-mean.png"), full_page=True)
        raise
    finally:
        scripted_assistant.close()
