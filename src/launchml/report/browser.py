"""Render a report in headless Chromium: a screenshot, and the console messages it logged.

Used by the browser test and ``benchmarks/reports.py`` to check that a report renders offline
without errors. Needs Debian's ``chromium`` package (``make test-browser`` installs it).

Example::

    messages = screenshot(Path("runs/shop/report.html"), Path("/tmp/shop.png"))
    assert not messages
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--enable-logging=stderr", "--v=0",
]  # fmt: skip
# Chromium logs every console message (and uncaught exception) as `...:INFO:CONSOLE:<line>] "..."`
CONSOLE = re.compile(r":CONSOLE[:(\d)\]]*\s*(.*)$")


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def screenshot(
    page: Path, png: Path, width: int = 1366, height: int = 900, timeout: float = 60.0
) -> list[str]:
    """Screenshot ``page`` (a local HTML file) into ``png``; return the console messages.

    A new, empty profile directory is used every time, so nothing carries over between runs.
    Raises ``FileNotFoundError`` when no Chromium is installed and ``RuntimeError`` when it
    wrote no screenshot.
    """
    binary = find_chromium()
    if binary is None:
        raise FileNotFoundError("chromium not found (apt-get install chromium)")
    png.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="launchml-chromium-") as profile:
        result = subprocess.run(
            [binary, *FLAGS, f"--user-data-dir={profile}", f"--screenshot={png}",
             f"--window-size={width},{height}", page.resolve().as_uri()],
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
    if not png.is_file() or png.stat().st_size == 0:
        raise RuntimeError(f"chromium wrote no screenshot (exit {result.returncode}):\n"
                           f"{result.stderr[-2000:]}")  # fmt: skip
    return [m.group(1) for line in result.stderr.splitlines() if (m := CONSOLE.search(line))]
