"""The assistant run's ``report.html``: its evaluation on one offline page (the run report's
look and helpers). Every figure carries ``data-metric``/``data-value`` as in the run report."""

from __future__ import annotations

from html import escape
from typing import Any

from launchml.assistant.project import Project
from launchml.report import plots
from launchml.report.page import CHECK_IMAGES, CSS, _table, figure, metric_span, section
from launchml.runs import Run


def _card(key: str, value: Any, label: str) -> str:
    return (
        f'<div class="card"><div class="v">{metric_span(key, value)}</div>'
        f'<div class="k">{escape(label)}</div></div>'
    )


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def render_report(project: Project, evaluation: dict[str, Any], run: Run) -> str:
    e = evaluation
    oos, sim = e["out_of_scope"], e["out_of_scope"]["simulated"] or {}
    cards = "".join(
        [
            _card("intent_accuracy", e["intent"]["accuracy"], f"intent accuracy ({e['split']})"),
            _card("ece_after", e["calibration"]["ece_after"], "ECE after scaling"),
            _card("oos_auroc", sim.get("auroc"), "OOS AUROC (simulated)"),
            _card("unknown_handed_off", sim.get("unknown_handed_off"), "unknown handed off"),
            _card("in_scope_handed_off", oos["in_scope_handed_off"], "in-scope handed off"),
            _card("containment", e["containment"]["contained"], "expected containment"),
            _card("faq_recall_at_1", (e["faq"] or {}).get("recall_at_1"), "FAQ recall@1"),
        ]
    )
    parts = [
        ("summary", "Summary", f'<div class="cards">{cards}</div>' + _split_note(e)),
        ("intents", "Intents", _intents(e)),
        ("calibration", "Calibration", _calibration(e)),
        ("out-of-scope", "Out of scope", _oos(e)),
        ("faq", "FAQ retrieval", _faq(e)),
        ("containment", "Expected containment", _containment(e)),
        ("project", "Project", f"<pre>{escape(project.to_yaml())}</pre>"),
    ]
    nav = "".join(f'<a href="#{name}">{escape(title)}</a>' for name, title, _ in parts)
    body = "".join(section(name, title, html) for name, title, html in parts)
    subtitle = (
        f"intent classifier {escape(run.config.model.type)} · encoder {escape(project.encoder)} · "
        f"{len(run.labels)} intents · languages {escape(', '.join(project.languages))}"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>launchml assistant: {escape(project.name)}</title><style>{CSS}</style></head>"
        f"<body><header><h1>Assistant {escape(project.name)}</h1><p>{subtitle}</p></header>"
        f"<nav><div>{nav}</div></nav><main>{body}</main><script>{CHECK_IMAGES}</script>"
        "</body></html>\n"
    )


def _split_note(e: dict[str, Any]) -> str:
    if e["split"] == "test":
        return f"<p>Figures on {e['n']} held-out test messages (data.intents_test).</p>"
    return (
        f'<div class="note">Figures on the {e["n"]} validation messages, which also set the '
        "temperature and the thresholds: optimistic. Give data.intents_test for honest ones.</div>"
    )


def _intents(e: dict[str, Any]) -> str:
    intent = e["intent"]
    rows = [[code, v["n"], v["accuracy"]] for code, v in intent["per_language"].items()]
    html = f"<p>accuracy {metric_span('accuracy', intent['accuracy'])}, macro-F1 "
    html += f"{metric_span('macro_f1', intent['macro_f1'])}</p>"
    html += "<h3>Per language</h3>" + _table(["language", "messages", "accuracy"], rows)
    confusions = [
        [c["true"], c["predicted"], c["count"], f"{100 * c['share_of_true']:.1f}%"]
        for c in intent["top_confusions"]
    ]
    if confusions:
        html += "<h3>Worst confusions</h3>"
        html += _table(["true intent", "taken for", "count", "share of true"], confusions)
    return html


def _calibration(e: dict[str, Any]) -> str:
    c = e["calibration"]
    html = (
        f"<p>Temperature {metric_span('temperature', c['temperature'])} fitted on the validation "
        f"messages. ECE before {metric_span('ece_before', c['ece_before'])}, after "
        f"{metric_span('ece_after', c['ece_after'])} (validation: "
        f"{metric_span('ece_val_before', c['ece_val_before'])} -> "
        f"{metric_span('ece_val_after', c['ece_val_after'])}).</p>"
    )
    figures = figure(
        plots.reliability_diagram(c["reliability_before"]), "reliability-before", "before scaling"
    ) + figure(
        plots.reliability_diagram(c["reliability_after"]), "reliability-after", "after scaling"
    )
    return html + f'<div class="row">{figures}</div>'


def _oos(e: dict[str, Any]) -> str:
    oos = e["out_of_scope"]
    weights = ", ".join(f"{k} {v:.2f}" for k, v in oos["weights"].items())
    html = (
        f"<p>Score: <b>{escape(oos['score'])}</b> (weights {escape(weights)}). Threshold chosen so "
        f"that at most {_pct(oos['target_in_scope_handoff'])} of in-scope validation messages are "
        f"handed off; on the {e['split']} messages "
        f"{metric_span('in_scope_handed_off', oos['in_scope_handed_off'])} were.</p>"
    )
    rows = [[code, t["threshold"], t["n"], "own" if t["own"] else "all languages'"]
            for code, t in oos["thresholds"].items() if code != "*"]  # fmt: skip
    html += "<h3>Thresholds per language</h3>"
    html += _table(["language", "threshold", "validation messages", "threshold from"], rows)
    sim = oos["simulated"]
    if sim:
        prob_caught = sim["probability_unknown_handed_off"]
        html += (
            "<h3>Simulated unknown intents</h3><p>Intents hidden from a stand-in classifier; their "
            f"validation messages play the unknown ones. Combined score: AUROC "
            f"{metric_span('sim_auroc', sim['auroc'])}, unknown handed off "
            f"{metric_span('sim_unknown_handed_off', sim['unknown_handed_off'])}; top probability "
            f"alone: AUROC {metric_span('sim_probability_auroc', sim['probability_auroc'])}, "
            "unknown handed off "
            f"{metric_span('sim_probability_unknown_handed_off', prob_caught)}.</p>"
        )
        rows = [
            [", ".join(r["hidden"]), r["n_in"], r["n_out"], r["auroc"], r["unknown_handed_off"],
             r["probability_auroc"], r["probability_unknown_handed_off"]]
            for r in sim["rounds"]
        ]  # fmt: skip
        html += _table(
            [
                "hidden intents",
                "in",
                "unknown",
                "AUROC",
                "caught",
                "AUROC (prob.)",
                "caught (prob.)",
            ],
            rows,
        )
    own = oos["own_examples"]
    if own:
        html += (
            f"<h3>The project's own out-of-scope messages</h3><p>{own['n']} messages: AUROC "
            f"{metric_span('own_auroc', own['auroc'])} against the {e['split']} messages, handed "
            f"off {metric_span('own_handed_off', own['handed_off'])}.</p>"
        )
    return html


def _faq(e: dict[str, Any]) -> str:
    faq = e["faq"]
    if not faq:
        return "<p>Not measured: give data.faq_test (text, question) to measure the FAQ search.</p>"
    return (
        f"<p>{faq['n']} queries: recall@1 {metric_span('faq_recall_at_1', faq['recall_at_1'])}, "
        f"recall@3 {metric_span('faq_recall_at_3', faq['recall_at_3'])}, MRR "
        f"{metric_span('faq_mrr', faq['mrr'])}.</p>"
    )


def _containment(e: dict[str, Any]) -> str:
    c = e["containment"]
    rows = [[kind, share] for kind, share in c["kinds"].items()]
    return (
        f"<p>Each {e['split']} message as a conversation's first turn: answered without a person "
        f"{metric_span('contained', c['contained'])}, answered with the right intent "
        f"{metric_span('answered_right', c['answered_right'])}.</p>"
        + _table(["decision", "share"], rows)
    )


__all__ = ["render_report"]
