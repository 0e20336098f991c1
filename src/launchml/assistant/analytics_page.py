"""The analytics page: figures as cards, inline SVG plots and a table; no script, no CDN.

Server-side rendering keeps the page working offline and printable; every plot is an ``<svg>``
with a ``viewBox`` (it scales to any width, phone included) and its numbers as text, and every
figure shown comes from :func:`launchml.assistant.analytics.compute_analytics`.
"""

from __future__ import annotations

from datetime import date, timedelta
from html import escape
from typing import Any
from urllib.parse import urlencode

GREEN, ORANGE, GREY, BLUE, RED = "#16a34a", "#ea580c", "#9ca3af", "#2563eb", "#dc2626"
PRESETS = (7, 30, 90)

STYLE = """
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
  color:#111827;background:#f3f4f6}
header{background:#111827;color:#fff;padding:12px 24px;display:flex;gap:16px;
  align-items:center;flex-wrap:wrap}
header h1{font-size:18px;margin:0;font-weight:600}
header a{color:#d1d5db;text-decoration:none;font-size:14px}
header a:hover{color:#fff}
main{max-width:1180px;margin:0 auto;padding:16px 24px 40px}
form.period{display:flex;flex-wrap:wrap;gap:8px;align-items:center;background:#fff;
  padding:10px 14px;border-radius:10px;box-shadow:0 1px 2px #0001}
form.period a{padding:4px 10px;border-radius:999px;border:1px solid #d1d5db;color:#111827;
  text-decoration:none;font-size:14px}
form.period a.on{background:#111827;color:#fff;border-color:#111827}
form.period label{font-size:14px;color:#4b5563}
form.period input{font:inherit;padding:3px 6px;border:1px solid #d1d5db;border-radius:6px}
form.period button{font:inherit;padding:4px 12px;border-radius:6px;border:0;background:#2563eb;
  color:#fff;cursor:pointer}
.span{color:#6b7280;font-size:13px;margin-left:auto}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:12px;
  margin:16px 0}
.card{background:#fff;border-radius:10px;padding:12px 14px;box-shadow:0 1px 2px #0001}
.card .value{font-size:28px;font-weight:650}
.card .label{color:#4b5563;font-size:13px}
.card .detail{color:#6b7280;font-size:12px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:12px}
.grid.wide{grid-template-columns:2fr 1fr}
@media (max-width:800px){.grid.wide{grid-template-columns:1fr}}
section{background:#fff;border-radius:10px;padding:12px 16px;box-shadow:0 1px 2px #0001;
  margin-bottom:12px;min-width:0}
section h2{font-size:15px;margin:0 0 8px}
svg{width:100%;height:auto;display:block}
.chart{overflow-x:auto}.chart svg{min-width:560px}
svg text{font:12px system-ui,sans-serif;fill:#374151}
.legend{font-size:12px;color:#4b5563;display:flex;gap:14px;flex-wrap:wrap}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px}
table{width:100%;border-collapse:collapse;font-size:14px}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e5e7eb;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums;width:4em}
.empty{color:#6b7280;font-size:14px;margin:4px 0}
.bar{margin:0 0 8px}.bar .what{font-size:13px;color:#374151;overflow:hidden;
  text-overflow:ellipsis;white-space:nowrap}
.track{display:flex;align-items:center;gap:6px}
.track span{display:block;height:12px;border-radius:2px;min-width:2px}
.track b{font-size:12px;font-weight:600;color:#374151}
.split{display:flex;height:20px;border-radius:4px;overflow:hidden;margin:4px 0 6px}
@media (max-width:600px){main{padding:10px}.card .value{font-size:22px}
  .span{margin-left:0;width:100%}}
"""


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}" if value in (0, 1) else f"{value:.1%}"


def render_page(figures: dict[str, Any], name: str, days: int | None) -> str:
    """The whole page for one period's figures; ``days`` marks the active preset."""
    since, until = figures["period"]["since"], figures["period"]["until"]
    body = "".join(
        [
            _chooser(since, until, days),
            _cards(figures),
            _section("Conversations per day" if figures["series"]["bucket_days"] == 1
                     else "Conversations per week", _series(figures["series"]), "series"),
            '<div class="grid">',
            _section("Why the assistant did not answer", _bars(
                [(r["reason"].replace("_", " "), r["count"]) for r in figures["fallback_reasons"]],
                ORANGE), "fallback"),
            _section("Top intents answered", _bars(
                [(r["intent"], r["count"]) for r in figures["top_intents"]], BLUE), "intents"),
            _section("Top FAQ answers", _bars(
                [(r["question"], r["count"]) for r in figures["top_faq"]], BLUE), "faq"),
            "</div>",
            '<div class="grid wide">',
            _section("Most frequent unanswered questions", _unanswered(figures["unanswered"]),
                     "unanswered"),
            _section("Answer feedback", _feedback(figures["feedback"]), "feedback"),
            "</div>",
        ]
    )  # fmt: skip
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>Analytics · {escape(name)}</title><style>{STYLE}</style></head><body>"
        f'<header><h1>{escape(name)} · analytics</h1><a href="/inbox">Inbox</a>'
        f'<a href="{escape(_json_link(since, until))}">JSON</a></header>'
        f"<main>{body}</main></body></html>"
    )


def _json_link(since: str, until: str) -> str:
    return "/inbox/api/analytics?" + urlencode({"since": since, "until": until})


def _chooser(since: str, until: str, days: int | None) -> str:
    first = since[:10]
    last = (date.fromisoformat(until[:10]) - timedelta(days=1)).isoformat()
    if until[10:] not in ("", "T00:00:00Z"):  # an end inside a day: that day is included
        last = until[:10]
    presets = "".join(
        f'<a href="?days={n}"{" class=on" if days == n else ""}>Last {n} days</a>' for n in PRESETS
    )
    return (
        f'<form class="period" method="get" action="/inbox/analytics">{presets}'
        f'<label>From <input type="date" name="from" value="{first}" required></label>'
        f'<label>to <input type="date" name="to" value="{last}" required></label>'
        '<button type="submit">Show</button>'
        f'<span class="span">{escape(since)} to {escape(until)} (UTC, end excluded)</span></form>'
    )


def _card(value: str, label: str, detail: str, key: str) -> str:
    return (
        f'<div class="card" data-key="{key}"><div class="value">{escape(value)}</div>'
        f'<div class="label">{escape(label)}</div><div class="detail">{escape(detail)}</div></div>'
    )


def _cards(f: dict[str, Any]) -> str:
    c, t, fb = f["conversations"], f["turns"], f["feedback"]
    cards = [
        _card(str(c["total"]), "conversations", "started in the period", "conversations"),
        _card(pct(c["containment_rate"]), "containment",
              f"{c['contained']} closed without a person", "containment_rate"),
        _card(pct(c["handoff_rate"]), "handed off",
              f"{c['handed_off']} conversations", "handoff_rate"),
        _card(pct(t["clarification_rate"]), "clarifications",
              f"{t['clarified']} of {t['total']} bot turns", "clarification_rate"),
        _card(pct(fb["helpful_rate"]), "helpful answers",
              f"{fb['up']} up, {fb['down']} down", "helpful_rate"),
    ]  # fmt: skip
    return f'<div class="cards">{"".join(cards)}</div>'


def _section(title: str, body: str, key: str) -> str:
    return f'<section id="{key}"><h2>{escape(title)}</h2>{body}</section>'


def _empty(what: str = "nothing in this period") -> str:
    return f'<p class="empty">{escape(what)}</p>'


def _nice_max(value: int) -> int:
    """A round axis maximum at or above ``value`` (1, 2, 5, 10, 20, 50, ...)."""
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step >= value:
                return m * step
        step *= 10


def _series(series: dict[str, Any]) -> str:
    """Stacked columns per bucket: contained, handed off, and other (an agent joined)."""
    points = series["points"]
    if not any(p["conversations"] for p in points):
        return _empty("no conversations in this period")
    width, height, left, bottom, top = 900, 200, 36, 28, 10
    top_value = _nice_max(max(p["conversations"] for p in points))
    plot_h = height - bottom - top
    slot = (width - left) / len(points)
    bar = max(2.0, min(40.0, slot * 0.7))
    parts = [
        f'<div class="chart"><svg viewBox="0 0 {width} {height}" role="img" '
        'aria-label="conversations">'
    ]
    ticks = min(top_value, 5)  # whole numbers only: these are counts
    for i in range(ticks + 1):  # grid lines and axis labels
        y = top + plot_h - plot_h * i / ticks
        label = round(top_value * i / ticks)
        parts.append(f'<line x1="{left}" x2="{width}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e7eb"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{label}</text>')
    every = max(1, round(len(points) / 10))  # at most ~10 date labels
    for i, p in enumerate(points):
        x = left + slot * i + (slot - bar) / 2
        other = p["conversations"] - p["contained"] - p["handed_off"]
        y = top + plot_h
        for value, color, what in (
            (p["contained"], GREEN, "contained"),
            (p["handed_off"], ORANGE, "handed off"),
            (other, GREY, "agent joined"),
        ):
            h = plot_h * value / top_value
            if value:
                y -= h
                parts.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                    f'fill="{color}"><title>{p["start"]}: {value} {what}</title></rect>'
                )
        if i % every == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{height - 8}" text-anchor="middle">'
                f"{p['start'][5:]}</text>"
            )
    parts.append("</svg></div>")
    legend = (
        '<div class="legend">'
        f'<span><i style="background:{GREEN}"></i>contained</span>'
        f'<span><i style="background:{ORANGE}"></i>handed off</span>'
        f'<span><i style="background:{GREY}"></i>agent joined without handoff</span></div>'
    )
    return "".join(parts) + legend


def _bars(items: list[tuple[str, int]], color: str) -> str:
    """Horizontal bars, one per item (HTML: the labels stay legible at any width)."""
    if not items:
        return _empty()
    top_value = max(n for _, n in items)
    rows = "".join(
        f'<div class="bar" title="{escape(label)}: {n}"><div class="what">{escape(label)}</div>'
        f'<div class="track"><span style="width:{100 * n / top_value:.1f}%;background:{color}">'
        f"</span><b>{n}</b></div></div>"
        for label, n in items
    )
    return f'<div class="bars">{rows}</div>'


def _feedback(feedback: dict[str, Any]) -> str:
    up, down = feedback["up"], feedback["down"]
    if not up + down:
        return _empty("no ratings in this period")
    share = 100 * up / (up + down)
    bar = (
        f'<div class="split" role="img" aria-label="{up} up, {down} down">'
        f'<span style="width:{share:.1f}%;background:{GREEN}"></span>'
        f'<span style="width:{100 - share:.1f}%;background:{RED}"></span></div>'
        f'<div class="legend"><span><i style="background:{GREEN}"></i>{up} helpful</span>'
        f'<span><i style="background:{RED}"></i>{down} not helpful</span></div>'
    )
    rows = "".join(
        f"<tr><td>{escape(kind)}</td><td class=n>{c['up']}</td><td class=n>{c['down']}</td></tr>"
        for kind, c in feedback["by_kind"].items()
    )
    table = f"<table><tr><th>rated</th><th>up</th><th>down</th></tr>{rows}</table>"
    return bar + table


def _unanswered(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return _empty("every question was understood in this period")
    body = "".join(
        f"<tr><td class=n>{r['count']}</td><td>{escape(r['example'])}</td></tr>" for r in rows
    )
    return (
        "<table><tr><th>times</th><th>question (latest wording, personal data redacted)</th>"
        f"</tr>{body}</table>"
    )


__all__ = ["render_page"]
