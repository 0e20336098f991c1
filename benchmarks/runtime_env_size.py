"""Installed size of a fresh virtualenv holding only the bundle runtime's dependencies, against
one holding the full launchml (torch, transformers, scikit-learn, ...).

Builds both in a temporary directory with this machine's ``python3.11 -m venv`` and pip (the
package registry, or its local mirror), installs launchml itself without dependencies into the
runtime one, and, given ``--bundle DIR`` with ``--expect FILE`` (JSON: ``{"inputs": [...],
"labels": [...]}``), checks there that the bundle predicts those labels: the runtime really works
in an environment where torch was never installed. Prints one JSON line.

    .venv/bin/python benchmarks/runtime_env_size.py --bundle runs/x/bundles/onnx-int8 \
        --expect /tmp/expect.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNTIME = ["numpy==2.4.6", "onnxruntime==1.31.1", "tokenizers==0.23.3", "pillow==13.0.0"]
CHECK = """
import json, sys
from launchml.runtime import load_bundle
expect = json.load(open(sys.argv[2]))
labels = load_bundle(sys.argv[1]).predict(expect["inputs"])
heavy = [m for m in ("torch", "transformers", "sklearn") if m in sys.modules]
print(json.dumps({"same_labels": labels == expect["labels"], "n": len(labels), "heavy": heavy}))
"""


def venv(path: Path, python: str) -> Path:
    subprocess.run([python, "-m", "venv", str(path)], check=True)
    pip = path / "bin" / "python"
    subprocess.run([str(pip), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    return pip


def install(python: Path, *args: str) -> None:
    subprocess.run([str(python), "-m", "pip", "install", "-q", *args], check=True)


def megabytes(path: Path) -> float:
    site = next(path.glob("lib/python*/site-packages"))
    return round(sum(p.stat().st_size for p in site.rglob("*") if p.is_file()) / 1e6, 1)


def packages(python: Path) -> int:
    out = subprocess.run(
        [str(python), "-m", "pip", "list", "--format", "json"], capture_output=True, text=True
    )
    return len(json.loads(out.stdout))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--python", default="python3.11")
    parser.add_argument("--bundle", type=Path)
    parser.add_argument("--expect", type=Path)
    args = parser.parse_args()
    result: dict = {"benchmark": "runtime_env_size", "date": dt.date.today().isoformat()}
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        runtime = venv(Path(tmp) / "runtime", args.python)
        install(runtime, *RUNTIME)
        install(runtime, "--no-deps", str(ROOT))
        result["runtime"] = {
            "requirements": RUNTIME,
            "site_packages_mb": megabytes(Path(tmp) / "runtime"),
            "packages": packages(runtime),
            "install_seconds": round(time.perf_counter() - started),
        }
        if args.bundle and args.expect:
            out = subprocess.run(
                [str(runtime), "-c", CHECK, str(args.bundle), str(args.expect)],
                capture_output=True,
                text=True,
            )
            last = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else out.stderr
            result["runtime"]["bundle_check"] = json.loads(last) if out.returncode == 0 else last
        started = time.perf_counter()
        full = venv(Path(tmp) / "full", args.python)
        install(full, "torch==2.13.0")  # first and alone, as the Makefile does
        install(full, str(ROOT))
        result["full"] = {
            "site_packages_mb": megabytes(Path(tmp) / "full"),
            "packages": packages(full),
            "install_seconds": round(time.perf_counter() - started),
        }
    result["ratio"] = round(
        result["full"]["site_packages_mb"] / result["runtime"]["site_packages_mb"], 1
    )
    print(json.dumps(result), flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
