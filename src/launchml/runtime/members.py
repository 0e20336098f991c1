"""The members of a bundle: one ONNX graph (or a scikit-learn pipeline) each, with its inputs.

A member turns prepared inputs (cleaned texts, or ``uint8 (N, H, W, C)`` images) into class
scores: ``logits`` for the torch models' graphs, ``probabilities`` for a scikit-learn model. How
its graph reads its inputs is named in ``bundle.json`` (``inputs``):

- ``ids_mask``: ``input_ids`` and ``attention_mask`` (int64 ``(B, T)``), a transformer;
- ``ids_lengths``: ``ids`` (int64 ``(B, T)``) and ``lengths`` (int64 ``(B,)``), the embedding
  models (lstm, textcnn, mlp over words);
- ``images``: float32 ``(B, C, H, W)`` in [0, 1] (cnn, mlp over pixels);
- ``texts``: a string tensor ``(B, 1)`` (a TF-IDF pipeline converted by skl2onnx).

Token sequences are sorted by length and batched so that a batch pads only to its own longest
text, exactly as launchml's torch prediction does (:mod:`launchml.inference.batching`).
Imports only numpy, onnxruntime and tokenizers (scikit-learn/skops for a ``skops`` member).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from launchml.errors import DamagedArtifactError
from launchml.inference.text import TextTokenizer, WordPieceTokenizer, WordTokenizer

#: a transformer's prediction batches hold at most this many texts (as in launchml.models)
MAX_TOKEN_BATCH = 256


def session_options(threads: int | None) -> Any:
    """ONNX Runtime options: ``threads`` intra-op threads (None: ONNX Runtime's default, one
    per core), one inter-op thread (these graphs are sequential)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: no "removing initializer" chatter
    return options


class OnnxMember:
    """One ONNX graph with the tokenizer (text) or image layout it reads."""

    def __init__(self, directory: Path, spec: dict[str, Any], batch_size: int, threads: int | None):
        import onnxruntime as ort

        self.spec = spec
        self.inputs = spec["inputs"]
        self.output = spec.get("output", "logits")
        self.batch_size = batch_size
        path = directory / spec["file"]
        try:
            self.session = ort.InferenceSession(
                str(path), session_options(threads), providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own exception types
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DamagedArtifactError(f"{path}: not a loadable ONNX graph ({first})") from None
        # an input the graph does not read (the text MLP ignores lengths) was pruned from it
        self.feeds = {i.name for i in self.session.get_inputs()}
        self.tokenizer = read_tokenizer(directory, spec.get("tokenizer"))

    def scores(self, prepared: list[str] | np.ndarray) -> np.ndarray:
        if self.inputs == "images":
            return self._images(np.asarray(prepared))
        if self.inputs == "texts":
            return self._texts([str(t) for t in prepared])
        assert self.tokenizer is not None, "a token graph has a tokenizer"
        return self._tokens(self.tokenizer.encode([str(t) for t in prepared]))

    def _run(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        used = {name: value for name, value in feeds.items() if name in self.feeds}
        return np.asarray(self.session.run(None, used)[0])

    def _images(self, images: np.ndarray) -> np.ndarray:
        chunks = []
        for start in range(0, len(images), self.batch_size):
            part = images[start : start + self.batch_size]
            # as ImageInputs: uint8 NHWC -> float32 NCHW / 255 (the same float32 division)
            x = np.ascontiguousarray(part.transpose(0, 3, 1, 2)).astype(np.float32) / np.float32(
                255
            )
            chunks.append(self._run({"images": x}))
        return np.concatenate(chunks) if chunks else np.zeros((0, 0), dtype=np.float32)

    def _texts(self, texts: list[str]) -> np.ndarray:
        chunks = []
        for start in range(0, len(texts), self.batch_size):
            part = np.array(texts[start : start + self.batch_size], dtype=object).reshape(-1, 1)
            chunks.append(self._run({"texts": part}))
        return np.concatenate(chunks) if chunks else np.zeros((0, 0), dtype=np.float32)

    def _tokens(self, sequences: list[list[int]]) -> np.ndarray:
        assert self.tokenizer is not None
        order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))
        size = (
            min(self.batch_size, MAX_TOKEN_BATCH) if self.inputs == "ids_mask" else self.batch_size
        )
        out: np.ndarray | None = None
        for start in range(0, len(order), size):
            rows = order[start : start + size]
            lengths = np.array([len(sequences[i]) for i in rows], dtype=np.int64)
            ids = np.full((len(rows), int(lengths.max())), self.tokenizer.pad_id, dtype=np.int64)
            for r, i in enumerate(rows):
                ids[r, : lengths[r]] = sequences[i]
            if self.inputs == "ids_mask":
                mask = (np.arange(ids.shape[1])[None, :] < lengths[:, None]).astype(np.int64)
                scores = self._run({"input_ids": ids, "attention_mask": mask})
            else:
                scores = self._run({"ids": ids, "lengths": lengths})
            if out is None:
                out = np.empty((len(sequences), scores.shape[1]), dtype=scores.dtype)
            out[rows] = scores
        return out if out is not None else np.zeros((0, 0), dtype=np.float32)


class SkopsMember:
    """A scikit-learn pipeline saved with skops (the TF-IDF model when its ONNX conversion is
    not used); needs scikit-learn and skops installed, for this model type only."""

    def __init__(self, directory: Path, spec: dict[str, Any]):
        try:
            import skops.io as sio
        except ImportError:
            raise DamagedArtifactError(
                f"{directory}: this bundle's {spec.get('type')} model is served from skops; "
                "install scikit-learn and skops to run it (pip install scikit-learn skops)"
            ) from None
        self.spec = spec
        self.output = "probabilities"
        path = directory / spec["file"]
        trusted = sio.get_untrusted_types(file=path)
        foreign = [
            t for t in trusted if not t.startswith(("sklearn.", "numpy.", "scipy.", "builtins."))
        ]
        if foreign:
            raise DamagedArtifactError(f"{path}: refusing to load unexpected types {foreign}")
        self.pipeline = sio.load(path, trusted=trusted)

    def scores(self, prepared: list[str] | np.ndarray) -> np.ndarray:
        return np.asarray(self.pipeline.predict_proba([str(t) for t in prepared]), dtype=np.float64)


def read_tokenizer(directory: Path, spec: dict[str, Any] | None) -> TextTokenizer | None:
    """The tokenizer a member's ``bundle.json`` entry names (``None`` for images and texts)."""
    if not spec:
        return None
    path = directory / spec["file"]
    if spec["kind"] == "word":
        from launchml.data.vocab import WordVocab

        return WordTokenizer(WordVocab.load(path), int(spec["max_length"]))
    if spec["kind"] == "wordpiece":
        try:
            return WordPieceTokenizer.from_file(
                path,
                int(spec["max_length"]),
                bool(spec["special_tokens"]),
                spec.get("pad_id"),
                spec.get("unk_id"),
            )
        except Exception as exc:  # tokenizers raises its own exception type
            raise DamagedArtifactError(f"{path}: not a readable tokenizer.json ({exc})") from None
    raise DamagedArtifactError(f"{directory}: unknown tokenizer kind {spec['kind']!r}")


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DamagedArtifactError(f"{path}: not readable JSON ({exc})") from None
    if not isinstance(data, dict):
        raise DamagedArtifactError(f"{path}: expected a JSON object")
    return data


__all__ = ["MAX_TOKEN_BATCH", "OnnxMember", "SkopsMember", "read_json", "session_options"]
