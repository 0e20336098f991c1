"""``launchml assistant init DIR``: a complete example project to start from.

The shop demo's 12 intents (``examples/shop``: its English messages plus German ones), a small
FAQ in both languages, a few out-of-scope messages and test sets, and an ``assistant.yaml`` with
a response and a title per intent and language. It trains as it is.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd

from launchml.errors import ConflictError

FILES = ("assistant.yaml", "faq.csv", "faq_test.csv", "out_of_scope.csv")
COMBINED = {
    "intents.csv": ("intents_en.csv", "intents_de.csv"),
    "intents_test.csv": ("intents_test_en.csv", "intents_test_de.csv"),
}


def init_project(directory: str | Path) -> Path:
    """Write the example project into ``directory`` (new or empty); returns its YAML file."""
    target = Path(directory)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ConflictError(f"{target}: exists and is not an empty directory; choose a new one")
    source = resources.files("launchml.assistant") / "example"
    target.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        (target / name).write_bytes((source / name).read_bytes())
    for name, parts in COMBINED.items():
        frames = []
        for part in parts:
            with (source / part).open("r", encoding="utf-8") as handle:
                frames.append(pd.read_csv(handle, dtype=str))
        pd.concat(frames).to_csv(target / name, index=False)
    return target / "assistant.yaml"


__all__ = ["init_project"]
