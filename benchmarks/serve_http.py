"""Serving over HTTP on loopback: ``launchml serve`` against a hand-written peer, side by side.

Each server runs as its own process on 127.0.0.1 (a free port); this process is the client
(benchmarks/serve_load.py: async httpx, every loop bounded in requests and time). For each:

- cold start: from starting the process to the first 200 answer to a prediction;
- latency at 50 requests/s: open loop (latency counted from each request's scheduled time),
  p50 / p99;
- the highest request rate held for ``--hold`` seconds (60) with 0 errors: a closed loop of 32
  clients estimates the capacity, then open-loop runs at a rate start at 0.9x of it and move up
  (x1.1) or down (x0.85); "held" = every request answered 200 within the run and p99 < 1 s
  (a queue that keeps growing fails it);
- resident memory (VmRSS, and the peak VmHWM) after the load.

Servers: ``launchml`` (dynamic batching, defaults), ``launchml-nobatch`` (``--max-batch-size
1``: the same server without batching), ``launchml-1thread`` (``--threads 1``: one torch
thread, which holds up better when other jobs share the cores), ``launchml-bundle``
(``--bundle``: an exported bundle), ``peer`` (benchmarks/serve_peer.py: FastAPI + a
transformers pipeline, one text per request, on the run's hf_model/). Texts: Banking77's test
set, one per request, in turn.

    python benchmarks/serve_http.py --run RUN [--bundle BUNDLE] [--hold 60] [--servers ...]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from bench_common import SHARED_DATA, load_average
from serve_load import closed_loop, open_loop

from launchml.profiling import cpu_name

HERE = Path(__file__).resolve().parent
LOW_RATE = 50.0


@dataclass
class Server:
    name: str
    command: list[str]
    path: str
    body_key: str  # "texts" (a list of one) for launchml, "text" for the peer

    def bodies(self, texts: list[str]) -> list[dict[str, Any]]:
        if self.body_key == "texts":
            return [{"texts": [t]} for t in texts]
        return [{"text": t} for t in texts]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def servers(run: Path, bundle: Path | None) -> dict[str, Server]:
    """The servers, with ``PORT`` standing for the port in their command lines."""
    launchml = [sys.executable, "-m", "launchml.cli", "serve", "--port", "PORT", "--name", "m"]
    found = {
        "launchml": Server("launchml", [*launchml, str(run)], "/v1/models/m/predict", "texts"),
        "launchml-nobatch": Server(
            "launchml-nobatch",
            [*launchml, str(run), "--max-batch-size", "1"],
            "/v1/models/m/predict",
            "texts",
        ),
        "launchml-1thread": Server(
            "launchml-1thread",
            [*launchml, str(run), "--threads", "1"],
            "/v1/models/m/predict",
            "texts",
        ),
        "peer": Server(
            "peer",
            [sys.executable, str(HERE / "serve_peer.py"), str(run / "hf_model"), "PORT"],
            "/predict",
            "text",
        ),
    }
    if bundle is not None:
        found["launchml-bundle"] = Server(
            "launchml-bundle", [*launchml, str(bundle)], "/v1/models/m/predict", "texts"
        )
    return found


def memory_mb(pid: int) -> dict[str, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = round(int(value.split()[0]) / 1024, 1)
    return fields


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its threads so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def with_cpu(pid: int, run: Any) -> dict[str, Any]:
    """Run ``run()`` (a load run); add the server's CPU milliseconds per answered request (a
    figure other jobs on the machine disturb less than latency or rate)."""
    before = cpu_seconds(pid)
    summary: dict[str, Any] = run()
    used = cpu_seconds(pid) - before
    summary["server_cpu_ms_per_ok"] = (
        round(1000 * used / summary["ok"], 2) if summary["ok"] else None
    )
    return summary


def start(server: Server, url: str, body: dict[str, Any]) -> tuple[subprocess.Popen[bytes], float]:
    """Start the server; return it and the seconds to its first 200 answer."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "LAUNCHML_ACCESS_LOG": "false"}
    started = time.perf_counter()
    process = subprocess.Popen(
        server.command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = started + 300
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {process.returncode}")
        try:
            if httpx.post(url, json=body, timeout=10).status_code == 200:
                return process, time.perf_counter() - started
        except httpx.TransportError:
            pass
        time.sleep(0.25)  # (polling faster steals CPU from a loading server on a busy machine)
    process.kill()
    raise RuntimeError(f"{server.name} gave no answer within 300 s")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def drain(url: str, body: dict[str, Any], seconds: float = 180) -> None:
    """Wait until the server answers at once again (a backlog from the last run is gone)."""
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        with contextlib.suppress(httpx.TransportError):
            httpx.post(url, json=body, timeout=60)
        if time.perf_counter() - started < 0.5:
            return


def held(url: str, bodies: list[dict[str, Any]], rate: float, seconds: float) -> dict[str, Any]:
    result = asyncio.run(
        open_loop(url, bodies, rate=rate, requests=int(rate * seconds), time_limit=seconds + 30)
    )
    summary = result.summary()
    p99 = summary["p99_ms"]
    summary["held"] = result.errors == 0 and p99 is not None and p99 < 1000
    return summary


def sustained_rate(
    url: str, bodies: list[dict[str, Any]], capacity: float, seconds: float, max_tries: int = 3
) -> tuple[float | None, list[dict[str, Any]]]:
    """The highest rate held for ``seconds``: start at 0.9x the capacity, move by 10-15%."""
    tried: list[dict[str, Any]] = []
    rate = max(1.0, round(0.9 * capacity))
    best = None
    ups = downs = 0
    while ups <= max_tries and downs <= max_tries:
        drain(url, bodies[0])
        summary = held(url, bodies, rate, seconds)
        tried.append(summary)
        print(f"    {rate:.0f}/s for {seconds:.0f} s: {summary}", flush=True)
        if summary["held"]:
            best = rate if best is None else max(best, rate)
            if downs:  # came down to a rate that holds: the next one up failed already
                break
            ups += 1
            rate = round(rate * 1.1)
        else:
            if best is not None:
                break
            downs += 1
            rate = max(1.0, round(rate * 0.85))
    return best, tried


def measure(
    server: Server, texts: list[str], hold: float, low_seconds: float, max_tries: int
) -> dict[str, Any]:
    port = free_port()
    server.command = [str(port) if c == "PORT" else c for c in server.command]
    url = f"http://127.0.0.1:{port}{server.path}"
    bodies = server.bodies(texts)
    process, cold = start(server, url, bodies[0])
    try:
        print(f"  {server.name}: first answer after {cold:.1f} s", flush=True)
        asyncio.run(closed_loop(url, bodies, concurrency=4, requests=200, time_limit=60))  # warm-up
        low = with_cpu(
            process.pid,
            lambda: asyncio.run(
                open_loop(url, bodies, LOW_RATE, int(LOW_RATE * low_seconds), low_seconds + 30)
            ).summary(),
        )
        print(f"  {server.name} at {LOW_RATE:.0f}/s: {low}", flush=True)
        drain(url, bodies[0])
        capacity = with_cpu(
            process.pid,
            lambda: asyncio.run(
                closed_loop(url, bodies, concurrency=32, requests=100_000, time_limit=15)
            ).summary(),
        )
        print(f"  {server.name} closed loop (32 clients): {capacity}", flush=True)
        best, tried = sustained_rate(
            url, bodies, capacity["achieved_rps"] or 1.0, hold, max_tries=max_tries
        )
        memory = memory_mb(process.pid)
    finally:
        stop(process)
    return {
        "server": server.name,
        "cold_start_s": round(cold, 2),
        "at_50_rps": low,
        "closed_loop_32": capacity,
        "sustained_rps": best,
        "sustained_runs": tried,
        "memory_mb": memory,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True, help="a transformer run (cls pooling)")
    parser.add_argument("--bundle", type=Path, help="an exported bundle of the same run")
    parser.add_argument("--hold", type=float, default=60.0, help="seconds a rate must hold")
    parser.add_argument("--low-seconds", type=float, default=30.0, help="seconds at 50/s")
    parser.add_argument("--servers", nargs="*", help="a subset, in this order")
    parser.add_argument("--max-tries", type=int, default=3, help="rate steps up or down")
    parser.add_argument("--out", type=Path, help="append the JSON lines here")
    args = parser.parse_args()

    with (SHARED_DATA / "banking77" / "test.csv").open(encoding="utf-8") as handle:
        texts = [row["text"] for row in csv.DictReader(handle)]
    available = servers(args.run.resolve(), args.bundle.resolve() if args.bundle else None)
    names = args.servers or list(available)
    results = []
    for name in names:
        server = available[name]
        print(f"{name}: {' '.join(server.command)}", flush=True)
        load_before = load_average()
        result = measure(server, texts, args.hold, args.low_seconds, args.max_tries)
        result.update(
            benchmark="serve_http",
            date=dt.date.today().isoformat(),
            machine=f"{cpu_name()}, {os.cpu_count()} cores",
            run=str(args.run),
            load_average_before=load_before,
            load_average_after=load_average(),
        )
        results.append(result)
        line = json.dumps(result)
        print(line, flush=True)
        if args.out is not None:
            with args.out.open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")
    print("\nserver            cold s  p50 ms@50  p99 ms@50  sustained rps  RSS MB (peak)")
    for r in results:
        low = r["at_50_rps"]
        print(
            f"{r['server']:<17} {r['cold_start_s']:>6}  {low['p50_ms']:>9}  {low['p99_ms']:>9}  "
            f"{r['sustained_rps']!s:>13}  {r['memory_mb'].get('VmRSS')} "
            f"({r['memory_mb'].get('VmHWM')})"
        )


if __name__ == "__main__":
    main()
