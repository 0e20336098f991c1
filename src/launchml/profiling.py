"""Inference figures measured while evaluating, and the machine they were measured on.

Throughput is measured twice: at batch size 1 (one request at a time, what a web service sees)
and at the run's ``inference.batch_size`` (bulk scoring). The batched pass *is* the evaluation's
prediction pass, so it costs nothing extra; the batch-1 pass scores at most
``SINGLE_MAX`` examples or ``SINGLE_BUDGET_S`` seconds, whichever comes first. Wall-clock figures
depend on the machine and its load: they are reported, never asserted by tests.
"""

from __future__ import annotations

import os
import platform
import resource
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

SINGLE_MAX = 200
SINGLE_BUDGET_S = 3.0
WARMUP = 3
#: files of a run directory that are not the model
RUN_BOOKKEEPING = frozenset(
    {"config.yaml", "labels.json", "metrics.json", "history.csv", "meta.json", "report.html",
     "manifest.json", "exports.json"}
)  # fmt: skip
#: folders of a run directory that are not the model (exported bundles)
RUN_EXTRAS = frozenset({"bundles"})
REPORTED_PACKAGES = (
    "launchml", "numpy", "pandas", "scikit-learn", "torch", "transformers", "tokenizers",
    "safetensors", "skops", "pydantic", "matplotlib",
)  # fmt: skip


def measure_inference(run: Any, inputs: list[str] | np.ndarray) -> tuple[np.ndarray, dict]:
    """Predict ``inputs`` with ``run.model`` and time it; returns ``(proba, figures)``.

    Example::

        proba, figures = measure_inference(run, dataset.inputs)
        figures["batched_samples_per_s"], figures["single_latency_ms_p50"]
    """
    model = run.model
    batch_size = int(run.config.inference.batch_size)
    n = len(inputs)
    started = time.perf_counter()
    chunks = [model.predict_proba(inputs[i : i + batch_size]) for i in range(0, n, batch_size)]
    batched_s = time.perf_counter() - started
    proba = np.concatenate(chunks) if chunks else np.zeros((0, len(run.labels)))

    latencies = []
    if n:
        for i in range(min(n, WARMUP)):  # first calls allocate and wake threads: not latency
            model.predict_proba(inputs[i : i + 1])
        budget_end = time.perf_counter() + SINGLE_BUDGET_S
        for i in range(min(n, SINGLE_MAX)):
            t0 = time.perf_counter()
            model.predict_proba(inputs[i : i + 1])
            latencies.append(time.perf_counter() - t0)
            if time.perf_counter() > budget_end:
                break
    lat = np.array(latencies) * 1000.0
    figures = {
        "batch_size": batch_size,
        "batched_samples_per_s": round(n / batched_s, 1) if batched_s > 0 else None,
        "batched_seconds": round(batched_s, 4),
        "single_samples_per_s": round(float(len(lat) / (lat.sum() / 1000.0)), 1)
        if len(lat)
        else None,
        "single_latency_ms_p50": round(float(np.percentile(lat, 50)), 3) if len(lat) else None,
        "single_latency_ms_p95": round(float(np.percentile(lat, 95)), 3) if len(lat) else None,
        "single_measured": len(lat),
        "model_size_bytes": model_size_bytes(run.path),
        "peak_rss_mb": peak_rss_mb(),
        "threads": torch_threads(),
        # other processes competing for the cores slow everything down, batch size 1 most
        "load_average_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "cpu_count": os.cpu_count(),
    }
    return proba, figures


def busy_machine_note(figures: dict[str, Any]) -> str | None:
    """A warning when the machine was busier than its cores while the figures were measured."""
    load, cores = figures.get("load_average_1m"), figures.get("cpu_count")
    if load is None or not cores or load <= cores:
        return None
    return (
        f"the machine was busy while measuring (load average {load:.1f} on {cores} cores): "
        "speed figures are pessimistic; re-measure on an idle machine"
    )


def model_size_bytes(run_dir: str | Path) -> int:
    """Bytes on disk of a run's model files (weights, vocabulary, tokenizer), not its records."""
    root = Path(run_dir)
    total = 0
    for path in root.rglob("*"):
        top = path.relative_to(root).parts[0]
        if path.is_file() and top not in RUN_BOOKKEEPING and top not in RUN_EXTRAS:
            total += path.stat().st_size
    return total


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (model, data and inference included)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes
    return round(peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024, 1)


def torch_threads() -> int | None:
    """torch's intra-op threads, when torch is loaded (a scikit-learn-only run never loads it)."""
    torch = sys.modules.get("torch")
    return int(torch.get_num_threads()) if torch is not None else None


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that decide a run's numbers."""
    versions = {}
    for package in REPORTED_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions


def environment() -> dict[str, Any]:
    """The machine and package versions of *this* process (where figures are measured)."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch_threads(),
        "packages": package_versions(),
    }
