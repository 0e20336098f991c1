"""The report's plots: matplotlib figures (Agg backend) turned into ``data:`` URIs.

Line and bar charts are SVG (sharp at any zoom, text stays text); heat maps and pixel grids are
PNG (an SVG would embed a tiny raster that browsers blur). Each figure is embedded as an
``<img src="data:...">``, so figures cannot clash with each other or with the page's styles.
"""

from __future__ import annotations

import base64
import io
import itertools
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import PowerNorm
from matplotlib.figure import Figure
from PIL import Image

plt.rcParams.update(
    {
        "svg.fonttype": "none",  # text as text: smaller files, browser fonts
        "svg.hashsalt": "launchml",  # stable ids: the same report twice is the same file
        "font.size": 10,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.alpha": 0.3,
    }
)
BLUE, ORANGE, GREEN, GREY = "#2563eb", "#ea580c", "#16a34a", "#6b7280"
MAX_BARS = 40  # per-class charts show the worst 40; the full table is beside them


def to_uri(fig: Figure, fmt: str = "svg", dpi: int = 110) -> str:
    """Render and close ``fig``; return a ``data:image/...;base64,`` URI."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=dpi, bbox_inches="tight", metadata=_metadata(fmt))
    plt.close(fig)
    mime = "image/svg+xml" if fmt == "svg" else "image/png"
    return f"data:{mime};base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _metadata(fmt: str) -> dict[str, Any]:
    # no creation date in the file: reports are reproducible byte for byte
    return {"Date": None} if fmt == "svg" else {"Software": None}


def training_curves(history: list[dict[str, Any]]) -> str:
    """Loss, validation metrics and learning rate per epoch, side by side."""
    epochs = [int(float(row["epoch"])) for row in history]
    xlabel = "epoch"
    if any(later <= earlier for earlier, later in itertools.pairwise(epochs)):
        # two_stage runs and ensembles restart at epoch 1: plot the epochs one after another
        epochs, xlabel = list(range(1, len(history) + 1)), "epoch (stages / members in order)"

    def series(key: str) -> list[float] | None:
        values = [row.get(key) for row in history]
        if all(v in (None, "") for v in values):
            return None
        return [float(v) if v not in (None, "") else np.nan for v in values]  # type: ignore[arg-type]

    metric_keys = [k for k in history[0] if k.startswith("val_") and k != "val_loss"]
    has_lr = series("lr") is not None
    fig, axes = plt.subplots(1, 3 if has_lr else 2, figsize=(12 if has_lr else 9, 3.3))
    marker = "o" if len(epochs) <= 30 else None
    ax = axes[0]
    for key, color in (("train_loss", BLUE), ("val_loss", ORANGE)):
        values = series(key)
        if values is not None:
            ax.plot(epochs, values, marker=marker, color=color, label=key.replace("_", " "))
    ax.set(title="loss", xlabel=xlabel)
    ax.legend()
    ax = axes[1]
    for key, color in zip(metric_keys, (GREEN, BLUE, ORANGE, GREY), strict=False):
        values = series(key)
        if values is not None:
            ax.plot(epochs, values, marker=marker, color=color, label=key.replace("_", " "))
    ax.set(title="validation metrics", xlabel=xlabel)
    if metric_keys:
        ax.legend()
    if has_lr:
        ax = axes[2]
        ax.plot(epochs, series("lr"), marker=marker, color=GREY)
        ax.set(title="learning rate (end of epoch)", xlabel=xlabel)
        ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
    for ax in axes:
        ax.xaxis.get_major_locator().set_params(integer=True)
    fig.tight_layout()
    return to_uri(fig)


def confusion_heatmap(confusion: dict[str, Any]) -> str:
    """Row-normalised confusion matrix (colour) with counts written in when there is room.

    The colour scale is a square root, so that a 5% confusion is visible next to a 95% diagonal.
    """
    labels = confusion["labels"]
    counts = np.asarray(confusion["counts"])
    normalized = np.asarray(confusion["normalized"])
    k = len(labels)
    side = float(np.clip(2.5 + 0.15 * k, 5.0, 15.0))  # inches; ~11 px per cell for many classes
    fig, ax = plt.subplots(figsize=(side + 1.5, side))
    norm = PowerNorm(gamma=0.5, vmin=0.0, vmax=1.0)
    image = ax.imshow(normalized, cmap="Blues", norm=norm, interpolation="nearest")
    ax.grid(False)
    tick_size = 9 if k <= 20 else 7 if k <= 60 else 6.5
    ax.set_xticks(range(k), labels, rotation=90, fontsize=tick_size)
    ax.set_yticks(range(k), labels, fontsize=tick_size)
    ax.set(xlabel="predicted", ylabel="true")
    if k <= 20:
        for i, j in zip(*np.nonzero(counts), strict=True):
            dark = normalized[i, j] > 0.5
            ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if dark else "black")  # fmt: skip
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.02, label="share of the true class")
    fig.tight_layout()
    return to_uri(fig, "png", dpi=90 if k > 40 else 110)


def f1_bars(per_class: dict[str, dict[str, float]]) -> str:
    """Per-class F1, worst first (the worst ``MAX_BARS`` when there are more classes)."""
    rows = sorted(per_class.items(), key=lambda kv: (kv[1]["f1"], kv[0]))[:MAX_BARS]
    names = [name for name, _ in rows]
    values = [row["f1"] for _, row in rows]
    fig, ax = plt.subplots(figsize=(7.5, 0.6 + 0.24 * len(rows)))
    colors = [ORANGE if v < 0.5 else BLUE for v in values]
    ax.barh(range(len(rows)), values, color=colors)
    ax.set_yticks(range(len(rows)), names, fontsize=8 if len(rows) > 20 else 9)
    ax.invert_yaxis()  # worst at the top
    ax.set_xlim(0, 1.12)
    for i, (value, row) in enumerate(zip(values, (r for _, r in rows), strict=True)):
        ax.text(value + 0.01, i, f"{value:.3f} (n={row['support']})", va="center", fontsize=7)
    ax.set(xlabel="F1")
    ax.grid(axis="y", visible=False)
    fig.tight_layout()
    return to_uri(fig)


def reliability_diagram(calibration: dict[str, Any]) -> str:
    """Accuracy against confidence per bin, the diagonal of perfect calibration, and counts."""
    bins = calibration["bins"]
    centers = np.array([(b["lower"] + b["upper"]) / 2 for b in bins])
    width = bins[0]["upper"] - bins[0]["lower"]
    accuracy = np.array([b["accuracy"] if b["count"] else 0.0 for b in bins])
    confidence = np.array(
        [b["confidence"] if b["count"] else c for b, c in zip(bins, centers, strict=True)]
    )
    counts = np.array([b["count"] for b in bins])
    fig, (ax, ax_n) = plt.subplots(
        2, 1, figsize=(5.2, 5.4), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    filled = counts > 0
    ax.bar(centers[filled], accuracy[filled], width=width * 0.95, color=BLUE, label="accuracy")
    ax.bar(centers[filled], (confidence - accuracy)[filled], bottom=accuracy[filled],
           width=width * 0.95, fill=False, hatch="///", edgecolor=ORANGE, linewidth=0,
           label="gap to mean confidence")  # fmt: skip
    ax.plot([0, 1], [0, 1], "--", color=GREY, label="perfect calibration")
    ax.set(ylabel="accuracy", xlim=(0, 1), ylim=(0, 1))
    ax.set_title(f"ECE {calibration['ece']:.4f} ({calibration['n_bins']} bins)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8)
    ax_n.bar(centers, counts, width=width * 0.95, color=GREY)
    ax_n.set(xlabel="confidence (top probability)", ylabel="predictions")
    fig.tight_layout()
    return to_uri(fig)


def roc_plot(fpr: np.ndarray, tpr: np.ndarray, auc: float, positive: str) -> str:
    fig, ax = plt.subplots(figsize=(4.8, 4.4))
    ax.plot(fpr, tpr, color=BLUE, label=f"AUC {auc:.4f}")
    ax.plot([0, 1], [0, 1], "--", color=GREY)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", xlim=(0, 1), ylim=(0, 1.01))
    ax.set_title(f"ROC, positive class '{positive}'")
    ax.legend(loc="lower right")
    fig.tight_layout()
    return to_uri(fig)


def class_balance(counts: dict[str, dict[str, int]], labels: list[str]) -> str:
    """Examples per class in each split, stacked."""
    k = len(labels)
    fig, ax = plt.subplots(
        figsize=(float(np.clip(1.5 + 0.16 * k, 6.0, 14.0)), 3.6 if k <= 30 else 4.6)
    )
    bottom = np.zeros(k)
    for split, color in (("train", BLUE), ("val", ORANGE), ("test", GREEN)):
        if split not in counts:
            continue
        values = np.array([counts[split].get(label, 0) for label in labels], dtype=float)
        ax.bar(range(k), values, bottom=bottom, color=color, label=split, width=0.85)
        bottom += values
    ax.set_xticks(range(k), labels, rotation=90, fontsize=9 if k <= 30 else 7)
    ax.set(ylabel="examples")
    ax.grid(axis="x", visible=False)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return to_uri(fig)


def filter_grid(weight: np.ndarray, max_filters: int = 64) -> str:
    """First-layer convolution filters ``(out, in, kh, kw)``, each scaled to its own range;
    RGB for three input channels, the channel mean otherwise."""
    weight = np.asarray(weight, dtype=np.float64)[:max_filters]
    n = len(weight)
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.9, rows * 0.9), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        w = weight[i]
        image = w.transpose(1, 2, 0) if w.shape[0] == 3 else w.mean(axis=0)
        span = image.max() - image.min()
        image = (image - image.min()) / span if span > 0 else np.zeros_like(image)
        ax.imshow(image, cmap=None if image.ndim == 3 else "gray", interpolation="nearest")
    fig.subplots_adjust(wspace=0.08, hspace=0.08)
    return to_uri(fig, "png", dpi=90)


def thumbnail(image: np.ndarray, size: int = 84) -> str:
    """A small PNG of one ``(H, W, C)`` uint8 image, scaled up without blurring."""
    array = np.asarray(image, dtype=np.uint8)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    picture = Image.fromarray(array)
    scale = max(1, size // max(picture.size))
    picture = picture.resize(
        (picture.size[0] * scale, picture.size[1] * scale), Image.Resampling.NEAREST
    )
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
