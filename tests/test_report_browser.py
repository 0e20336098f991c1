"""The report renders in a real browser: headless Chromium, offline, no console errors.

Skipped (with the reason) when Chromium is not installed; ``make test-browser`` installs it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from launchml.report import build_report
from launchml.report.browser import find_chromium, screenshot
from launchml.report.page import CHECK_IMAGES

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        find_chromium() is None,
        reason="chromium is not installed (make test-browser installs Debian's chromium)",
    ),
]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_console_errors_are_detected(tmp_path: Path) -> None:
    # the check below would pass vacuously if console messages were never captured
    page = tmp_path / "broken.html"
    page.write_text(
        '<html><body><img alt="plot-x" src="data:image/png;base64,AAAA">'
        f"<script>console.error('deliberate'); {CHECK_IMAGES} missing();</script></body></html>",
        encoding="utf-8",
    )
    messages = screenshot(page, tmp_path / "broken.png", 400, 300)
    assert any("deliberate" in m for m in messages)
    assert any("Uncaught ReferenceError" in m for m in messages)
    assert any("broken image: plot-x" in m for m in messages)  # the report's own image check


def test_report_renders_without_console_errors(cli, text_config: Path, tmp_path: Path) -> None:
    assert cli("train", text_config, "--out", tmp_path / "run", "-q").code == 0
    report = build_report(tmp_path / "run")
    png = tmp_path / "report.png"
    messages = screenshot(report, png, width=1366, height=3000)
    assert messages == []  # includes the page's own "broken image" check
    data = png.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    width = int.from_bytes(data[16:20], "big")
    height = int.from_bytes(data[20:24], "big")
    assert (width, height) == (1366, 3000)


def test_study_report_renders_without_console_errors(text_config: Path, tmp_path: Path) -> None:
    from launchml.tuning.study import tune

    config = text_config.read_text("utf-8") + (
        "tune:\n  space:\n    model.tfidf_logreg.C: {low: 0.01, high: 100, log: true}\n"
        "    model.tfidf_logreg.sublinear_tf: {choices: [true, false]}\n"
    )
    text_config.write_text(config, encoding="utf-8")
    result = tune(text_config, trials=3, out=tmp_path / "study")
    assert result.report is not None
    png = tmp_path / "study.png"
    messages = screenshot(result.report, png, width=1366, height=2400)
    assert messages == []  # no broken plot, no script error
    assert png.read_bytes().startswith(PNG_SIGNATURE)
    html = result.report.read_text("utf-8")
    assert html.count("<img") >= 2 and "data:image/svg+xml;base64," in html
