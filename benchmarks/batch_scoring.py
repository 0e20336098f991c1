"""Batch scoring: rows/s and peak memory of ``launchml predict MODEL --input BIG --output OUT``
for files of 10k, 100k and 1M rows synthesised from Banking77's test texts, with the training
run (torch) and, with ``--bundle``, its exported ONNX bundle (ONNX Runtime), side by side.

Each size is one Parquet file of ``row_id`` + ``text`` (the 3,080 test texts drawn with
replacement, seeded), scored in a fresh process so that its peak RSS (``wait4``'s
``ru_maxrss``: the process, or with ``--nproc`` the largest of it and its workers) belongs to
that run alone. For contrast, ``--whole`` also scores each file the way a script would without
streaming: read it whole, ``Run.predict_proba`` on every text at once.

    .venv/bin/python benchmarks/batch_scoring.py --run runs/banking-mlp --sizes 10000 100000 1000000
    .venv/bin/python benchmarks/batch_scoring.py --run runs/banking-minilm --sizes 10000 --nproc 1 2
    .venv/bin/python benchmarks/batch_scoring.py --bundle int8 --sizes 10000 100000 1000000

Without ``--run`` it first trains a bag-of-words ``mlp`` on Banking77 (4 epochs) to score with.
``--bundle int8|none`` exports the run first (``launchml export``, its accuracy guard on
Banking77's test set) and scores each file with the bundle right after the run. One JSON line
per measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from bench_common import SHARED_DATA, load_average, machine

BANKING77 = SHARED_DATA / "banking77"
WHOLE = """
import sys, pandas as pd
from launchml.runs import Run
run = Run.load(sys.argv[1])
texts = pd.read_parquet(sys.argv[2])["text"].tolist()
proba = run.predict_proba(texts)
top = proba.argmax(1)
pd.DataFrame({"prediction": [run.labels[i] for i in top], "probability": proba.max(1)}).to_parquet(
    sys.argv[3]
)
"""


def synthesise(rows: int, path: Path) -> Path:
    texts = pd.read_csv(BANKING77 / "test.csv")["text"].to_numpy()
    pick = np.random.default_rng(rows).integers(0, len(texts), rows)
    frame = pd.DataFrame({"row_id": np.arange(rows), "text": texts[pick]})
    # row groups of 64k rows, as writers of big files use (a reader holds one at a time)
    frame.to_parquet(path, row_group_size=65_536)
    return path


def timed(
    command: list[str], log: Path, threads: int | None = None
) -> tuple[float, float, float | None]:
    """Wall seconds and peak RSS (MB) of one child process (and the children it waited for),
    and the seconds its own summary line reports (the scoring, without starting Python)."""
    env = {**os.environ, **({"OMP_NUM_THREADS": str(threads)} if threads else {})}
    started = time.perf_counter()
    with log.open("w") as err:
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, env=env)
        _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"failed ({child.returncode}): {' '.join(command)}\n{log.read_text()}")
    found = re.search(r"scored [\d,]+ rows.* in ([\d.]+) s", log.read_text())
    return time.perf_counter() - started, usage.ru_maxrss / 1024, found and float(found[1])


def train_mlp(out: Path) -> Path:
    config = out.with_suffix(".yaml")
    raw = {
        "data": {"train": str(BANKING77 / "train.csv"), "split": {"val": 0.0}},
        "model": {"type": "mlp", "mlp": {"hidden": [256]}},
        "train": {"epochs": 4, "batch_size": 64, "lr": 3e-3},
    }
    config.write_text(json.dumps(raw), encoding="utf-8")
    launchml = [sys.executable, "-m", "launchml"]
    command = [*launchml, "train", str(config), "--out", str(out), "-q"]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return out


def export_bundle(run: Path, quantize: str, out: Path) -> Path:
    launchml = [sys.executable, "-m", "launchml"]
    command = ["export", str(run), "--quantize", quantize, "--out", str(out),
               "--data", str(BANKING77 / "test.csv")]  # fmt: skip
    subprocess.run([*launchml, *command], check=True, stdout=subprocess.DEVNULL)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run", type=Path, default=None, help="the run (or bundle) to score with")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--nproc", type=int, nargs="+", default=[1])
    parser.add_argument("--whole", type=int, default=0, help="also unstreamed up to this size")
    parser.add_argument("--chunk-rows", type=int, default=10_000)
    parser.add_argument(
        "--bundle", choices=["int8", "none"], default=None, help="also the exported bundle"
    )
    parser.add_argument(
        "--one-thread", action="store_true", help="also 1 process with 1 torch thread"
    )
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    print(json.dumps({"machine": machine(), "command": " ".join(["python", *sys.argv])}))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        run = args.run or train_mlp(work / "mlp")
        models = [("run", run)]
        if args.bundle:
            bundle = export_bundle(run, args.bundle, work / f"bundle-{args.bundle}")
            models.append((f"onnx-{args.bundle} bundle", bundle))
        for rows in args.sizes:
            source = synthesise(rows, work / f"in-{rows}.parquet")

            def predict(model: Path, n: int, out: Path, source: Path = source) -> list[str]:
                return [sys.executable, "-m", "launchml", "predict", str(model), "--input",
                        str(source), "--output", str(out), "--nproc", str(n), "-q",
                        "--chunk-rows", str(args.chunk_rows)]  # fmt: skip

            modes: list[tuple[str, list[str], int | None]] = []
            for tag, (name, model) in enumerate(models):
                modes += [
                    (f"{name}, streamed, {n} process{'es' * (n > 1)}",
                     predict(model, n, work / f"out-{rows}-{tag}-{n}.parquet"), None)
                    for n in args.nproc
                ]  # fmt: skip
                if args.one_thread and name == "run":  # OMP_NUM_THREADS binds torch, not ORT
                    one = predict(model, 1, work / f"out-{rows}-{tag}-1t.parquet")
                    modes.append((f"{name}, streamed, 1 process, 1 thread", one, 1))
            if rows <= args.whole:
                whole = [sys.executable, "-c", WHOLE, str(run), str(source), str(work / "w.pq")]
                modes.append(("run, whole file at once", whole, None))
            for mode, command, threads in modes:
                load = load_average()
                seconds, peak, scoring = timed(command, work / "stderr.txt", threads)
                result: dict[str, Any] = {"rows": rows, "mode": mode, "run": run.name,
                                          "seconds": round(seconds, 1),
                                          "rows_per_second": round(rows / seconds),
                                          "scoring_seconds": scoring,
                                          "scoring_rows_per_second":
                                              scoring and round(rows / scoring),
                                          "peak_rss_mb": round(peak), "load": load}  # fmt: skip
                print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
