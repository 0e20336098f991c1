"""A throw-away PostgreSQL server for tests: its own data directory, a free loopback port.

Debian's ``postgresql`` package provides the binaries (``.ci/run`` installs it; a developer runs
``apt-get install postgresql`` once). The server runs as the ``postgres`` system user when the
tests run as root (PostgreSQL refuses to run as root), listens on 127.0.0.1 only, trusts local
connections, and is stopped and deleted when the test session ends.

Example (through the ``postgres_url`` fixture of ``tests/conftest.py``)::

    def test_store(postgres_url):
        engine = sqlalchemy.create_engine(postgres_url)
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

USER = "launchml"


def find_binaries() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl`` (newest version first), or None."""
    for pattern in ("/usr/lib/postgresql/*/bin",):
        for directory in sorted(glob.glob(pattern), reverse=True):
            if (Path(directory) / "initdb").is_file() and (Path(directory) / "pg_ctl").is_file():
                return Path(directory)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def postgres_server(binaries: Path) -> Iterator[str]:
    """Start a fresh server; yield its SQLAlchemy URL (``postgresql+psycopg://...``)."""
    as_root = os.geteuid() == 0
    base = Path(tempfile.mkdtemp(prefix="launchml-pg-"))
    data = base / "data"
    prefix: list[str] = ["runuser", "-u", "postgres", "--"] if as_root else []
    if as_root:
        shutil.chown(base, "postgres")
        base.chmod(0o700)
    port = free_port()

    def run(*args: str) -> None:
        subprocess.run([*prefix, *args], check=True, capture_output=True, timeout=120)

    try:
        run(str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", USER, "-E", "UTF8")
        options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
        run(str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l",
            str(base / "log"), "-w", "-t", "60", "start")  # fmt: skip
        try:
            yield f"postgresql+psycopg://{USER}@127.0.0.1:{port}/postgres"
        finally:
            run(str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
    finally:
        shutil.rmtree(base, ignore_errors=True)
