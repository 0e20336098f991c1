"""``launchml compare RUN [RUN ...]``: a leaderboard of finished runs.

Each run is scored again on the same kind of data — ``data`` when given (the fair comparison:
every model on the same file), else the run's own test split (or validation split) — which also
measures its inference speed on this machine. A run whose data files are gone falls back to its
``metrics.json`` without speed figures, and the leaderboard says so.

Example::

    rows, notes = compare_runs(["runs/tfidf", "runs/lstm"], sort="macro_f1")
    print(format_leaderboard(rows))
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from launchml.errors import InvalidInputError, LaunchMLError, did_you_mean

#: sort key -> True when higher is better
SORT_KEYS = {
    "accuracy": True, "macro_f1": True, "balanced_accuracy": True, "ece": False,
    "log_loss": False, "train_seconds": False, "latency_ms": False, "samples_per_s": True,
    "size_mb": False,
}  # fmt: skip
COLUMNS = [
    ("run", "run"), ("model", "model"), ("accuracy", "accuracy"), ("macro_f1", "macro-F1"),
    ("ece", "ECE"), ("train_seconds", "train s"), ("latency_ms", "latency ms (bs 1)"),
    ("samples_per_s", "samples/s (batched)"), ("size_mb", "size MB"), ("evaluated_on", "data"),
]  # fmt: skip


def compare_runs(
    run_dirs: list[str | Path],
    data: str | Path | None = None,
    sort: str = "macro_f1",
    measure: bool = True,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Leaderboard rows (best first by ``sort``) and notes about what could not be measured."""
    if sort not in SORT_KEYS:
        raise InvalidInputError(
            f"--sort {sort}: unknown metric{did_you_mean(sort, SORT_KEYS)} "
            f"(choose from {', '.join(SORT_KEYS)})"
        )
    if not run_dirs:
        raise InvalidInputError("give at least one run directory")
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    for run_dir in run_dirs:
        row, row_notes = _score(Path(run_dir), data, measure)
        rows.append(row)
        notes.extend(f"{row['run']}: {note}" for note in row_notes)
    if data is None and len({r["fingerprint"] for r in rows}) > 1:
        notes.append(
            "the runs were trained on different data; pass --data FILE to score them all on "
            "the same examples"
        )
    higher_better = SORT_KEYS[sort]

    def key(row: dict[str, Any]) -> tuple[bool, float]:
        value = row.get(sort)
        if value is None:
            return (True, 0.0)  # unknown values last
        return (False, -value if higher_better else value)

    rows.sort(key=key)
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    return rows, notes


def _score(path: Path, data: str | Path | None, measure: bool) -> tuple[dict[str, Any], list[str]]:
    from launchml.evaluate import evaluate_dataset, evaluate_path
    from launchml.runs import Run

    run = Run.load(path)
    notes: list[str] = []
    evaluation = None
    source = None
    if data is not None:
        evaluation = evaluate_path(run, data, measure=measure)
        source = str(data)
    elif measure:
        from launchml.data.load import load_splits

        try:
            splits = load_splits(run.config.data)
            split = "test" if splits.test is not None else "val"
            if getattr(splits, split) is not None:
                evaluation = evaluate_dataset(run, getattr(splits, split))
                source = split
        except LaunchMLError as exc:
            notes.append(f"data not re-loadable ({exc}); figures from metrics.json, no speed")
    if evaluation is not None:
        metrics = evaluation.metrics
        inference = evaluation.inference or {}
    else:
        source = "test" if "test" in run.metrics else "val"
        metrics = run.metrics.get(source, {})
        source += " (metrics.json)"
        inference = {}
    size = inference.get("model_size_bytes")
    if size is None:
        from launchml.profiling import model_size_bytes

        size = model_size_bytes(run.path)
    row = {
        "run": run.path.name,
        "path": str(run.path),
        "model": run.meta.get("model_type"),
        "kind": run.kind,
        "n": metrics.get("n"),
        "accuracy": metrics.get("accuracy"),
        "macro_f1": metrics.get("macro_f1"),
        "balanced_accuracy": metrics.get("balanced_accuracy"),
        "ece": metrics.get("ece"),
        "log_loss": metrics.get("log_loss"),
        "train_seconds": run.meta.get("timings", {}).get("fit_seconds"),
        "latency_ms": inference.get("single_latency_ms_p50"),
        "samples_per_s": inference.get("batched_samples_per_s"),
        "size_mb": round(size / 1e6, 3),
        "evaluated_on": source,
        "fingerprint": run.meta.get("data_fingerprint"),
    }
    return row, notes


def _cell(value: Any, key: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        digits = 4 if key in ("accuracy", "macro_f1", "ece", "balanced_accuracy", "log_loss") else 1
        if key in ("latency_ms", "size_mb"):
            digits = 2
        return f"{value:.{digits}f}"
    return str(value)


def format_leaderboard(rows: list[dict[str, Any]]) -> str:
    """The leaderboard as an aligned text table."""
    header = ["#"] + [title for _, title in COLUMNS]
    body = [[str(r["rank"])] + [_cell(r.get(k), k) for k, _ in COLUMNS] for r in rows]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    numeric = {0} | {i + 1 for i, (k, _) in enumerate(COLUMNS) if k in SORT_KEYS}
    lines = []
    for line in [header, *body]:
        cells = zip(line, widths, strict=True)
        lines.append(
            "  ".join(c.rjust(w) if i in numeric else c.ljust(w) for i, (c, w) in enumerate(cells))
        )
    return "\n".join(line.rstrip() for line in lines)


def leaderboard_html(rows: list[dict[str, Any]], notes: list[str], sort: str) -> str:
    """A self-contained HTML page with the leaderboard; the best value of each column in bold."""
    best: dict[str, Any] = {}
    for key, higher in SORT_KEYS.items():
        values = [r[key] for r in rows if r.get(key) is not None]
        if values:
            best[key] = max(values) if higher else min(values)
    head = "<th>#</th>" + "".join(f"<th>{escape(t)}</th>" for _, t in COLUMNS)
    body = ""
    for r in rows:
        cells = f"<td>{r['rank']}</td>"
        for key, _ in COLUMNS:
            text = escape(_cell(r.get(key), key))
            if key in best and r.get(key) == best[key] and len(rows) > 1:
                text = f"<b>{text}</b>"
            cls = ' class="n"' if key in SORT_KEYS else ""
            cells += f'<td{cls} data-key="{key}">{text}</td>'
        body += f"<tr>{cells}</tr>"
    note_html = "".join(f'<p class="note">{escape(n)}</p>' for n in notes)
    direction = "higher" if SORT_KEYS[sort] else "lower"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>launchml leaderboard</title><style>"
        "body{font:15px/1.5 system-ui,sans-serif;margin:24px auto;max-width:1180px;padding:0 24px}"
        "table{border-collapse:collapse}th,td{border-bottom:1px solid #e5e7eb;padding:6px 12px;"
        "text-align:left;white-space:nowrap}th{background:#f9fafb}td.n{text-align:right;"
        "font-variant-numeric:tabular-nums}.note{background:#fff7ed;border-left:3px solid "
        "#ea580c;padding:6px 10px}</style></head><body><h1>Leaderboard</h1>"
        f"<p>{len(rows)} runs, sorted by {escape(sort)} ({direction} is better). Latency is the "
        "median time for one example at batch size 1, measured on this machine.</p>"
        f'<table id="leaderboard"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
        f"{note_html}</body></html>\n"
    )
