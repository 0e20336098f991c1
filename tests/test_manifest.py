"""The manifest of file digests: written last, verified against the files."""

from __future__ import annotations

import hashlib
from pathlib import Path

from launchml.manifest import MANIFEST, read_manifest, verify_manifest, write_manifest


def make_artifact(root: Path) -> Path:
    (root / "sub").mkdir(parents=True)
    (root / "labels.json").write_text('{"0": "a"}', encoding="utf-8")
    (root / "sub" / "weights.bin").write_bytes(bytes(range(256)) * 10)
    return root


def test_manifest_digests_match_hashlib(tmp_path: Path) -> None:
    root = make_artifact(tmp_path / "run")
    manifest = write_manifest(root, {"kind": "run"})
    expected = "sha256:" + hashlib.sha256(bytes(range(256)) * 10).hexdigest()
    assert manifest["files"]["sub/weights.bin"] == expected
    assert set(manifest["files"]) == {"labels.json", "sub/weights.bin"}  # not itself
    assert read_manifest(root) == manifest
    assert not (root / (MANIFEST + ".tmp")).exists()


def test_verify_names_missing_and_modified_files(tmp_path: Path) -> None:
    root = make_artifact(tmp_path / "run")
    write_manifest(root)
    assert verify_manifest(root) == []
    (root / "labels.json").write_text('{"0": "b"}', encoding="utf-8")
    (root / "sub" / "weights.bin").unlink()
    (root / "report.html").write_text("added later is fine", encoding="utf-8")
    assert verify_manifest(root) == ["modified: labels.json", "missing: sub/weights.bin"]


def test_no_or_broken_manifest_means_nothing_to_check(tmp_path: Path) -> None:
    root = make_artifact(tmp_path / "run")
    assert read_manifest(root) is None
    assert verify_manifest(root) == []
    (root / MANIFEST).write_text("not json", encoding="utf-8")
    assert read_manifest(root) is None


def test_skip_leaves_out_top_level_names(tmp_path: Path) -> None:
    root = make_artifact(tmp_path / "run")
    (root / "report.html").write_text("x", encoding="utf-8")
    assert "report.html" not in write_manifest(root, skip=("report.html",))["files"]
