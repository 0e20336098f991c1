"""Explanations for people: lines for a terminal, and HTML (highlighted words, heat maps).

The HTML pieces (:func:`explanation_html`, :data:`CSS`) are shared by ``launchml explain --html``
(:func:`explanations_page`) and the run report's "Explanations" section. Words are shaded by
their attribution, red for the explained class and blue against it, scaled to the largest
attribution of the same text; hovering shows the number. Images are PNG data URIs.
"""

from __future__ import annotations

import base64
from html import escape

from launchml.explain.result import Explanation

CSS = """
.why { border: 1px solid #e5e7eb; border-radius: 6px; padding: 10px 14px; margin: 10px 0; }
.why h3 { margin: 0 0 6px; font-size: 15px; }
.why .meta { color: #6b7280; font-size: 13px; margin: 4px 0; }
.why .words { font-size: 16px; line-height: 2; }
.why .words span { padding: 2px 1px; border-radius: 3px; }
.why .bad { color: #b91c1c; }
.why figure { display: inline-block; margin: 4px 12px 4px 0; }
.why figure img { image-rendering: pixelated; width: 224px; }
.why figcaption { color: #6b7280; font-size: 12px; }
.why table { border-collapse: collapse; font-size: 13px; }
.why td, .why th { border-bottom: 1px solid #e5e7eb; padding: 2px 8px; text-align: left; }
.why td.n { text-align: right; font-variant-numeric: tabular-nums; }
"""


# --------------------------------------------------------------------------------------------
# Terminal.


def format_explanation(explanation: Explanation, top: int = 8) -> str:
    """A few lines: the answer, the method and its check, then the tokens (or the hot region)."""
    e = explanation
    lines = [
        f"input: {e.input}",
        f"predicted {e.predicted}; explaining {e.target} (p {e.probability:.3f}) by "
        f"{e.method_name}",
    ]
    check = e.completeness
    if check is not None:
        verdict = "ok" if check.converged else "NOT within tolerance"
        steps = f" in {check.steps} steps" if check.steps else ""
        lines.append(
            f"completeness: attributions sum to {check.attribution_sum:+.4f}, the score changed "
            f"by {check.expected:+.4f} from the baseline ({e.baseline}){steps}; "
            f"delta {check.delta:+.2g}, tolerance {check.tolerance:.2g}: {verdict}"
        )
    if e.kind == "text":
        widest = max((abs(t.attribution) for t in e.tokens), default=0.0) or 1.0
        shown = sorted(e.tokens, key=lambda t: -abs(t.attribution))[:top]
        for t in sorted(shown, key=lambda t: (t.start is None, t.start or 0)):
            bar = ("+" if t.attribution >= 0 else "-") * max(
                1, round(10 * abs(t.attribution) / widest)
            )
            lines.append(f"  {t.token[:24]:<24} {t.attribution:+.4f}  {bar}")
        if len(e.tokens) > top:
            lines.append(f"  ({top} of {len(e.tokens)} tokens, the largest in size, in text order)")
    elif e.heatmap is not None:
        from launchml.explain.images import peak_region

        r0, c0, r1, c1 = peak_region(e.heatmap if e.method == "grad_cam" else abs(e.heatmap))
        height, width = e.heatmap.shape
        lines.append(
            f"strongest region: rows {r0}-{r1}, columns {c0}-{c1} (of {height}x{width}); "
            "--html draws the heat map"
        )
    for note in e.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# HTML.


def _shade(value: float, widest: float) -> str:
    strength = min(1.0, abs(value) / widest) if widest > 0 else 0.0
    rgb = "220,38,38" if value >= 0 else "37,99,235"
    return f"background: rgba({rgb},{0.75 * strength:.3f})"


def highlighted_text(explanation: Explanation) -> str:
    """The text with each token shaded by its attribution (text between tokens kept as is)."""
    text, tokens = explanation.input, explanation.tokens
    widest = max((abs(t.attribution) for t in tokens), default=0.0)
    if any(t.start is None or t.end is None for t in tokens):  # no offsets: the tokens alone
        return " ".join(
            f'<span style="{_shade(t.attribution, widest)}" title="{t.attribution:+.4f}">'
            f"{escape(t.token)}</span>"
            for t in tokens
        )
    parts, at = [], 0
    for t in sorted(tokens, key=lambda t: t.start or 0):
        start, end = int(t.start or 0), int(t.end or 0)
        if start < at:  # overlapping tokens (never from our tokenizers): skip the overlap
            continue
        parts.append(escape(text[at:start]))
        parts.append(
            f'<span style="{_shade(t.attribution, widest)}" title="{escape(t.token)} '
            f'{t.attribution:+.4f}">{escape(text[start:end])}</span>'
        )
        at = end
    parts.append(escape(text[at:]))
    return "".join(parts)


def png_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def explanation_html(
    explanation: Explanation, title: str | None = None, true: str | None = None
) -> str:
    """One explanation as a ``<div class="why">`` block."""
    e = explanation
    wrong = true is not None and true != e.predicted
    head = escape(title or e.input[:120])
    answer = f'predicted <b class="{"bad" if wrong else ""}">{escape(e.predicted)}</b>'
    if true is not None:
        answer += f", true <b>{escape(true)}</b>"
    meta = (
        f"{answer}; explaining <b>{escape(e.target)}</b> (p {e.probability:.3f}) by "
        f"{escape(e.method_name)}"
    )
    check = ""
    if e.completeness is not None:
        c = e.completeness
        check = (
            f'<div class="meta">attributions sum to {c.attribution_sum:+.4f}; the score changed '
            f"by {c.expected:+.4f} from the baseline ({escape(e.baseline or '')}); delta "
            f"{c.delta:+.2g} (tolerance {c.tolerance:.2g}{f', {c.steps} steps' if c.steps else ''})"
            f"{'' if c.converged else ' — not within tolerance'}</div>"
        )
    if e.kind == "text":
        body = f'<div class="words">{highlighted_text(e)}</div>'
        if e.features:
            rows = "".join(
                f"<tr><td>{escape(f['analyzer'])}</td><td>{escape(repr(f['feature']))}</td>"
                f"<td class='n'>{f['tfidf']:.3f}</td><td class='n'>{f['coefficient']:+.3f}</td>"
                f"<td class='n'>{f['contribution']:+.4f}</td></tr>"
                for f in e.features
            )
            body += (
                "<details><summary>largest feature contributions</summary><table><tr><th>"
                "n-gram of</th><th>feature</th><th>tf-idf</th><th>coefficient</th><th>"
                f"contribution</th></tr>{rows}</table></details>"
            )
    else:
        from launchml.explain.images import image_png, overlay_png

        assert e.image is not None and e.heatmap is not None
        signed = e.method != "grad_cam"
        original = png_uri(image_png(e.image))
        overlaid = png_uri(overlay_png(e.image, e.heatmap, signed))
        body = (
            f'<figure><img alt="input" src="{original}"><figcaption>input</figcaption></figure>'
            f'<figure><img alt="heat map" src="{overlaid}">'
            f"<figcaption>{escape(e.method_name)}{' (red: for, blue: against)' if signed else ''}"
            "</figcaption></figure>"
        )
    notes = "".join(f'<div class="meta">note: {escape(n)}</div>' for n in e.notes)
    return (
        f'<div class="why"><h3>{head}</h3><div class="meta">{meta}</div>{check}{body}{notes}</div>'
    )


def explanations_page(explanations: list[Explanation], title: str) -> str:
    """A whole offline HTML page of explanations (``launchml explain --html``)."""
    blocks = "".join(explanation_html(e) for e in explanations)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>body {{ font: 15px/1.5 system-ui, sans-serif; "
        f"max-width: 980px; margin: 24px auto; padding: 0 16px; color: #111827; }}{CSS}</style>"
        f"</head><body><h1>{escape(title)}</h1>{blocks}</body></html>\n"
    )


__all__ = ["CSS", "explanation_html", "explanations_page", "format_explanation", "highlighted_text"]
