"""Example reports: a Banking77 run and an MNIST run, their HTML reports and a leaderboard.

Trains (or, with ``--reuse``, reuses) these runs under ``OUT/runs``:

- ``banking77-tfidf_logreg``: ``benchmarks/configs/banking77_tfidf.yaml``;
- ``banking77-mlp``: the same data with the bag-of-words ``mlp`` (for the leaderboard);
- ``mnist-cnn`` (``mlp`` when ``cnn`` is not registered): a subset of MNIST
  (``--mnist-train`` training images, all 10,000 test images) for a few epochs;

then writes ``OUT/<run>.html`` for each, ``OUT/compare-banking77.html``, and, when Chromium is
installed, a screenshot of every page (``OUT/*.png``: the first screen, and ``*-full.png``, the
whole page) after checking that the page logged nothing on the console.

    .venv/bin/python benchmarks/reports.py /tmp/launchml-reports [--reuse]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from launchml.compare import compare_runs, format_leaderboard, leaderboard_html
from launchml.config import load_config
from launchml.models import model_type_names
from launchml.pipeline import train
from launchml.report import build_report
from launchml.report.browser import find_chromium, screenshot

ROOT = Path(__file__).resolve().parent
MNIST = ROOT.parents[1] / "shared" / "data" / "mnist" / "mnist.npz"
IMAGE_TRAIN = {
    "cnn": {"model": {"type": "cnn", "cnn": {"batch_norm": True, "dropout": 0.25}}},
    "mlp": {"model": {"type": "mlp", "mlp": {"hidden": [256], "dropout": 0.2}}},
}


def train_or_reuse(name: str, config, runs: Path, reuse: bool) -> Path:  # type: ignore[no-untyped-def]
    target = runs / name
    if reuse and (target / "meta.json").is_file():
        print(f"{name}: reusing {target}")
        return target
    if target.exists():
        raise SystemExit(f"{target} exists; pass --reuse or choose another OUT")
    started = time.perf_counter()
    run = train(config, out=target)
    test = run.metrics.get("test", {})
    accuracy, f1 = test.get("accuracy", float("nan")), test.get("macro_f1", float("nan"))
    print(
        f"{name}: trained in {time.perf_counter() - started:.1f} s, "
        f"test accuracy {accuracy:.4f}, macro-F1 {f1:.4f}"
    )
    return target


def mnist_subset(out: Path, n_train: int) -> Path:
    """A stratification-friendly prefix of MNIST's training set plus the whole test set."""
    path = out / f"mnist-{n_train}.npz"
    if not path.is_file():
        with np.load(MNIST) as mnist:
            np.savez(
                path,
                x_train=mnist["x_train"][:n_train],
                y_train=mnist["y_train"][:n_train],
                x_test=mnist["x_test"],
                y_test=mnist["y_test"],
            )
    return path


def shoot(page: Path) -> None:
    """Screenshots of ``page``: the first laptop screen and the whole page."""
    if find_chromium() is None:
        print("chromium not installed: no screenshots (apt-get install chromium)")
        return
    for suffix, height in (("", 900), ("-full", 9000)):
        png = page.with_name(page.stem + suffix + ".png")
        messages = screenshot(page, png, width=1366, height=height)
        status = "no console messages" if not messages else f"CONSOLE: {messages}"
        print(f"screenshot {png} ({status})")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("out", nargs="?", type=Path, default=Path("/tmp/launchml-reports"))
    parser.add_argument("--reuse", action="store_true", help="reuse runs already in OUT/runs")
    parser.add_argument("--mnist-train", type=int, default=12000, help="MNIST training images")
    parser.add_argument("--epochs", type=int, default=3, help="epochs of the torch models")
    args = parser.parse_args()
    out: Path = args.out
    runs = out / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    names = model_type_names()

    banking = load_config(ROOT / "configs" / "banking77_tfidf.yaml")
    text_runs = [train_or_reuse("banking77-tfidf_logreg", banking, runs, args.reuse)]
    if "mlp" in names:
        mlp = load_config(
            ROOT / "configs" / "banking77_tfidf.yaml",
            ["model.type=mlp", f"train.epochs={args.epochs * 5}", "train.lr=0.003",
             "model.mlp.hidden=[256]", "model.mlp.dropout=0.2"],
        )  # fmt: skip
        text_runs.append(train_or_reuse("banking77-mlp", mlp, runs, args.reuse))

    image_type = "cnn" if "cnn" in names else "mlp"
    subset = mnist_subset(out, args.mnist_train)
    image_config = load_config(
        {
            "data": {"train": str(subset), "test": str(subset), "split": {"val": 0.1, "seed": 0}},
            **IMAGE_TRAIN[image_type],
            "train": {"epochs": args.epochs, "batch_size": 128, "lr": 3e-3, "schedule": "onecycle"},
        }
    )
    image_run = train_or_reuse(f"mnist-{image_type}", image_config, runs, args.reuse)

    pages = []
    for run_dir in [*text_runs, image_run]:
        started = time.perf_counter()
        page = build_report(run_dir, out=out / f"{run_dir.name}.html")
        seconds = time.perf_counter() - started
        print(f"report {page} ({page.stat().st_size / 1e6:.2f} MB, {seconds:.1f} s)")
        pages.append(page)
    rows, notes = compare_runs(text_runs, sort="macro_f1")
    print(format_leaderboard(rows))
    for note in notes:
        print(f"note: {note}")
    board = out / "compare-banking77.html"
    board.write_text(leaderboard_html(rows, notes, "macro_f1"), encoding="utf-8")
    pages.append(board)
    for page in pages:
        shoot(page)


if __name__ == "__main__":
    main()
