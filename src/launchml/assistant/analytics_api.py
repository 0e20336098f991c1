"""The analytics over HTTP: ``GET /inbox/analytics`` (a page with plots) and its JSON twin.

Both routes sit behind the dependency the caller passes in (the inbox's agent login), and read
the conversation store of ``app.state.assistant``::

    app.include_router(analytics_router(require_agent))

    GET /inbox/api/analytics?since=2025-03-01&until=2025-04-01   -> the figures as JSON
    GET /inbox/api/analytics?days=7                               -> the last 7 days
    GET /inbox/analytics?from=2025-03-01&to=2025-03-31            -> the page (``to`` inclusive)

The JSON period is half-open, ``[since, until)``; ``since``/``until`` are ISO dates (midnight
UTC) or date-times (UTC unless they carry an offset). Without a period: the last 30 days. The
figures and their exact definitions: :mod:`launchml.assistant.analytics`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from launchml.assistant.analytics import (
    DEFAULT_TOP,
    Period,
    PeriodError,
    as_utc,
    compute_analytics,
    parse_moment,
)

DEFAULT_DAYS = 30
MAX_DAYS = 3660  # ten years; longer periods are almost certainly a typo


QueryError = PeriodError


def choose_period(
    since: str | None, until: str | None, days: int | None, now: datetime | None = None
) -> Period:
    """The period a request asks for: ``since``/``until`` (either may be left out), or the
    last ``days`` days, or the last 30 days."""
    now = as_utc(now or datetime.now(UTC))
    if days is not None and (since is not None or until is not None):
        raise QueryError("days: give either days or since/until, not both", "days")
    end = parse_moment(until, "until") if until else now
    if since:
        start = parse_moment(since, "since")
    else:
        start = end - timedelta(days=days if days is not None else DEFAULT_DAYS)
    if start >= end:
        raise QueryError(f"since: {since} is not before until {until or 'now'}", "since")
    if end - start > timedelta(days=MAX_DAYS):
        raise QueryError(f"since: the period is longer than {MAX_DAYS} days", "since")
    return Period.of(start, end)


def _store(request: Request) -> Any:
    return request.app.state.assistant.store


Days = Annotated[int | None, Query(ge=1, le=MAX_DAYS, description="the last N days")]
Top = Annotated[int, Query(ge=1, le=100, description="rows in each top list")]


def analytics_router(require_agent: Callable[..., Any]) -> APIRouter:
    """The analytics routes, each behind ``require_agent`` (a FastAPI dependency that raises
    when the request is not an agent's: its error is the answer, e.g. 401)."""
    routes = APIRouter(tags=["analytics"], dependencies=[Depends(require_agent)])

    @routes.get("/inbox/api/analytics")
    async def analytics_json(
        request: Request,
        since: Annotated[str | None, Query(description="start, inclusive (ISO date/time)")] = None,
        until: Annotated[str | None, Query(description="end, exclusive (ISO date/time)")] = None,
        days: Days = None,
        top: Top = DEFAULT_TOP,
    ) -> dict[str, Any]:
        """The figures of :mod:`launchml.assistant.analytics` over the chosen period."""
        period = choose_period(since, until, days)
        store = _store(request)
        return await asyncio.to_thread(compute_analytics, store, period.since, period.until, top)

    @routes.get("/inbox/analytics", response_class=HTMLResponse)
    async def analytics_page(
        request: Request,
        from_: Annotated[
            str | None, Query(alias="from", description="first day (YYYY-MM-DD)")
        ] = None,
        to: Annotated[str | None, Query(description="last day, inclusive (YYYY-MM-DD)")] = None,
        days: Days = None,
        top: Top = DEFAULT_TOP,
    ) -> HTMLResponse:
        """The figures as a page: cards, plots and the unanswered questions."""
        from launchml.assistant.analytics_page import render_page

        until = None
        if to:
            until = (parse_moment(to, "to") + timedelta(days=1)).date().isoformat()
        if days is None and from_ is None and to is None:
            days = DEFAULT_DAYS
        period = choose_period(from_, until, days)
        store = _store(request)
        figures = await asyncio.to_thread(compute_analytics, store, period.since, period.until, top)
        name = getattr(request.app.state.assistant, "name", "assistant")
        return HTMLResponse(render_page(figures, name, days))

    return routes


__all__ = ["analytics_router", "choose_period", "parse_moment"]
