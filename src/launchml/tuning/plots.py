"""The study report's plots (matplotlib, as ``data:`` URIs like the run report's).

Each takes plain rows (one dict per trial: ``number``, ``state``, ``value``, ``params``,
``curve`` = the per-epoch metric reported to the pruner) so that they can be tested without a
study.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from matplotlib.ticker import MaxNLocator

from launchml.report.plots import BLUE, GREEN, GREY, ORANGE, plt, to_uri

STATE_COLOURS = {"complete": BLUE, "pruned": ORANGE, "fail": GREY}


def optimisation_history(trials: list[dict[str, Any]], metric: str, maximize: bool) -> str:
    """Each finished trial's value in trial order, and the best so far as a step line."""
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    done = [t for t in trials if t["state"] == "complete"]
    ax.scatter([t["number"] for t in done], [t["value"] for t in done], color=BLUE, s=22,
               label="finished trial", zorder=3)  # fmt: skip
    best: list[float] = []
    for t in done:
        pick = max if maximize else min
        best.append(t["value"] if not best else pick(best[-1], t["value"]))
    if done:
        ax.step([t["number"] for t in done], best, where="post", color=GREEN, label="best so far")
    pruned = [t for t in trials if t["state"] == "pruned" and t["curve"]]
    if pruned:
        ax.scatter([t["number"] for t in pruned], [t["curve"][-1] for t in pruned], color=ORANGE,
                   marker="x", s=26, label="pruned (last epoch reported)", zorder=3)  # fmt: skip
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trial")
    ax.set_ylabel(metric)
    ax.legend(loc="best", fontsize=8)
    return to_uri(fig)


def learning_curves(trials: list[dict[str, Any]], metric: str) -> str:
    """The metric per epoch of every trial, as the pruner saw it; pruned trials in orange."""
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    for t in trials:
        if not t["curve"]:
            continue
        epochs = range(1, len(t["curve"]) + 1)
        colour = STATE_COLOURS.get(t["state"], GREY)
        ax.plot(list(epochs), t["curve"], color=colour, alpha=0.6, lw=1.2, marker=".", ms=4)
    ax.plot([], [], color=BLUE, label="finished")
    ax.plot([], [], color=ORANGE, label="pruned")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch (of the trial, in order)")
    ax.set_ylabel(f"{metric} (per epoch)")
    ax.legend(loc="best", fontsize=8)
    return to_uri(fig)


def importances(values: dict[str, float]) -> str:
    """Horizontal bars of each parameter's importance (Optuna's fANOVA), largest on top."""
    items = sorted(values.items(), key=lambda kv: kv[1])
    fig, ax = plt.subplots(figsize=(6.5, 0.45 * len(items) + 1.0))
    ax.barh([k for k, _ in items], [v for _, v in items], color=BLUE)
    ax.set_xlabel("importance (share of the variance of the objective)")
    ax.set_xlim(0, max(1e-9, max(v for _, v in items)) * 1.1)
    return to_uri(fig)


def slices(trials: list[dict[str, Any]], metric: str, params: list[str]) -> str:
    """One small panel per parameter: its value against the objective, finished trials only."""
    done = [t for t in trials if t["state"] == "complete"]
    columns = min(3, len(params))
    rows = math.ceil(len(params) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.3 * columns, 2.6 * rows), squeeze=False)
    for ax, name in zip(axes.flat, params, strict=False):
        points = [(t["params"][name], t["value"], t["number"]) for t in done if name in t["params"]]
        values = [p[0] for p in points]
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        if numeric:
            x = np.array(values, dtype=float)
            if len(x) and x.min() > 0 and x.max() / max(x.min(), 1e-300) > 100:
                ax.set_xscale("log")
        else:
            labels = sorted({str(v) for v in values})
            jitter = np.random.default_rng(0).uniform(-0.15, 0.15, len(values))
            x = np.array([labels.index(str(v)) for v in values], dtype=float) + jitter
            ax.set_xticks(range(len(labels)), labels, rotation=20, fontsize=8)
        order = np.array([p[2] for p in points], dtype=float)
        ax.scatter(x, [p[1] for p in points], c=order, cmap="Blues", edgecolors=BLUE, s=22)
        ax.set_title(name, fontsize=9)
        ax.set_ylabel(metric, fontsize=8)
    for ax in list(axes.flat)[len(params) :]:
        ax.axis("off")
    fig.tight_layout()
    return to_uri(fig)
