"""Serving models over HTTP: ``launchml serve`` and :func:`create_app` for embedding.

Example::

    from launchml.serve import ServeSettings, create_app
    app = create_app(["runs/shop"], ServeSettings(max_batch_size=16))
"""

from launchml.serve.app import app_from_env, create_app
from launchml.serve.models import load_predictor
from launchml.serve.settings import ServeSettings

__all__ = ["ServeSettings", "app_from_env", "create_app", "load_predictor"]
