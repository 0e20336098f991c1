"""Cold start and resident memory of ``launchml serve``: a training run against its exported
bundle (the torch-free runtime), side by side, alternating, ``--repeat`` times each.

Cold start = from starting ``launchml serve ARTIFACT`` to the first 200 answer to a prediction
(imports, loading, the first model call). Memory = VmRSS and its peak VmHWM of the server
process after 50 more predictions.

    python benchmarks/serve_coldstart.py RUN [BUNDLE ...] [--repeat 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
from pathlib import Path

import httpx
from bench_common import load_average
from serve_http import Server, free_port, memory_mb, start, stop

from launchml.profiling import cpu_name

TEXT = "I still have not received my new card"


def once(artifact: Path) -> dict[str, float]:
    port = free_port()
    command = [sys.executable, "-m", "launchml.cli", "serve", str(artifact)]
    server = Server(artifact.name, [*command, "--port", str(port), "--name", "m"], "", "texts")
    url = f"http://127.0.0.1:{port}/v1/models/m/predict"
    process, cold = start(server, url, {"texts": [TEXT]})
    try:
        for _ in range(50):
            httpx.post(url, json={"texts": [TEXT]}, timeout=60).raise_for_status()
        memory = memory_mb(process.pid)
    finally:
        stop(process)
    return {"cold_start_s": cold, "rss_mb": memory["VmRSS"], "peak_rss_mb": memory["VmHWM"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifacts", type=Path, nargs="+", help="runs and bundles to serve")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    samples: dict[Path, list[dict[str, float]]] = {a: [] for a in args.artifacts}
    load_before = load_average()
    for i in range(args.repeat):
        for artifact in args.artifacts:  # alternate, so that a busy minute hits both
            sample = once(artifact)
            samples[artifact].append(sample)
            print(f"{i + 1}/{args.repeat} {artifact}: {sample}", flush=True)
    for artifact, runs in samples.items():
        colds = [r["cold_start_s"] for r in runs]
        print(
            json.dumps(
                {
                    "benchmark": "serve_coldstart",
                    "date": dt.date.today().isoformat(),
                    "machine": f"{cpu_name()}, {os.cpu_count()} cores",
                    "artifact": str(artifact),
                    "format": "bundle" if (artifact / "bundle.json").is_file() else "run",
                    "repeats": len(runs),
                    "cold_start_s_median": round(statistics.median(colds), 2),
                    "cold_start_s_min": round(min(colds), 2),
                    "rss_mb_median": statistics.median(r["rss_mb"] for r in runs),
                    "peak_rss_mb_median": statistics.median(r["peak_rss_mb"] for r in runs),
                    "load_average_before": load_before,
                    "load_average_after": load_average(),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
