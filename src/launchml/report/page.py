"""The report as one self-contained HTML page: inline CSS, plots as ``data:`` URIs, no network.

Every number shown with a ``data-metric`` attribute carries its full-precision value in
``data-value``, so tests (and scripts) can check the page against ``metrics.json``. A few lines
of inline JavaScript report a broken image on the console, which the browser test watches.
"""

from __future__ import annotations

import contextlib
import json
from html import escape
from typing import Any

import numpy as np
from sklearn.metrics import roc_curve

from launchml.explain.render import CSS as EXPLAIN_CSS
from launchml.profiling import busy_machine_note
from launchml.report import plots
from launchml.report.collect import ReportData, hardest_examples

CSS = """
:root { --fg:#111827; --muted:#6b7280; --line:#e5e7eb; --bg:#f9fafb; --accent:#2563eb; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
  margin: 0; background: var(--bg); }
main { max-width: 1180px; margin: 0 auto; padding: 0 24px 48px; }
header { background: #fff; border-bottom: 1px solid var(--line); padding: 16px 24px; }
header h1 { margin: 0; font-size: 22px; max-width: 1180px; margin: 0 auto; }
header p { margin: 4px auto 0; color: var(--muted); max-width: 1180px; }
nav { position: sticky; top: 0; background: #fff; border-bottom: 1px solid var(--line);
  padding: 8px 24px; z-index: 1; }
nav div { max-width: 1180px; margin: 0 auto; }
nav a { margin-right: 14px; color: var(--accent); text-decoration: none; font-size: 14px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px;
  padding: 16px 20px; margin-top: 20px; }
h2 { font-size: 18px; margin: 0 0 12px; }
h3 { font-size: 15px; margin: 16px 0 8px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 10px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; }
.card .v { font-size: 22px; font-weight: 600; }
.card .k { color: var(--muted); font-size: 13px; }
.row { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
figure { margin: 8px 0; }
figure img { max-width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: 13px; }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 10px; text-align: left;
  vertical-align: top; }
th { background: var(--bg); }
.scroll th { position: sticky; top: 0; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.scroll { max-height: 480px; overflow: auto; }
.note { background: #fff7ed; border-left: 3px solid #ea580c; padding: 6px 10px; margin: 6px 0; }
.thumbs { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 10px; }
.thumbs figure { border: 1px solid var(--line); border-radius: 6px; padding: 6px; margin: 0; }
.thumbs img { image-rendering: pixelated; width: 84px; }
pre { background: var(--bg); padding: 10px; overflow: auto; font-size: 12px; max-height: 420px; }
.text { max-width: 520px; }
"""

# A broken plot would otherwise fail silently: say so on the console (the browser test reads it).
CHECK_IMAGES = """
window.addEventListener("load", function () {
  document.querySelectorAll("img").forEach(function (img) {
    if (!img.complete || img.naturalWidth === 0) { console.error("broken image: " + img.alt); }
  });
});
"""

SUMMARY_METRICS = [
    ("accuracy", "accuracy"), ("macro_f1", "macro F1"), ("balanced_accuracy", "balanced acc."),
    ("weighted_f1", "weighted F1"), ("log_loss", "log loss"), ("roc_auc", "ROC-AUC"),
    ("ece", "ECE"), ("n", "examples"),
]  # fmt: skip


def fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return escape(str(value))


def metric_span(key: str, value: Any, digits: int = 4) -> str:
    raw = "" if value is None else json.dumps(value)
    return f'<span data-metric="{key}" data-value="{escape(raw)}">{fmt(value, digits)}</span>'


def figure(uri: str, name: str, caption: str) -> str:
    return (
        f'<figure class="plot" id="plot-{name}"><img alt="{escape(name)}" src="{uri}">'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )


def section(name: str, title: str, body: str) -> str:
    return f'<section id="{name}"><h2>{escape(title)}</h2>{body}</section>'


def render(data: ReportData) -> str:
    """The whole page for one run."""
    run = data.run
    parts = [
        ("summary", "Summary", _summary(data)),
        ("training", "Training", _training(data)),
        ("evaluation", "Evaluation", _evaluation(data)),
        ("calibration", "Calibration", _calibration(data)),
    ]
    if data.metrics.get("roc_auc_average") == "binary" and data.evaluation is not None:
        parts.append(("roc", "ROC curve", _roc(data)))
    parts.append(("examples", "Hardest examples", _examples(data)))
    if data.explanations:
        parts.append(("explanations", "Explanations", _explanations(data)))
    if data.filters is not None:
        parts.append(("filters", "First convolution layer", _filters(data)))
    parts.append(("inference", "Inference", _inference(data)))
    if data.exports:
        from launchml.report.export_section import export_section

        parts.append(("export", "Export", export_section(data.exports)))
    parts += [
        ("data", "Data", _data(data)),
        ("config", "Config", f"<pre>{escape(run.config.to_yaml())}</pre>"),
        ("environment", "Environment", _environment(data)),
    ]
    nav = "".join(f'<a href="#{name}">{escape(title)}</a>' for name, title, _ in parts)
    body = "".join(section(name, title, html) for name, title, html in parts)
    subtitle = (
        f"{escape(run.meta.get('model_type', '?'))} on {escape(run.kind)} · "
        f"{len(run.labels)} classes · created {escape(str(run.meta.get('created_at', '?')))} · "
        f"figures on the {escape(data.source)}"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>launchml report: {escape(run.path.name)}</title>"
        f"<style>{CSS}{EXPLAIN_CSS}</style></head>"
        f"<body><header><h1>Run {escape(run.path.name)}</h1><p>{subtitle}</p></header>"
        f"<nav><div>{nav}</div></nav><main>{body}</main><script>{CHECK_IMAGES}</script></body></html>\n"
    )


def _notes(lines: list[str]) -> str:
    return "".join(f'<div class="note">{escape(line)}</div>' for line in lines)


def _summary(data: ReportData) -> str:
    m = data.metrics
    cards = "".join(
        f'<div class="card"><div class="v">{metric_span(key, m.get(key))}</div>'
        f'<div class="k">{escape(label)}</div></div>'
        for key, label in SUMMARY_METRICS
    )
    return f'<div class="cards">{cards}</div>{_notes(data.notes)}'


def _training(data: ReportData) -> str:
    history = data.history
    if not history:
        return "<p>No history.csv in this run.</p>"
    columns = list(history[0])
    table = _table(columns, [[row.get(c) for c in columns] for row in history], numeric=True)
    if len(history) < 2:
        return (
            "<p>A single fit (no epochs), so there is no curve; its figures:</p>"
            f"<div class='scroll'>{table}</div>"
        )
    curves = figure(plots.training_curves(history), "training-curves", "per epoch")
    details = f"<details><summary>history.csv</summary><div class='scroll'>{table}</div></details>"
    return curves + details


def _table(header: list[str], rows: list[list[Any]], numeric: bool = False) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)

    def cell(v: Any) -> str:
        if numeric and isinstance(v, str):
            with contextlib.suppress(ValueError):
                v = float(v) if "." in v or "e" in v else int(v)
        cls = ' class="n"' if isinstance(v, int | float) else ""
        return f"<td{cls}>{fmt(v, 6 if isinstance(v, float) and abs(v) < 1e-2 else 4)}</td>"

    body = "".join("<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _evaluation(data: ReportData) -> str:
    m = data.metrics
    if not m:
        return "<p>No metrics.</p>"
    averages = [
        [
            avg,
            *(
                metric_span(f"{avg}_{k}", m.get(f"{avg}_{k}"))
                for k in ("precision", "recall", "f1")
            ),
        ]
        for avg in ("macro", "weighted", "micro")
    ]
    head = "<tr><th>average</th><th>precision</th><th>recall</th><th>F1</th></tr>"
    avg_table = "<table>" + head + "".join(
        "<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in averages
    ) + "</table>"  # fmt: skip
    html = avg_table
    if m.get("unseen_labels"):
        unseen = ", ".join(f"'{k}' ({v})" for k, v in m["unseen_labels"].items())
        html += _notes([f"labels the model never saw (counted as errors): {unseen}"])
    figures = ""
    if "confusion" in m:
        figures += figure(
            plots.confusion_heatmap(m["confusion"]), "confusion",
            "confusion matrix: rows are true labels, colour is the share of the row",
        )  # fmt: skip
    if m.get("per_class"):
        caption = "per-class F1, worst first"
        if len(m["per_class"]) > plots.MAX_BARS:
            caption += f" (the worst {plots.MAX_BARS} of {len(m['per_class'])})"
        figures += figure(plots.f1_bars(m["per_class"]), "per-class-f1", caption)
    html += f'<div class="row">{figures}</div>'
    if m.get("top_confusions"):
        rows = [
            [c["true"], c["predicted"], c["count"], f"{100 * c['share_of_true']:.1f}%"]
            for c in m["top_confusions"]
        ]
        html += "<h3>Most frequent confusions</h3>"
        html += _table(["true", "predicted as", "count", "share of true"], rows)
    per_class = sorted(m.get("per_class", {}).items(), key=lambda kv: (kv[1]["f1"], kv[0]))
    rows = [[k, v["support"], v["precision"], v["recall"], v["f1"]] for k, v in per_class]
    html += "<h3>Per class (worst F1 first)</h3><div class='scroll'>"
    html += _table(["class", "support", "precision", "recall", "F1"], rows) + "</div>"
    return html


def _calibration(data: ReportData) -> str:
    calibration = data.metrics.get("reliability")
    if not calibration:
        return "<p>No calibration figures in this run's metrics.</p>"
    caption = (
        "reliability diagram: top-label confidence against accuracy; ECE is the count-weighted "
        "mean gap"
    )
    return figure(plots.reliability_diagram(calibration), "reliability", caption) + (
        f"<p>ECE {metric_span('ece', calibration['ece'])}, "
        f"largest gap in a bin (MCE) {metric_span('mce', calibration['mce'])}.</p>"
    )


def _roc(data: ReportData) -> str:
    assert data.evaluation is not None
    labels = data.run.labels
    truth = np.array([label == labels[1] for label in data.evaluation.data.labels])
    fpr, tpr, _ = roc_curve(truth, data.evaluation.proba[:, 1])
    uri = plots.roc_plot(fpr, tpr, data.metrics["roc_auc"], labels[1])
    return figure(uri, "roc", f"ROC curve, '{labels[1]}' as the positive class")


def _examples(data: ReportData) -> str:
    if data.evaluation is None:
        return "<p>The run's data could not be re-loaded, so there are no examples to show.</p>"
    rows = hardest_examples(data.evaluation, data.run.labels)
    intro = (
        f"<p>The {len(rows)} examples that got the lowest probability for their true label "
        f"({len(data.evaluation.misclassified)} of {len(data.evaluation.data)} are misclassified)."
        "</p>"
    )

    def top(row: dict[str, Any]) -> str:
        return "<br>".join(f"{escape(label)} {p:.3f}" for label, p in row["top"])

    if data.evaluation.data.kind == "text":
        body = "".join(
            f"<tr><td>{escape(r['row'])}</td><td class='text'>{escape(r['input'][:400])}</td>"
            f"<td>{escape(r['true'])}</td><td class='n'>{r['p_true']:.3f}</td>"
            f"<td>{top(r)}</td></tr>"
            for r in rows
        )
        head = "<tr><th>row</th><th>text</th><th>true</th><th>p(true)</th><th>top 3</th></tr>"
        return intro + f"<table>{head}{body}</table>"
    cards = "".join(
        f'<figure><img alt="example-{r["index"]}" src="{plots.thumbnail(r["input"])}">'
        f"<figcaption>true <b>{escape(r['true'])}</b> (p {r['p_true']:.3f})<br>{top(r)}"
        f"<br>row {escape(r['row'])}</figcaption></figure>"
        for r in rows
    )
    return intro + f'<div class="thumbs">{cards}</div>'


def _explanations(data: ReportData) -> str:
    from launchml.explain.render import explanation_html

    first = data.explanations[0][0]
    colours = (
        "red for the predicted class, blue against it"
        if first.kind == "text" or first.method != "grad_cam"
        else "bright where the evidence for the predicted class lies"
    )
    intro = (
        f"<p>The {len(data.explanations)} misclassified examples that got the lowest probability "
        "for their true label, and why the model predicted what it did: "
        f"{escape(first.method_name)} ({colours}).</p>"
    )
    blocks = "".join(
        explanation_html(why, title=str(row["row"]), true=row["true"])
        for why, row in data.explanations
    )
    return intro + blocks


def _filters(data: ReportData) -> str:
    assert data.filters is not None
    out, channels, kh, kw = data.filters.shape
    caption = (
        f"{min(out, 64)} of {out} filters, {kh}x{kw} over {channels} channel(s), "
        "each scaled to its own range (dark: negative, light: positive)"
    )
    return figure(plots.filter_grid(data.filters), "filters", caption)


def _inference(data: ReportData) -> str:
    figures = data.evaluation.inference if data.evaluation is not None else None
    if not figures:
        return "<p>Not measured (no data to run the model on).</p>"
    f = figures
    rows = [
        ["samples/s at batch size 1",
         metric_span("single_samples_per_s", f["single_samples_per_s"], 1)],
        ["latency at batch size 1, median / p95 (ms)",
         f"{fmt(f['single_latency_ms_p50'], 2)} / {fmt(f['single_latency_ms_p95'], 2)}"],
        [f"samples/s at batch size {figures['batch_size']}",
         metric_span("batched_samples_per_s", figures["batched_samples_per_s"], 1)],
        ["model size on disk (MB)", fmt(figures["model_size_bytes"] / 1e6, 2)],
        ["peak memory of the process (MB)", fmt(figures["peak_rss_mb"], 1)],
        ["torch threads", fmt(figures["threads"])],
    ]  # fmt: skip
    rows.append(
        ["load average (1 min) / cores", f"{fmt(f['load_average_1m'], 2)} / {f['cpu_count']}"]
    )
    table = "<table>" + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows) + "</table>"
    busy = busy_machine_note(f)
    return (
        table
        + "<p>Measured on this machine while making this report (see Environment).</p>"
        + (_notes([busy]) if busy else "")
    )


def _data(data: ReportData) -> str:
    meta = data.run.meta
    sizes = meta.get("split_sizes", {})
    html = "<p>Split sizes: " + ", ".join(f"{k} {v}" for k, v in sizes.items()) + "</p>"
    if data.class_counts:
        labels = list(data.run.labels)
        uri = plots.class_balance(data.class_counts, labels)
        html += figure(uri, "class-balance", "examples per class in each split")
    report = data.data_report or {}
    warnings = list(report.get("problems", [])) + list(report.get("warnings", []))
    warnings += [f"when training: {note}" for note in meta.get("data_notes", [])]
    html += "<h3>Warnings from the validation report</h3>"
    html += _notes(warnings) if warnings else "<p>None.</p>"
    return html


def _environment(data: ReportData) -> str:
    meta = data.run.meta
    trained = {
        "python": meta.get("python"), "platform": meta.get("platform"),
        **{f"package {k}": v for k, v in meta.get("packages", {}).items()},
        **{f"timing {k}": v for k, v in meta.get("timings", {}).items()},
    }  # fmt: skip
    env = data.environment
    now = {
        "python": env["python"], "platform": env["platform"], "cpu": env["cpu"],
        "cpu count": env["cpu_count"], "torch threads": env["torch_threads"],
        **{f"package {k}": v for k, v in env["packages"].items()},
    }  # fmt: skip
    return (
        "<div class='row'><div><h3>Training (meta.json)</h3>"
        + _table(["", ""], [[k, v] for k, v in trained.items()])
        + "</div><div><h3>This report (inference figures)</h3>"
        + _table(["", ""], [[k, v] for k, v in now.items()])
        + "</div></div>"
    )
