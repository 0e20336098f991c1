"""The report's "Export" section: the bundles exported from the run (``RUN/exports.json``),
each with what the accuracy guard measured (accuracy, agreement, size, latency)."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any


def export_section(exports: list[dict[str, Any]]) -> str:
    """One table row per export, newest last; a bundle moved or removed since is marked."""
    head = (
        "<tr><th>bundle</th><th>quantised</th><th>checked on</th><th>accuracy torch</th>"
        "<th>accuracy bundle</th><th>same predictions</th><th>size torch → bundle</th>"
        "<th>latency p50 torch → bundle</th></tr>"
    )
    rows = []
    for record in exports:
        figures = record.get("figures", {})
        accuracy = figures.get("accuracy", {})
        int8 = "onnx_int8" in accuracy
        after = accuracy.get("onnx_int8", accuracy.get("onnx_fp32"))
        same = (figures.get("int8") or figures.get("fp32") or {}).get("same_predictions")
        size = figures.get("size_bytes", {})
        latency = figures.get("latency_ms", {})
        path = str(record.get("bundle", "?"))
        gone = "" if Path(path).is_dir() else " <em>(no longer there)</em>"
        data = figures.get("data", {})
        cells = [
            f"<code>{escape(path)}</code>{gone}",
            "int8" if int8 else "fp32",
            f"{escape(str(data.get('source', '?')))} ({data.get('n', '?')})",
            _number(accuracy.get("torch")),
            _number(after),
            "–" if same is None else f"{same:.2%}",
            f"{_mb(size.get('run_model'))} → {_mb(size.get('bundle'))}",
            f"{_ms(latency.get('torch'))} → {_ms(latency.get('bundle'))}",
        ]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    notes = sorted({n for r in exports for n in r.get("figures", {}).get("notes", [])})
    extra = "".join(f'<div class="note">{escape(n)}</div>' for n in notes)
    intro = (
        "<p>Bundles made by <code>launchml export</code>: they predict without torch "
        "(<code>launchml.runtime.load_bundle</code>). Latency is one example at a time, measured "
        "during the export on the machine as it was then.</p>"
    )
    return f"{intro}<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>{extra}"


def _number(value: Any) -> str:
    return "–" if value is None else f'<span data-metric="export_accuracy">{value:.4f}</span>'


def _mb(value: Any) -> str:
    return "–" if value is None else f"{value / 1e6:.1f} MB"


def _ms(value: Any) -> str:
    p50 = (value or {}).get("p50")
    return "–" if p50 is None else f"{p50:.1f} ms"


__all__ = ["export_section"]
