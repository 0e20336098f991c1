"""Each member of a run into the bundle directory: its graph, its tokenizer, its entry in
``bundle.json``; the torch model's own scores for the guard; int8 quantisation of the graphs.

A single model's files are ``model.onnx`` and ``tokenizer.json`` (or ``vocab.json``); an
ensemble's members are ``member0.onnx``, ``member0.tokenizer.json``, ... .
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from launchml.exporter.graphs import (
    export_member,
    optimize_transformer,
    quantize_int8,
    quantize_int8_static,
)
from launchml.exporter.guard import GuardData
from launchml.exporter.sklearn_model import export_tfidf

#: examples the TF-IDF conversion is first tried on (the guard then checks them all)
TFIDF_SAMPLE = 64


def export_members(
    members: list[Any],
    sources: list[Path],
    work: Path,
    guard: GuardData,
    optimize: bool,
    notes: list[str],
    say: Callable[[str], None],
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Write every member's files into ``work``; return their ``bundle.json`` entries and the
    transformer optimiser's fused-operator counts (empty when it did not run)."""
    entries: list[dict[str, Any]] = []
    fused: dict[str, int] = {}
    for index, (member, source) in enumerate(zip(members, sources, strict=True)):
        stem = "model" if len(members) == 1 else f"member{index}"
        name = type(member).name
        say(f"exporting {stem} ({name})")
        if name == "tfidf_logreg":
            sample = [str(t) for t in guard.inputs[:TFIDF_SAMPLE]]
            entry, note = export_tfidf(member, source, work, stem, sample)
            if index == 0:
                notes.append(f"tfidf_logreg {note}")
            entries.append(entry)
            continue
        graph = work / f"{stem}.onnx"
        if name == "transformer" and optimize:
            raw = work / f"{stem}.raw.onnx"
            entry = export_member(member, raw)
            for op, count in optimize_transformer(raw, graph, member.module_).items():
                fused[op] = fused.get(op, 0) + count
            raw.unlink()
        else:
            entry = export_member(member, graph)
        entry["file"] = graph.name
        tokenizer = _write_tokenizer(member, work, stem)
        if tokenizer is not None:
            entry["tokenizer"] = tokenizer
        entries.append(entry)
    return entries, fused


def _write_tokenizer(member: Any, work: Path, stem: str) -> dict[str, Any] | None:
    """The member's tokenizer file and how the runtime reads it (None for image models)."""
    name = type(member).name
    if name == "transformer":
        file = "tokenizer.json" if stem == "model" else f"{stem}.tokenizer.json"
        member.tokenizer_.backend_tokenizer.save(str(work / file))
        pad = member.tokenizer_.pad_token_id
        return {
            "kind": "wordpiece",
            "file": file,
            "max_length": int(member.options.max_length),
            "special_tokens": True,
            "pad_id": 0 if pad is None else int(pad),
            "unk_id": member.tokenizer_.unk_token_id,
        }
    if member.spec_["kind"] != "text":
        return None
    if member.tokenizer_name() == "word":
        file = "vocab.json" if stem == "model" else f"{stem}.vocab.json"
        member.vocab_.save(work / file)
        return {"kind": "word", "file": file, "max_length": int(member.max_length())}
    file = "tokenizer.json" if stem == "model" else f"{stem}.tokenizer.json"
    member.tokenizer_.backend_tokenizer.save(str(work / file))
    return {
        "kind": "wordpiece",
        "file": file,
        "max_length": int(member.max_length()),
        "special_tokens": False,
        "pad_id": int(member._pad_id()),
        "unk_id": member.tokenizer_.unk_token_id,
    }


def torch_scores(members: list[Any], inputs: list[str] | np.ndarray) -> list[np.ndarray]:
    """Each member's scores from torch, in float32: logits (probabilities for TF-IDF)."""
    from launchml.exporter.graphs import _fp32
    from launchml.inference.batching import predict_logits

    scores = []
    for member in members:
        name = type(member).name
        if name == "tfidf_logreg":
            scores.append(member.predict_proba(inputs))
        elif name == "transformer":
            with _fp32(member.module_):
                scores.append(member.logits(list(inputs)).numpy())
        else:
            batch = member.inference_options.batch_size
            scores.append(predict_logits(member.module_, member._inputs(inputs), batch).numpy())
    return scores


def quantize_members(
    entries: list[dict[str, Any]], work: Path, guard: GuardData, say: Callable[[str], None]
) -> bool:
    """Replace every ONNX graph of a torch model by its int8 version; False when there was none
    (a TF-IDF model: nothing to quantise). Image graphs are quantised statically (activation
    ranges calibrated on training images): dynamic int8 convolutions are slower than fp32 ones
    in ONNX Runtime (docs/BENCHMARKS.md, "int8 for image models")."""
    done = False
    for entry in entries:
        if entry["runtime"] != "onnx" or entry["inputs"] == "texts":
            continue
        graph = work / entry["file"]
        quantized = graph.with_name(graph.stem + ".int8.onnx")
        if entry["inputs"] == "images" and guard.calibration is not None:
            say(f"quantising {entry['file']} to int8 (static, {len(guard.calibration)} images)")
            quantize_int8_static(graph, quantized, guard.calibration)
        else:
            say(f"quantising {entry['file']} to int8")
            quantize_int8(graph, quantized)
        shutil.move(quantized, graph)
        done = True
    return done


__all__ = ["export_members", "quantize_members", "torch_scores"]
