"""Analytics on a hand-made store (tests/assistant_fixture_db.py), against hand-counted figures,
and its HTTP routes behind a stand-in for the inbox's agent login."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from launchml.assistant.analytics import compute_analytics
from launchml.assistant.analytics_api import analytics_router, choose_period
from launchml.assistant.store import Store
from launchml.errors import InvalidInputError, LaunchMLError
from launchml.serve.errors import install_error_handlers
from tests.assistant_fixture_db import SINCE, UNTIL, build_store

# Counted by hand from the fixture's comments:
# conversations started in [1 Mar, 5 Mar) with a customer message: c1 c2 c3 c4 c5 c6 c9 (7);
# contained: c1 c3; handed off: c2 c4 c5 c9; c6 had an agent but no handoff.
# bot turns (decisions in the period, not waiting_for_agent): c1 x2, c2, c3 x2, c4, c5, c6,
# c7's second, c9 x2 = 11.
EXPECTED = {
    "period": {"since": "2025-03-01T00:00:00Z", "until": "2025-03-05T00:00:00Z"},
    "conversations": {
        "total": 7,
        "contained": 2,
        "handed_off": 4,
        "containment_rate": 0.2857,
        "handoff_rate": 0.5714,
    },
    "turns": {
        "total": 11,
        "answered": 4,
        "faq": 1,
        "clarified": 2,
        "handed_off": 4,
        "clarification_rate": 0.1818,
    },
    "fallback_reasons": [
        {"reason": "close_call", "count": 2},
        {"reason": "out_of_scope", "count": 2},
        {"reason": "asked_for_person", "count": 1},
        {"reason": "failed_turns", "count": 1},
    ],
    "top_intents": [
        {"intent": "refund", "count": 2},
        {"intent": "change_address", "count": 1},
        {"intent": "order_status", "count": 1},
    ],
    "top_faq": [{"question": "Do you ship internationally?", "count": 1}],
    "feedback": {
        "up": 3,
        "down": 1,
        "helpful_rate": 0.75,
        "by_kind": {
            "agent": {"up": 1, "down": 0},
            "answer": {"up": 1, "down": 0},
            "clarify": {"up": 0, "down": 1},
            "faq": {"up": 1, "down": 0},
        },
    },
    "unanswered": [
        {"text": "my blender exploded", "count": 2, "example": "My blender  exploded"},
        {"text": "zzz", "count": 1, "example": "zzz"},
    ],
    "series": {
        "bucket_days": 1,
        "points": [
            {"start": "2025-03-01", "conversations": 1, "contained": 1, "handed_off": 0},
            {"start": "2025-03-02", "conversations": 2, "contained": 1, "handed_off": 1},
            {"start": "2025-03-03", "conversations": 2, "contained": 0, "handed_off": 2},
            {"start": "2025-03-04", "conversations": 2, "contained": 0, "handed_off": 1},
        ],
    },
}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = build_store(tmp_path_factory.mktemp("analytics") / "chat.db")
    yield store
    store.close()


def test_figures_match_the_hand_counts(store: Store) -> None:
    assert compute_analytics(store, SINCE, UNTIL) == EXPECTED


@pytest.mark.slow
def test_the_same_figures_on_postgresql(postgres_url: str) -> None:
    """The production database: the same queries, the same hand counts (its own database in
    the session's server, so other tests' conversations do not count)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("DROP DATABASE IF EXISTS launchml_analytics"))
        connection.execute(text("CREATE DATABASE launchml_analytics"))
    admin.dispose()
    url = make_url(postgres_url).set(database="launchml_analytics")
    store = build_store(url.render_as_string(hide_password=False))
    try:
        assert compute_analytics(store, SINCE, UNTIL) == EXPECTED
    finally:
        store.close()


def test_the_period_is_half_open_and_naive_times_are_utc(store: Store) -> None:
    day = compute_analytics(store, datetime(2025, 3, 3), datetime(2025, 3, 4))
    assert day["conversations"] == {"total": 2, "contained": 0, "handed_off": 2,
                                    "containment_rate": 0.0, "handoff_rate": 1.0}  # fmt: skip
    # c10 starts at 5 March 00:00 exactly: the next period has it
    after = compute_analytics(store, UNTIL, datetime(2025, 3, 7, tzinfo=UTC))
    assert after["conversations"]["total"] == 1
    assert after["top_intents"] == [{"intent": "order_status", "count": 1}]
    assert after["feedback"]["down"] == 1  # c3's answer was rated on 6 March


def test_an_empty_period_has_null_rates(store: Store) -> None:
    empty = compute_analytics(store, datetime(2024, 1, 1), datetime(2024, 1, 3))
    assert empty["conversations"]["containment_rate"] is None
    assert empty["turns"]["clarification_rate"] is None
    assert empty["feedback"]["helpful_rate"] is None
    assert [p["conversations"] for p in empty["series"]["points"]] == [0, 0]


def test_long_periods_are_bucketed_by_week_and_top_is_a_limit(store: Store) -> None:
    long = compute_analytics(store, datetime(2025, 1, 1), datetime(2025, 6, 1), top=1)
    assert long["series"]["bucket_days"] == 7
    starts = [p["start"] for p in long["series"]["points"]]
    assert starts[0] == "2025-01-01" and starts[-1] == "2025-05-28"
    assert sum(p["conversations"] for p in long["series"]["points"]) == 9  # all but c8
    assert long["top_intents"] == [{"intent": "order_status", "count": 3}]
    assert len(long["unanswered"]) == 1


def test_a_backwards_period_is_refused(store: Store) -> None:
    with pytest.raises(InvalidInputError, match="is not before until"):
        compute_analytics(store, UNTIL, SINCE)


def test_choose_period_defaults_and_errors() -> None:
    now = datetime(2025, 3, 10, 12, tzinfo=UTC)
    assert choose_period(None, None, None, now).since == datetime(2025, 2, 8, 12, tzinfo=UTC)
    assert choose_period(None, None, 7, now).since == datetime(2025, 3, 3, 12, tzinfo=UTC)
    period = choose_period("2025-03-01", "2025-03-02T06:00:00+02:00", None, now)
    assert period.until == datetime(2025, 3, 2, 4, tzinfo=UTC)
    with pytest.raises(InvalidInputError, match="since: 'yesterday' is not a date"):
        choose_period("yesterday", None, None, now)
    with pytest.raises(InvalidInputError, match="either days or since/until"):
        choose_period("2025-03-01", None, 3, now)


# --------------------------------------------------------------------------------------------
# HTTP.


class AgentRefused(LaunchMLError):
    http_status = 401
    code = "unauthorized"


def fake_require_agent(request: Request) -> str:
    """Stands in for the inbox's login: an agent is whoever sends ``X-Agent: name``."""
    agent = request.headers.get("x-agent")
    if not agent:
        raise AgentRefused("log in as an agent")
    return agent


@pytest.fixture(scope="module")
def client(store: Store) -> TestClient:
    app = FastAPI()
    app.state.assistant = SimpleNamespace(store=store, name="tiny")
    install_error_handlers(app)
    app.include_router(analytics_router(fake_require_agent))
    return TestClient(app)


AGENT = {"X-Agent": "sam"}


def test_json_route_returns_the_figures(client: TestClient) -> None:
    response = client.get(
        "/inbox/api/analytics", params={"since": "2025-03-01", "until": "2025-03-05"}, headers=AGENT
    )
    assert response.status_code == 200
    assert response.json() == EXPECTED


@pytest.mark.parametrize("path", ["/inbox/api/analytics", "/inbox/analytics"])
def test_routes_need_an_agent(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 401
    assert response.json() == {
        "error": {"code": "unauthorized", "message": "log in as an agent", "field": None}
    }


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"since": "soon"}, "since", "since: 'soon' is not a date; expected YYYY-MM-DD or "
         "YYYY-MM-DDTHH:MM:SSZ"),
        ({"since": "2025-03-05", "until": "2025-03-01"}, "since",
         "since: 2025-03-05 is not before until 2025-03-01"),
        ({"days": "0"}, "days", "days: Input should be greater than or equal to 1"),
    ],
)  # fmt: skip
def test_bad_periods_get_a_422_naming_the_parameter(
    client: TestClient, params: dict[str, str], field: str, message: str
) -> None:
    response = client.get("/inbox/api/analytics", params=params, headers=AGENT)
    assert response.status_code == 422
    assert response.json() == {"error": {"code": "invalid_input", "message": message,
                                         "field": field}}  # fmt: skip


def test_the_page_shows_the_figures_and_plots(client: TestClient) -> None:
    response = client.get(
        "/inbox/analytics", params={"from": "2025-03-01", "to": "2025-03-04"}, headers=AGENT
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "2025-03-01T00:00:00Z to 2025-03-05T00:00:00Z" in page  # "to" is inclusive
    assert '<div class="card" data-key="containment_rate"><div class="value">28.6%' in page
    assert '<div class="card" data-key="handoff_rate"><div class="value">57.1%' in page
    for section in ("series", "fallback", "intents", "faq", "feedback", "unanswered"):
        assert f'<section id="{section}">' in page
    assert page.count("<svg") == 1  # the daily series; bars are HTML
    assert page.count('<div class="bar" ') == 4 + 3 + 1
    assert "<td class=n>2</td><td>My blender  exploded</td>" in page
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert 'value="2025-03-01"' in page and 'value="2025-03-04"' in page


def test_the_page_escapes_stored_text(tmp_path: Path) -> None:
    from tests.assistant_fixture_db import Builder, Clock, at

    clock = Clock()
    store = Store(f"sqlite:///{tmp_path / 'x.db'}", clock=clock)
    Builder(store, clock).turn("x", at(2), "<img src=x onerror=alert(1)>", "handoff",
                               "out_of_scope")  # fmt: skip
    app = FastAPI()
    app.state.assistant = SimpleNamespace(store=store, name="<b>shop</b>")
    app.include_router(analytics_router(lambda: None))
    page = TestClient(app).get("/inbox/analytics?from=2025-03-01&to=2025-03-04").text
    store.close()
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<b>shop</b>" not in page
