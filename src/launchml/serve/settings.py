"""The server's one settings object: ``LAUNCHML_*`` environment variables and CLI flags.

Every value has a safe default (loopback only, limits on every input). A flag given to
``launchml serve`` wins over the environment; the environment wins over the default. With
``--workers N > 1`` the settings reach each worker process through the same variables.

Example::

    settings = ServeSettings(models=["runs/shop"], max_wait_ms=1.0)
    settings = ServeSettings()       # everything from LAUNCHML_* (LAUNCHML_MODELS='["runs/shop"]')
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from launchml.errors import InvalidConfigError, NotFoundError

MiB = 1 << 20


class ServeSettings(BaseSettings):
    """How ``launchml serve`` (and :func:`launchml.serve.create_app`) runs.

    The API key: ``api_key`` (``LAUNCHML_API_KEY``) or ``api_key_file`` (its first line). When
    one is set every ``/v1`` and ``/metrics`` request needs it (``Authorization: Bearer KEY`` or
    ``X-API-Key: KEY``). Binding a non-loopback ``host`` without a key is refused.
    """

    model_config = SettingsConfigDict(env_prefix="LAUNCHML_", extra="forbid")

    models: list[str] = Field(
        default_factory=list, description="run or bundle directories to serve"
    )
    names: list[str] = Field(
        default_factory=list, description="names for the models, in order (default: dir name)"
    )
    host: str = Field("127.0.0.1", description="address to bind; non-loopback needs an API key")
    port: int = Field(8000, ge=0, le=65535)
    workers: int = Field(1, ge=1, le=64, description="uvicorn worker processes")
    api_key: SecretStr | None = Field(None, description="the API key itself")
    api_key_file: Path | None = Field(None, description="a file whose first line is the API key")
    max_batch_size: int = Field(32, ge=1, le=4096, description="inputs merged into one batch")
    max_wait_ms: float = Field(
        2.0, ge=0.0, le=1000.0, description="longest a request waits for others to join its batch"
    )
    max_queue: int = Field(
        4096, ge=1, description="inputs waiting per model before new requests get 503"
    )
    max_queue_wait_s: float = Field(
        10.0, gt=0.0, description="a request queued longer is answered 503 (server far behind)"
    )
    max_body_bytes: int = Field(8 * MiB, ge=1, description="largest request body")
    max_inputs: int = Field(256, ge=1, description="texts or images in one request")
    max_text_chars: int = Field(10_000, ge=1, description="longest text")
    max_image_bytes: int = Field(4 * MiB, ge=1, description="largest image file (decoded base64)")
    max_explain_inputs: int = Field(
        8, ge=1, description="texts or images in one explain request (each is many model calls)"
    )
    threads: int | None = Field(None, ge=1, description="intra-op threads per model (default all)")
    device: str | None = Field(
        None,
        description="where runs predict: auto, cpu, cuda, cuda:N (default: each run's "
        "inference.device, else its train.device); bundles run on ONNX Runtime's CPU provider",
    )
    access_log: bool = Field(True, description="one JSON line per request (log launchml.access)")
    graceful_timeout_s: float = Field(
        30.0, ge=0.0, description="how long shutdown waits for in-flight requests"
    )

    @field_validator("device")
    @classmethod
    def _device_name(cls, device: str | None) -> str | None:
        if device is not None and not re.match(r"^(auto|cpu|cuda(:\d+)?)$", device):
            raise ValueError(f"expected auto, cpu, cuda or cuda:N, got {device!r}")
        return device

    @model_validator(mode="after")
    def _names_match_models(self) -> ServeSettings:
        if self.names and len(self.names) != len(self.models):
            raise ValueError(
                f"{len(self.names)} names for {len(self.models)} models; give one --name per "
                "model, in the same order, or none"
            )
        return self

    def resolved_api_key(self) -> str | None:
        """The key from ``api_key`` or the first line of ``api_key_file``; None when neither."""
        if self.api_key is not None:
            key = self.api_key.get_secret_value().strip()
            source = "LAUNCHML_API_KEY"
        elif self.api_key_file is not None:
            if not self.api_key_file.is_file():
                raise NotFoundError(f"{self.api_key_file}: API key file not found (api_key_file)")
            lines = self.api_key_file.read_text(encoding="utf-8").splitlines()
            key = lines[0].strip() if lines else ""
            source = str(self.api_key_file)
        else:
            return None
        if len(key) < 16:
            raise InvalidConfigError(
                f"{source}: the API key is {len(key)} characters; use at least 16 "
                "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        return key

    def check_exposure(self) -> str | None:
        """The API key, after refusing a non-loopback ``host`` that has none."""
        key = self.resolved_api_key()
        if key is None and not is_loopback(self.host):
            raise InvalidConfigError(
                f"host {self.host!r} is reachable from other machines, so an API key is required: "
                "set LAUNCHML_API_KEY or --api-key-file FILE, or bind --host 127.0.0.1"
            )
        return key


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and the loopback ranges (127.0.0.0/8, ::1); False for anything
    else, including ``0.0.0.0`` and host names (they may resolve to a public address)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


__all__ = ["ServeSettings", "is_loopback"]
