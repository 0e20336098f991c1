"""The study report: ``STUDY_DIR/report.html``, one offline page (the run report's machinery).

Sections: a summary (trials finished / pruned / failed, the best trial, the epochs pruning
saved), the optimisation history, every trial's per-epoch curve as the pruner saw it, the
parameters' importances (Optuna's fANOVA), one slice plot per parameter, and the leaderboard
of trials (best first, each linked to its run directory and run report when it is here).

Example::

    path = build_study_report(Path("studies/shop"), optuna.load_study(...))
"""

from __future__ import annotations

import os
import warnings
from html import escape
from pathlib import Path
from typing import Any

from launchml.report.page import CHECK_IMAGES, CSS, figure, fmt, metric_span, section
from launchml.tuning import plots


def build_study_report(folder: Path, study: Any, seconds: float | None = None) -> Path:
    """Write ``folder/report.html`` for ``study`` (an ``optuna.Study``); return its path."""
    trials = trial_rows(study)
    metric = str(study.user_attrs.get("metric", "value"))
    maximize = study.direction.name.lower() == "maximize"
    html = render(study.study_name, trials, metric, maximize, _importances(study), seconds)
    target = folder / "report.html"
    scratch = folder / f".report.html.{os.getpid()}"  # workers may write at the same time
    scratch.write_text(html, encoding="utf-8")
    os.replace(scratch, target)
    return target


def trial_rows(study: Any) -> list[dict[str, Any]]:
    """One plain dict per trial (what the plots and the tables read)."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        attrs = t.user_attrs
        curve = [t.intermediate_values[s] for s in sorted(t.intermediate_values)]
        rows.append(
            {
                "number": t.number,
                "state": t.state.name.lower(),
                "value": t.value,
                "params": attrs.get("params", {}),
                "curve": curve,
                "run": attrs.get("run"),
                "worker": attrs.get("worker"),
                "epochs_run": attrs.get("epochs_run", len(curve)),
                "planned_epochs": attrs.get("planned_epochs"),
                "test_accuracy": attrs.get("test_accuracy"),
                "seconds": t.duration.total_seconds() if t.duration is not None else None,
                "error": attrs.get("error"),
            }
        )
    return rows


def render(
    name: str,
    trials: list[dict[str, Any]],
    metric: str,
    maximize: bool,
    importances: dict[str, float] | None,
    seconds: float | None = None,
) -> str:
    """The whole page."""
    params = sorted({key for t in trials for key in t["params"]})
    parts = [("summary", "Summary", _summary(trials, metric, maximize, seconds))]
    better = "higher" if maximize else "lower"
    if any(t["state"] == "complete" for t in trials):
        parts.append(("history", "Optimisation history", figure(
            plots.optimisation_history(trials, metric, maximize), "history",
            f"{metric} of each trial ({better} is better)")))  # fmt: skip
        parts.append(("slices", "Parameters against the objective", figure(
            plots.slices(trials, metric, params), "slices",
            "one panel per searched key; darker points are later trials")))  # fmt: skip
    if any(len(t["curve"]) > 1 for t in trials):  # a single fit per trial has no curve
        parts.append(("curves", "Per-epoch curves", figure(
            plots.learning_curves(trials, metric), "curves",
            f"{metric} after each epoch, as reported to the pruner")))  # fmt: skip
    parts.append(("importances", "Parameter importances", _importances_html(importances)))
    parts.append(
        ("trials", "Leaderboard of trials", _leaderboard(trials, metric, maximize, params))
    )
    nav = "".join(f'<a href="#{key}">{escape(title)}</a>' for key, title, _ in parts)
    body = "".join(section(key, title, html) for key, title, html in parts)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>launchml study: {escape(name)}</title><style>{CSS}</style></head>"
        f"<body><header><h1>Study {escape(name)}</h1><p>{len(trials)} trials · "
        f"optimising {escape(metric)} on the validation split · test data never used to choose"
        f"</p></header><nav><div>{nav}</div></nav><main>{body}</main>"
        f"<script>{CHECK_IMAGES}</script></body></html>\n"
    )


def _summary(
    trials: list[dict[str, Any]], metric: str, maximize: bool, seconds: float | None
) -> str:
    counts = {state: sum(t["state"] == state for t in trials)
              for state in ("complete", "pruned", "fail")}  # fmt: skip
    done = [t for t in trials if t["state"] == "complete"]
    best = (max if maximize else min)(done, key=lambda t: t["value"]) if done else None
    planned = sum(t["planned_epochs"] or 0 for t in trials if t["state"] in ("complete", "pruned"))
    saved = sum(max(0, (t["planned_epochs"] or 0) - (t["epochs_run"] or 0))
                for t in trials if t["state"] == "pruned")  # fmt: skip
    cards = [
        ("trials_complete", counts["complete"], "finished"),
        ("trials_pruned", counts["pruned"], "pruned"),
        ("trials_failed", counts["fail"], "failed"),
        ("best_value", best["value"] if best else None, f"best {metric}"),
        ("best_trial", best["number"] if best else None, "best trial"),
        ("epochs_saved", saved, f"epochs not run (of {planned} planned)"),
    ]
    if seconds is not None:
        cards.append(("seconds", round(seconds, 1), "seconds (this call)"))
    html = '<div class="cards">' + "".join(
        f'<div class="card"><div class="v">{metric_span(key, value, 1 if key == "seconds" else 4)}'
        f'</div><div class="k">{escape(label)}</div></div>'
        for key, value, label in cards
    ) + "</div>"  # fmt: skip
    if best is not None:
        shown = ", ".join(f"{escape(k)} = {escape(_short(v))}" for k, v in best["params"].items())
        html += f"<p>Best: trial {best['number']} ({_run_link(best)}): {shown}.</p>"
    return html


def _importances_html(values: dict[str, float] | None) -> str:
    if not values:
        return (
            "<p>Not computed: Optuna's fANOVA needs at least two finished trials whose "
            "objective and searched keys vary (over the keys every finished trial has).</p>"
        )
    caption = "fANOVA importance: how much of the objective's variance each key explains"
    return figure(plots.importances(values), "importances", caption)


def _leaderboard(
    trials: list[dict[str, Any]], metric: str, maximize: bool, params: list[str]
) -> str:
    def key(t: dict[str, Any]) -> tuple[int, float]:
        order = {"complete": 0, "pruned": 1, "running": 2}.get(t["state"], 3)
        value = t["value"] if t["value"] is not None else (t["curve"][-1] if t["curve"] else 0.0)
        return (order, -value if maximize else value)

    head = ["#", "trial", "state", metric, "epochs", "seconds", "test accuracy*", "run",
            *(p.split(".")[-1] for p in params)]  # fmt: skip
    body = ""
    for rank, t in enumerate(sorted(trials, key=key), 1):
        state = t["state"] if not t["error"] else f"failed: {t['error']}"
        cells = [
            str(rank), str(t["number"]), escape(state[:160]),
            metric_span(f"trial-{t['number']}", t["value"]),
            f"{t['epochs_run']}/{t['planned_epochs'] or '?'}", fmt(t["seconds"], 1),
            fmt(t["test_accuracy"]), _run_link(t),
            *(escape(_short(t["params"].get(p, "–"))) for p in params),
        ]  # fmt: skip
        body += "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"
    header = "".join(f"<th>{escape(h)}</th>" for h in head)
    return (
        f"<div class='scroll'><table id='leaderboard'><thead><tr>{header}</tr></thead>"
        f"<tbody>{body}</tbody></table></div><p>* test accuracy is shown for information; "
        "trials are ranked, and the best one chosen, on the validation metric only. Pruned "
        "trials rank by the last epoch they reported.</p>"
    )


def _run_link(t: dict[str, Any]) -> str:
    run = t.get("run")
    if not run or t["state"] != "complete":
        return "–"
    return f'<a href="{escape(run)}/">{escape(run)}</a>'


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _importances(study: Any) -> dict[str, float] | None:
    import optuna
    from optuna.importance import FanovaImportanceEvaluator, get_param_importances

    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(complete) < 2:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = get_param_importances(study, evaluator=FanovaImportanceEvaluator(seed=0))
    except (ValueError, RuntimeError):  # no key varies across the finished trials
        return None
    return {name: float(v) for name, v in values.items()} or None
