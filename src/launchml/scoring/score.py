"""Scoring a file with a model, chunk by chunk, in one process or N.

The model is anything that loads as a :class:`launchml.inference.Predictor`: a training run
(:meth:`launchml.runs.Run.load`) or an exported bundle (``bundle.json``, loaded by
:mod:`launchml.runtime` when it is installed). Chunks are read, scored and handed on in input
order; with ``nproc`` > 1 each of N worker processes loads the model once and scores whole chunks,
at most two chunks per worker are in flight, so memory stays bounded however long the file is.

Example::

    facts = model_facts(Path("runs/banking"))
    source = open_source(Path("big.csv"), trained_column=facts.text_column, kind=facts.kind)
    for table in scored_tables(Path("runs/banking"), source, facts, top=3):
        ...  # {"row": [...], "text": [...], "prediction": [...], "probability": [...], ...}
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from launchml.errors import InvalidConfigError, InvalidInputError, NotFoundError
from launchml.inference import Predictor
from launchml.scoring.readers import Chunk, Source
from launchml.scoring.writers import prediction_columns

BUNDLE_FILE = "bundle.json"
RUN_FILE = "meta.json"


@dataclass(frozen=True)
class ModelFacts:
    """What scoring needs to know before loading the model: its labels, the kind of input, and
    the column it was trained on (None when unknown)."""

    labels: list[str]
    kind: str
    text_column: str | None


def model_facts(path: Path) -> ModelFacts:
    """Read a run's or bundle's labels, kind and training column from its small JSON/YAML files
    (the parent of N scoring processes never loads the model itself)."""
    if (path / BUNDLE_FILE).is_file():
        spec = _json(path / BUNDLE_FILE)
        column = spec.get("text_column")  # bundles exported before it was recorded: None
        kind = str(spec.get("kind", "text"))
        return ModelFacts(list(spec["labels"]), kind, column if isinstance(column, str) else None)
    if not (path / RUN_FILE).is_file():
        raise NotFoundError(
            f"{path}: neither a finished launchml run (no {RUN_FILE}) nor an exported bundle "
            f"(no {BUNDLE_FILE})"
        )
    import yaml

    labels_map = _json(path / "labels.json")
    config = yaml.safe_load((path / "config.yaml").read_text(encoding="utf-8")) or {}
    kind = "image" if _json(path / RUN_FILE).get("data_kind") == "image" else "text"
    column = (config.get("data") or {}).get("text_column")
    return ModelFacts([labels_map[str(i)] for i in range(len(labels_map))], kind, column)


def load_predictor(path: Path, device: str | None = None, threads: int | None = None) -> Predictor:
    """A run (torch; ``device`` as ``Run.load``) or an exported bundle (ONNX Runtime,
    ``threads`` intra-op threads) as a :class:`~launchml.inference.Predictor`."""
    if (path / BUNDLE_FILE).is_file():
        try:
            runtime = importlib.import_module("launchml.runtime")
        except ModuleNotFoundError as exc:
            if exc.name not in ("launchml.runtime", "onnxruntime"):
                raise
            raise InvalidConfigError(
                f"{path}: an exported bundle, but the bundle runtime is not installed "
                f"({exc.name} is missing); score with the training run instead"
            ) from None
        bundle: Predictor = runtime.load_bundle(path, threads=threads)
        return bundle
    from launchml.runs import Run  # torch comes with it: imported only for run directories

    return Run.load(path, device=device)


def scored_tables(
    model: Path,
    source: Source,
    facts: ModelFacts,
    top: int = 3,
    chunk_rows: int = 10_000,
    nproc: int = 1,
    device: str | None = None,
    progress: Any = None,
) -> Iterator[dict[str, list[Any]]]:
    """Score ``source`` chunk by chunk; yield each chunk's output columns, in input order
    (``progress(position)`` first, with how far into the file that chunk ends)."""
    if top < 1:
        raise InvalidInputError(f"--top {top}: expected how many labels to give, 1 or more")
    if nproc < 1:
        raise InvalidInputError(f"--nproc {nproc}: expected the number of processes, 1 or more")
    top = min(top, len(facts.labels))
    chunks = source.chunks(chunk_rows)
    if nproc == 1:
        predictor = load_predictor(model, device)
        for chunk in chunks:
            yield _table(chunk, source, facts, top, score_texts(predictor, _texts(chunk), top))
            if progress is not None:
                progress(chunk.position)
        return
    import multiprocessing

    threads = max(1, (os.cpu_count() or 1) // nproc)
    pool = ProcessPoolExecutor(
        nproc,
        mp_context=multiprocessing.get_context("spawn"),  # no fork of a process holding torch
        initializer=_start_worker,
        initargs=(str(model), device, threads),
    )
    pending: deque[tuple[Chunk, Future[tuple[np.ndarray, np.ndarray]]]] = deque()
    try:
        for chunk in chunks:
            pending.append((chunk, pool.submit(_score_in_worker, _texts(chunk), top)))
            if len(pending) >= 2 * nproc:  # bounded: the reader waits for the scorers
                done, future = pending.popleft()
                yield _table(done, source, facts, top, future.result())
                if progress is not None:
                    progress(done.position)
        while pending:
            done, future = pending.popleft()
            yield _table(done, source, facts, top, future.result())
            if progress is not None:
                progress(done.position)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def score_texts(predictor: Predictor, texts: list[str], top: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``top`` labels' indices ``(n, top)`` and probabilities of each text, best first."""
    if not texts:
        return np.zeros((0, top), dtype=np.int32), np.zeros((0, top))
    proba = np.atleast_2d(np.asarray(predictor.predict_proba(texts), dtype=np.float64))
    order = np.argsort(-proba, axis=1, kind="stable")[:, :top]
    return order.astype(np.int32), np.take_along_axis(proba, order, axis=1)


def _texts(chunk: Chunk) -> list[str]:
    """The chunk's scorable texts (rows without one are left out and marked in ``_table``)."""
    return [t for t in chunk.texts if t is not None and t.strip()]


def _table(
    chunk: Chunk,
    source: Source,
    facts: ModelFacts,
    top: int,
    scores: tuple[np.ndarray, np.ndarray],
) -> dict[str, list[Any]]:
    index, proba = scores
    table: dict[str, list[Any]] = {"row": chunk.rows, source.column: chunk.texts}
    for name, values in chunk.kept.items():
        table[name] = [None if v is None else str(v) for v in values]
    columns = prediction_columns(top)
    for name in columns:
        table[name] = []
    scored = iter(range(len(index)))
    for text in chunk.texts:
        position = next(scored) if text is not None and text.strip() else None
        for k in range(top):
            label, probability = columns[2 * k], columns[2 * k + 1]
            if position is None:
                table[label].append(None)
                table[probability].append(None)
            else:
                table[label].append(facts.labels[int(index[position, k])])
                table[probability].append(float(proba[position, k]))
    return table


# --------------------------------------------------------------------------------------------
# A scoring process: the model loaded once (by the pool's initializer), chunks on request.

_WORKER: list[Predictor] = []


def _start_worker(model: str, device: str | None, threads: int) -> None:
    os.environ["OMP_NUM_THREADS"] = str(threads)  # before torch starts its thread pool
    _WORKER.append(load_predictor(Path(model), device, threads))
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)


def _score_in_worker(texts: list[str], top: int) -> tuple[np.ndarray, np.ndarray]:
    return score_texts(_WORKER[0], texts, top)


def _json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise NotFoundError(f"{path}: not found")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


__all__ = ["ModelFacts", "load_predictor", "model_facts", "score_texts", "scored_tables"]
