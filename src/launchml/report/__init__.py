"""``launchml report RUN``: one self-contained HTML page per run (works offline, no CDN).

Example::

    from launchml.report import build_report
    path = build_report("runs/shop")        # runs/shop/report.html
"""

from __future__ import annotations

from pathlib import Path

from launchml.outputs import check_output_file


def build_report(
    run_dir: str | Path, out: str | Path | None = None, data: str | Path | None = None
) -> Path:
    """Write the report of the run in ``run_dir`` and return its path.

    Parameters
    ----------
    run_dir: a finished run directory.
    out: the HTML file to write; default ``RUN/report.html``.
    data: labelled data to evaluate on instead of the run's own test (or validation) split.
    """
    from launchml.report.collect import collect
    from launchml.report.page import render
    from launchml.runs import Run, write_text_atomic

    run = Run.load(run_dir)
    target = Path(out) if out is not None else run.path / "report.html"
    if target.is_dir():
        target = target / "report.html"
    check_output_file(target, "--out")
    html = render(collect(run, data))
    write_text_atomic(target, html)
    return target


__all__ = ["build_report"]
