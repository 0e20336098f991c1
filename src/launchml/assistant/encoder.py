"""The sentence encoder the assistant shares between intents, out-of-scope detection and FAQs.

Every use of the encoder in the assistant goes through :class:`SentenceEncoder` (texts in,
L2-normalised mean-pooled vectors out), so that replacing it with the inference layer's shared
encoder is a change in this one file. It is built on :mod:`launchml.models.hf_encoder`, exactly
as the ``transformer`` model's frozen path computes its features, so a frozen-body intent
classifier's head can read the same vectors (:meth:`SentenceEncoder.same_features_as`).

Example::

    encoder = SentenceEncoder.load("minilm")
    vectors = encoder.encode(["where is my parcel", "refund please"])   # (2, 384), unit rows
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from launchml.data.vocab import load_wordpiece
from launchml.models.hf_encoder import (
    TransformerNet,
    cache_key,
    cached_features,
    default_cache_dir,
    encode,
    model_identity,
    quiet_transformers,
    resolve_pretrained,
    tokenize,
)

MAX_LENGTH = 128


class SentenceEncoder:
    """Tokenise -> transformer -> mean over tokens -> unit length; one vector per text."""

    def __init__(
        self,
        source: Path,
        max_length: int = MAX_LENGTH,
        net: TransformerNet | None = None,
        tokenizer: Any = None,
    ) -> None:
        self.source = Path(source)
        self.max_length = max_length
        if tokenizer is None:
            with quiet_transformers():
                tokenizer = load_wordpiece(self.source)
        self.tokenizer = tokenizer
        # n_classes=1: the head is unused, only TransformerNet.features runs
        self.net = net or TransformerNet.build(self.source, 1, "mean", normalize=True)
        self.net.eval()
        self._identity: str | None = None

    @classmethod
    def of_model(cls, model: Any, source: Path) -> SentenceEncoder:
        """The encoder inside a fitted frozen ``transformer`` model, saved in ``source`` (no
        second copy in memory)."""
        return cls(
            source,
            model.options.max_length,
            net=model.module_,
            tokenizer=model.tokenizer_,
        )

    @classmethod
    def load(cls, name: str, max_length: int = MAX_LENGTH) -> SentenceEncoder:
        """``minilm``, ``mpnet`` or a Hugging Face model directory (nothing is downloaded)."""
        return cls(resolve_pretrained(name), max_length)

    @property
    def dim(self) -> int:
        return int(self.net.hf.config.hidden_size)

    def _pad_id(self) -> int:
        pad = self.tokenizer.pad_token_id
        return 0 if pad is None else int(pad)

    def encode(self, texts: list[str], cache_dir: Path | None = None) -> np.ndarray:
        """``(len(texts), dim)`` float32 unit vectors, in input order.

        With ``cache_dir`` the vectors are kept on disk (``cache_dir/features/``), keyed by the
        model files and the token ids, as the ``transformer`` model caches its frozen features.
        """
        ids = tokenize(self.tokenizer, list(texts), self.max_length)
        if not ids:
            return np.zeros((0, self.dim), dtype=np.float32)
        if cache_dir is None:
            features = encode(self.net, ids, self._pad_id())
        else:
            if self._identity is None:
                self._identity = model_identity(self.source)
            settings = {"pooling": "mean", "precision": "fp32", "normalize": True}
            key = cache_key(self._identity, settings, ids)
            features = cached_features(self.net, ids, self._pad_id(), key, cache_dir)
        return features.numpy().astype(np.float32, copy=False)

    def save(self, directory: Path) -> None:
        """Write the encoder as a plain Hugging Face directory (weights + tokenizer)."""
        with quiet_transformers():
            self.net.hf.save_pretrained(str(directory), safe_serialization=True)
            self.tokenizer.save_pretrained(str(directory))

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
        ours = self.net.hf.state_dict()
        theirs = model.module_.hf.state_dict()
        return ours.keys() == theirs.keys() and all(
            torch.equal(ours[k], theirs[k]) for k in list(ours)[:4] + list(ours)[-4:]
        )


__all__ = ["MAX_LENGTH", "SentenceEncoder", "default_cache_dir"]
