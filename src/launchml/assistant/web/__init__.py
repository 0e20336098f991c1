"""The assistant's web side: the app of ``launchml assistant serve``.

Example::

    from launchml.assistant import Assistant
    from launchml.assistant.web import create_app
    app = create_app(Assistant.load("runs/shop-assistant"))   # run it with uvicorn
"""

from launchml.assistant.web.app import create_app

__all__ = ["create_app"]
