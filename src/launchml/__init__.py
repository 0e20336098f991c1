"""launchml: from a CSV of texts or a folder of images to a trained, evaluated model, offline.

Example::

    import launchml
    run = launchml.train("examples/shop/config.yaml", out="runs/shop")
    run.predict("where is my parcel?")
    launchml.Run.load("runs/shop").predict(["refund please"])
    launchml.export("runs/shop")                  # runs/shop/bundles/onnx-int8, torch-free
    launchml.load_bundle("runs/shop/bundles/onnx-int8").predict("refund please")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from launchml.config import Config, load_config
    from launchml.exporter import export
    from launchml.pipeline import train
    from launchml.runs import Run
    from launchml.runtime import load_bundle
    from launchml.tuning.study import tune

_LAZY = {
    "Config": "launchml.config",
    "load_config": "launchml.config",
    "train": "launchml.pipeline",
    "Run": "launchml.runs",
    "export": "launchml.exporter",
    "load_bundle": "launchml.runtime",
    "tune": "launchml.tuning.study",
}


def __getattr__(name: str) -> Any:
    # Lazy so that `import launchml` (and `launchml --help`) stays fast.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'launchml' has no attribute {name!r}")


__all__ = [
    "Config",
    "Run",
    "__version__",
    "export",
    "load_bundle",
    "load_config",
    "train",
    "tune",
]
