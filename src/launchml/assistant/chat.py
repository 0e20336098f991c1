"""``launchml assistant chat RUN``: the assistant in a terminal, for trying it out.

Each line is a customer message; the reply is printed with what the policy decided and how
sure it was. ``/new`` starts a new conversation, ``/quit`` (or end of input) stops.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from launchml.assistant.runtime import Assistant
from launchml.errors import LaunchMLError


def describe(reply: object) -> str:
    """One short line about a reply's decision: kind, intent, confidence, reason."""
    kind = getattr(reply, "kind", "?")
    intent = getattr(reply, "intent", None)
    confidence = getattr(reply, "confidence", None)
    reason = getattr(reply, "reason", "")
    parts = [kind]
    if intent:
        parts.append(intent)
    if confidence is not None:
        parts.append(f"p={confidence:.2f}")
    parts.append(reason)
    return "[" + " · ".join(parts) + "]"


def chat_loop(
    assistant: Assistant,
    lines: TextIO,
    echo: Callable[..., None],
    language: str | None = None,
    conversation: str | None = None,
) -> None:
    interactive = lines.isatty()
    echo(f"{assistant.name}: type a message (/new starts over, /quit ends)")
    while True:
        if interactive:
            echo("you> ", nl=False)
        line = lines.readline()
        if not line:
            break
        text = line.strip()
        if not text:
            continue
        if text == "/quit":
            break
        if text == "/new":
            conversation = None
            echo("(new conversation)")
            continue
        try:
            reply = assistant.reply(conversation, text, language)
        except LaunchMLError as exc:
            echo(f"error: {exc}")
            continue
        conversation = reply.conversation_id
        shown = reply.text if reply.text is not None else "(silent: a person has this conversation)"
        echo(f"bot> {shown}  {describe(reply)}")
    if conversation:
        echo(f"(conversation {conversation})")


__all__ = ["chat_loop", "describe"]
