"""The sentence encoder the assistant shares between intents, out-of-scope detection and FAQs.

A thin adapter over the inference layer's :class:`launchml.inference.encoder.SentenceEncoder`
(texts in, L2-normalised mean-pooled vectors out) that adds what training needs: the on-disk
cache of encoded texts (keyed by model files and token ids, as the ``transformer`` model caches
its frozen features), saving, and the check that a frozen-body intent classifier reads exactly
these vectors (:meth:`SentenceEncoder.same_features_as`), so one vector per message serves all.

Example::

    encoder = SentenceEncoder.load("minilm")
    vectors = encoder.encode(["where is my parcel", "refund please"])   # (2, 384), unit rows
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from launchml.inference.encoder import SentenceEncoder as Encoder
from launchml.inference.encoder import quiet_transformers, resolve_pretrained
from launchml.models.hf_encoder import cache_key, default_cache_dir, model_identity

MAX_LENGTH = 128
CACHE_SETTINGS = {"pooling": "mean", "precision": "fp32", "normalize": True}


class SentenceEncoder:
    """Texts -> unit vectors, through one loaded :class:`launchml.inference.encoder.
    SentenceEncoder` (which may be the very module of a run's classifier)."""

    def __init__(self, encoder: Encoder, source: Path, max_length: int = MAX_LENGTH) -> None:
        self.encoder = encoder.eval()
        self.source = Path(source)
        self.max_length = max_length
        self._identity: str | None = None

    @classmethod
    def load(cls, name: str, max_length: int = MAX_LENGTH) -> SentenceEncoder:
        """``minilm``, ``mpnet`` or a Hugging Face model directory (nothing is downloaded)."""
        source = resolve_pretrained(name, "encoder")
        return cls(Encoder.load(source, "mean", True, max_length), source, max_length)

    @classmethod
    def of_run(cls, run: Any, source: Path) -> SentenceEncoder:
        """The encoder inside a loaded frozen ``transformer`` run (no second copy in memory);
        ``source`` is the directory its weights were loaded from."""
        return cls(run.encoder(), source, run.model.options.max_length)

    @property
    def dim(self) -> int:
        return self.encoder.dim

    def encode(self, texts: list[str], cache_dir: Path | None = None) -> np.ndarray:
        """``(len(texts), dim)`` float32 unit vectors, in input order; with ``cache_dir`` kept
        on disk (``cache_dir/features/``)."""
        assert self.encoder.tokenizer is not None, "an encoder with a tokenizer"
        ids = self.encoder.tokenizer.encode(list(texts))
        if not ids:
            return np.zeros((0, self.dim), dtype=np.float32)
        if cache_dir is None:
            return self.encoder.encode_ids(ids).numpy().astype(np.float32, copy=False)
        if self._identity is None:
            self._identity = model_identity(self.source)
        path = (
            cache_dir / "features" / f"{cache_key(self._identity, CACHE_SETTINGS, ids)}.safetensors"
        )
        if path.is_file():
            return load_file(str(path))["features"].numpy()
        features = self.encoder.encode_ids(ids)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
        save_file({"features": features.contiguous()}, str(tmp))
        os.replace(tmp, path)
        return features.numpy().astype(np.float32, copy=False)

    def save(self, directory: Path) -> None:
        """Write the encoder as a plain Hugging Face directory (weights + tokenizer)."""
        from transformers import AutoTokenizer

        with quiet_transformers():
            self.encoder.body.save_pretrained(str(directory), safe_serialization=True)  # type: ignore[operator]
            tokenizer = AutoTokenizer.from_pretrained(str(self.source), local_files_only=True)
            tokenizer.save_pretrained(str(directory))

    def same_features_as(self, model: Any) -> bool:
        """Whether ``model`` (a fitted ``transformer`` model) classifies exactly these vectors:
        a frozen body, mean pooling, normalised, the same length limit and the same weights."""
        options = getattr(model, "options", None)
        spec = getattr(model, "spec_", None)
        if options is None or spec is None or spec.get("type") != "transformer":
            return False
        if spec.get("pooling") != "mean" or options.body != "frozen" or not options.normalize:
            return False
        if options.max_length != self.max_length or options.precision != "fp32":
            return False
        ours = self.encoder.body.state_dict()
        theirs = model.module_.encoder.body.state_dict()
        keys = list(ours)
        return keys == list(theirs) and all(
            torch.equal(ours[k], theirs[k]) for k in keys[:4] + keys[-4:]
        )


__all__ = ["MAX_LENGTH", "SentenceEncoder", "default_cache_dir"]
