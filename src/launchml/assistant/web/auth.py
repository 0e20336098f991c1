"""Who is asking: agents (password, session cookie, CSRF token) and customers (a conversation
token).

- **Agents** are created on the CLI (``launchml assistant agent add NAME``); passwords are
  hashed with argon2id (``argon2-cffi``'s defaults, RFC 9106). Logging in sets the session
  cookie ``launchml_session`` (HttpOnly, SameSite=Strict, Secure off loopback) and returns a
  CSRF token, which every state-changing inbox request must send back as ``X-CSRF-Token``
  (403 ``csrf_failed`` otherwise). Only the sha256 of either token is stored.
- **Customers** get a random 256-bit token when the widget starts a conversation, and send it
  as ``X-Conversation-Token``. It opens that one conversation's widget routes and nothing else:
  no inbox route accepts it, and the ``/v1`` API needs the server's API key.

Example::

    agent: Annotated[AgentIdentity, Depends(current_agent)]      # in an inbox route
"""

from __future__ import annotations

import functools
import hmac
from dataclasses import dataclass
from typing import Annotated

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool

from launchml.assistant.inbox_store import InboxStore
from launchml.serve.errors import ServeError, UnauthorizedError

SESSION_COOKIE = "launchml_session"
CSRF_HEADER = "X-CSRF-Token"
TOKEN_HEADER = "X-Conversation-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"
MIN_PASSWORD = 10

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    # verifying a password against this when the agent does not exist takes as long as a real
    # check, so the answer time does not tell which names exist
    return _hasher.hash("not a password of anyone")


class ForbiddenError(ServeError):
    http_status = 403
    code = "forbidden"


class CsrfError(ServeError):
    http_status = 403
    code = "csrf_failed"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(stored: str | None, password: str) -> bool:
    """True when ``password`` matches the ``stored`` argon2 hash (None: a name nobody has)."""
    try:
        return _hasher.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)


@dataclass(frozen=True)
class AgentIdentity:
    name: str
    csrf_token: str


def get_inbox(request: Request) -> InboxStore:
    inbox: InboxStore = request.app.state.inbox
    return inbox


InboxDep = Annotated[InboxStore, Depends(get_inbox)]


async def current_agent(request: Request, inbox: InboxDep) -> AgentIdentity:
    """The logged-in agent (401 without a live session); a request that changes something
    must carry the session's CSRF token (403)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise UnauthorizedError("not logged in; log in at /inbox/login")
    found = await run_in_threadpool(inbox.session_of, token)
    if found is None:
        raise UnauthorizedError("the session has expired or was ended; log in at /inbox/login")
    agent, csrf = found
    if request.method not in SAFE_METHODS:
        given = request.headers.get(CSRF_HEADER, "")
        if not given or not hmac.compare_digest(given.encode(), csrf.encode()):
            raise CsrfError(
                f"missing or wrong {CSRF_HEADER} header; the inbox page sends it (GET "
                "/inbox/api/me returns the token)"
            )
    return AgentIdentity(agent, csrf)


AgentDep = Annotated[AgentIdentity, Depends(current_agent)]


async def customer_conversation(
    inbox: InboxDep,
    token: Annotated[str | None, Header(alias=TOKEN_HEADER, include_in_schema=False)] = None,
) -> str:
    """The conversation id of the customer's token (401 without one or with an unknown one)."""
    if not token:
        raise UnauthorizedError(
            f"missing {TOKEN_HEADER}; start a conversation with POST /widget/v1/conversations"
        )
    conversation_id = await run_in_threadpool(inbox.conversation_of_token, token)
    if conversation_id is None:
        raise UnauthorizedError(f"unknown {TOKEN_HEADER}; start a new conversation")
    return conversation_id


CustomerDep = Annotated[str, Depends(customer_conversation)]


__all__ = [
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "TOKEN_HEADER",
    "AgentDep",
    "AgentIdentity",
    "CsrfError",
    "CustomerDep",
    "ForbiddenError",
    "check_password",
    "current_agent",
    "hash_password",
]
