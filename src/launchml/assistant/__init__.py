"""The customer-service assistant: intents, FAQ answers, calibrated "I don't know", handoff to a
person, a conversation store with personal data redacted.

Example::

    from launchml import assistant

    project = assistant.init_project("shop-assistant")               # an example to start from
    bot = assistant.train_assistant(project, out="runs/shop-assistant")
    bot = assistant.Assistant.load("runs/shop-assistant", store_url="sqlite:///chat.db")
    reply = bot.reply(None, "where is my parcel?")
    reply.kind, reply.text, reply.conversation_id
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from launchml.assistant.example import init_project
    from launchml.assistant.project import Project, load_project
    from launchml.assistant.runtime import Assistant, Reply
    from launchml.assistant.train import train_assistant

# name -> module; imported on first use so that `import launchml.assistant` stays light
_EXPORTS = {
    "Assistant": "launchml.assistant.runtime",
    "Reply": "launchml.assistant.runtime",
    "Project": "launchml.assistant.project",
    "load_project": "launchml.assistant.project",
    "init_project": "launchml.assistant.example",
    "train_assistant": "launchml.assistant.train",
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'launchml.assistant' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_EXPORTS[name]), name)


__all__ = ["Assistant", "Project", "Reply", "init_project", "load_project", "train_assistant"]
