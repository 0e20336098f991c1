"""The web side's settings (``LAUNCHML_ASSISTANT_*``), next to the server's ``LAUNCHML_*``.

Example::

    WebSettings(widget_origins=["https://shop.example"], messages_per_minute=10)
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class WebSettings(BaseSettings):
    """Who may embed the widget, the rate limits of the public routes, agent sessions."""

    model_config = SettingsConfigDict(env_prefix="LAUNCHML_ASSISTANT_", extra="forbid")

    widget_origins: list[str] = Field(
        default_factory=list,
        description="sites (https://shop.example) whose pages may embed the widget; '*' = any",
    )
    conversations_per_minute: float = Field(
        10.0, gt=0, description="new widget conversations per client address"
    )
    messages_per_minute: float = Field(20.0, gt=0, description="widget messages per conversation")
    burst: int = Field(10, ge=1, description="requests allowed at once above the rates")
    logins_per_minute: float = Field(5.0, gt=0, description="login attempts per address and name")
    session_hours: float = Field(12.0, gt=0, le=24 * 30, description="an agent session's life")
    secure_cookies: bool | None = Field(
        None, description="Secure flag on the session cookie (default: on unless loopback)"
    )
    poll_s: float = Field(3.0, gt=0, le=60, description="live streams re-read the store this often")
    stream_s: float = Field(
        300.0, gt=0, description="a live stream ends after this long (the page reconnects)"
    )


__all__ = ["WebSettings"]
