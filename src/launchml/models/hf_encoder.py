"""Pretrained Hugging Face encoders for ``transformer``: tokenising once, length-bucketed
training batches, the classifier network, and the on-disk cache of frozen features.

The network (:class:`TransformerNet`) is a sentence encoder
(:class:`launchml.inference.encoder.SentenceEncoder`: body + pooling) and a head; it has two
shapes, chosen by ``pooling``:

- ``cls``: it *is* ``AutoModelForSequenceClassification`` (for BERT: [CLS] -> pooler dense + tanh
  -> dropout -> linear), so the run exports as a plain Hugging Face directory with identical logits.
- ``mean``: ``AutoModel`` -> mean over the real tokens (what sentence-transformers does for
  all-MiniLM-L6-v2) -> dropout -> linear. Better features for a frozen body; the export is the
  encoder directory plus ``head.safetensors`` (no stock HF class pools this way).

Finding models offline (:func:`resolve_pretrained`), the input batches and batched prediction
live in :mod:`launchml.inference`, which prediction and exported bundles share.

Example::

    net = TransformerNet.build(resolve_pretrained("minilm"), n_classes=77, pooling="mean")
    ids = tokenize(load_wordpiece(path), ["card lost"], 128)
    logits = net(*TokenBatches(ids, pad_id=0).batch(torch.arange(1)))
    vectors = net.encoder(*TokenBatches(ids, pad_id=0).batch(torch.arange(1)))
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from launchml.errors import InvalidConfigError
from launchml.inference.batching import TokenBatches
from launchml.inference.encoder import SentenceEncoder, quiet_transformers, resolve_pretrained
from launchml.inference.text import WordPieceTokenizer

if TYPE_CHECKING:
    from transformers import PreTrainedModel

CACHE_VERSION = "1"


def default_cache_dir() -> Path:
    """``$LAUNCHML_CACHE``, else ``$XDG_CACHE_HOME/launchml``, else ``~/.cache/launchml``."""
    if os.environ.get("LAUNCHML_CACHE"):
        return Path(os.environ["LAUNCHML_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "launchml"


def tokenize(tokenizer: Any, texts: list[str], max_length: int) -> list[list[int]]:
    """Token ids with the model's special tokens, truncated to ``max_length``. Done once per fit.

    ``tokenizer`` is a ``transformers`` fast tokenizer; the ids are those of its backend
    (:class:`launchml.inference.text.WordPieceTokenizer`), which prediction and bundles use.
    """
    return WordPieceTokenizer.from_hf(tokenizer, max_length).encode(list(texts))


# --------------------------------------------------------------------------------------------
# Training batches of similar lengths.


class Bucketed:
    """Mixin for training batches of similar lengths (the engine's ``epoch_order`` hook)."""

    chunk_batches = 50
    lengths: torch.Tensor

    def epoch_order(self, generator: torch.Generator, batch_size: int) -> torch.Tensor:
        return bucketed_order(self.lengths, batch_size, generator, self.chunk_batches)


class BucketedBatches(Bucketed, TokenBatches):
    """Token-id training batches of similar lengths."""


def bucketed_order(
    lengths: torch.Tensor, batch_size: int, generator: torch.Generator, chunk_batches: int = 50
) -> torch.Tensor:
    """A permutation whose consecutive ``batch_size`` slices hold texts of similar length.

    Shuffle, sort by length within chunks of ``chunk_batches`` batches (so batches still mix
    texts from all over the data), then shuffle the order of the batches. Only the last batch can
    be short, and it stays last, so the engine's fixed-size slicing cuts exactly these batches.
    All randomness comes from ``generator``: a resumed epoch gets the same order.
    """
    n = len(lengths)
    perm = torch.randperm(n, generator=generator)
    chunk = batch_size * chunk_batches
    pieces = []
    for start in range(0, n, chunk):
        part = perm[start : start + chunk]
        pieces.append(part[torch.argsort(lengths[part], stable=True)])
    batches = list(torch.cat(pieces).split(batch_size)) if n else []
    tail = [batches.pop()] if batches and len(batches[-1]) < batch_size else []
    shuffled = [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]
    return torch.cat(shuffled + tail) if n else perm


# --------------------------------------------------------------------------------------------
# The network.


class TransformerNet(nn.Module):
    """A pretrained encoder + pooling + classification head; maps ``(ids, mask)`` to logits."""

    def __init__(
        self,
        hf: PreTrainedModel,
        pooling: str,
        n_classes: int,
        dropout: float,
        normalize: bool = True,
    ) -> None:
        super().__init__()
        self.pooling = pooling
        self.normalize = normalize
        self.hf = hf
        # The sentence encoder over this net's body: a view that shares its modules, kept out
        # of the module tree (object.__setattr__) so parameters and state_dict keys stay those
        # of the Hugging Face model alone.
        object.__setattr__(self, "encoder", SentenceEncoder(self.body, pooling, normalize))
        self.bf16 = False
        self.head_lr_scale = 1.0
        self.layer_lr_decay = 1.0
        if pooling == "mean":
            hidden = int(hf.config.hidden_size)
            self.dropout = nn.Dropout(dropout)
            self.classifier = nn.Linear(hidden, n_classes)
            nn.init.normal_(self.classifier.weight, std=0.02)  # as HF initialises its heads
            nn.init.zeros_(self.classifier.bias)

    @classmethod
    def build(
        cls,
        source: Path,
        n_classes: int,
        pooling: str,
        dropout: float = 0.1,
        labels: list[str] | None = None,
        normalize: bool = True,
    ) -> TransformerNet:
        """Pretrained body from ``source`` with a new head (or a saved head, for ``cls`` runs)."""
        from transformers import AutoModel, AutoModelForSequenceClassification

        with quiet_transformers():
            if pooling == "cls":
                labels = labels or [str(i) for i in range(n_classes)]
                hf = AutoModelForSequenceClassification.from_pretrained(
                    str(source),
                    local_files_only=True,
                    num_labels=n_classes,
                    id2label=dict(enumerate(labels)),
                    label2id={label: i for i, label in enumerate(labels)},
                    classifier_dropout=dropout,
                )
            else:
                hf = AutoModel.from_pretrained(str(source), local_files_only=True)
        return cls(hf, pooling, n_classes, dropout, normalize)

    encoder: SentenceEncoder

    @property
    def body(self) -> nn.Module:
        return self.hf.base_model if self.pooling == "cls" else self.hf

    @property
    def bf16(self) -> bool:
        """bf16 autocast (on the inputs' device), for the encoder and the head."""
        return self.encoder.bf16

    @bf16.setter
    def bf16(self, value: bool) -> None:
        self.encoder.bf16 = value

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Logits for token ids ``(batch, tokens)``, or for hidden states ``(batch, tokens,
        hidden)`` that skip the embeddings (see ``frozen_prefix.layer_slice``)."""
        with torch.autocast(ids.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            if self.pooling == "cls":
                logits = self.hf(**_inputs(ids), attention_mask=mask).logits
            else:
                logits = self.head()(self.features(ids, mask))
        return logits.float()

    def features(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """What the head reads: the encoder's vector (the masked token mean, or the [CLS]
        hidden state)."""
        return self.encoder(ids, mask)

    def head(self) -> nn.Module:
        """The layers after :meth:`features` (sharing this net's parameters)."""
        if self.pooling == "mean":
            return nn.Sequential(self.dropout, self.classifier)
        return _ClsHead(self.hf)

    def head_parameters(self) -> list[nn.Parameter]:
        return list(self.head().parameters())

    def param_groups(self) -> list[dict[str, Any]]:
        """The engine's hook: the head learns at ``head_lr_scale`` times the body's rate.

        With ``layer_lr_decay`` d < 1 (layer-wise learning-rate decay, as in ELECTRA), encoder
        layer i of N learns at d^(N-1-i) times the body's rate and the embeddings at d^N: the
        layers nearest the head move most, the general-purpose lower ones least.
        """
        head = self.head_parameters()
        stack: list[nn.Module] = []  # embeddings, layer 0, ..., layer N-1: decayed rates
        if self.layer_lr_decay != 1.0:
            stack = [self.embeddings_module(), *self.layers()]
        apart = {id(p) for p in head} | {id(p) for m in stack for p in m.parameters()}
        rest = [p for p in self.parameters() if id(p) not in apart]  # all the body, if no decay
        decayed = [
            {"params": list(module.parameters()), "lr_scale": self.layer_lr_decay**depth}
            for depth, module in enumerate(reversed(stack))
        ]
        return [
            {"params": rest, "lr_scale": 1.0},
            *decayed,
            {"params": head, "lr_scale": self.head_lr_scale},
        ]

    def embeddings_module(self) -> nn.Module:
        return _attribute(self.body, "embeddings")

    def encoder_module(self) -> nn.Module:
        return _attribute(self.body, "encoder")

    def layers(self) -> nn.ModuleList:
        """The encoder's layers, lowest first (BERT-style ``encoder.layer``)."""
        return _attribute(self.encoder_module(), "layer")

    def freeze(self, embeddings: bool, layers: int) -> None:
        """Keep the token embeddings and/or the lowest ``layers`` encoder layers fixed."""
        if embeddings:
            self.embeddings_module().requires_grad_(False)
        if layers:
            blocks = self.layers()
            if layers > len(blocks):
                raise InvalidConfigError(
                    f"model.transformer.freeze_layers: the model has {len(blocks)} layers, "
                    f"got {layers}"
                )
            for block in blocks[:layers]:
                block.requires_grad_(False)


class _ClsHead(nn.Module):
    """Hugging Face's BERT-style classification head, applied to the [CLS] hidden state."""

    def __init__(self, hf: PreTrainedModel) -> None:
        super().__init__()
        pooler = getattr(hf.base_model, "pooler", None)
        if pooler is None or not hasattr(hf, "classifier") or not hasattr(hf, "dropout"):
            raise InvalidConfigError(
                f"model.transformer: a frozen body with pooling 'cls' needs a BERT-style model "
                f"(pooler + classifier); {type(hf).__name__} is not one - use pooling 'mean'"
            )
        self.pooler = pooler
        self.dropout = cast(nn.Module, hf.dropout)
        self.classifier = cast(nn.Module, hf.classifier)

    def forward(self, cls_hidden: torch.Tensor) -> torch.Tensor:
        # BertPooler reads hidden[:, 0] of a (B, T, H) tensor: give it a 1-token sequence.
        return self.classifier(self.dropout(self.pooler(cls_hidden.unsqueeze(1))))


def _inputs(ids: torch.Tensor) -> dict[str, torch.Tensor]:
    """Token ids go in as ``input_ids``; float hidden states (a skipped prefix) as
    ``inputs_embeds``."""
    return {"inputs_embeds" if ids.is_floating_point() else "input_ids": ids}


def _attribute(module: nn.Module, name: str) -> Any:
    value = getattr(module, name, None)
    if value is None:
        raise InvalidConfigError(
            f"model.transformer: freezing, cache_frozen and layer_lr_decay need a BERT-style "
            f"encoder; {type(module).__name__} has no '{name}' (set freeze_embeddings: false, "
            f"freeze_layers: 0, cache_frozen: false and layer_lr_decay: 1)"
        )
    return value


# --------------------------------------------------------------------------------------------
# Frozen features, computed once and cached on disk.


def encode(
    net: TransformerNet, sequences: list[list[int]], pad_id: int, batch_size: int = 128
) -> torch.Tensor:
    """:meth:`TransformerNet.features` for every sequence, batched by length, in input order."""
    return net.encoder.encode_ids(sequences, batch_size, pad_id)


def model_identity(source: Path) -> str:
    """Names, sizes and modification times of the model files, plus config.json's text."""
    parts = []
    for path in sorted(source.iterdir()):
        if path.is_file():
            stat = path.stat()
            parts.append(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}")
    return str(source.resolve()) + "|" + "|".join(parts)


def cache_key(identity: str, settings: dict[str, Any], sequences: list[list[int]]) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps([CACHE_VERSION, identity, settings], sort_keys=True).encode())
    for seq in sequences:  # the token ids cover the texts, the tokenizer and max_length
        digest.update(len(seq).to_bytes(4, "little"))
        digest.update(torch.tensor(seq, dtype=torch.int64).numpy().tobytes())
    return digest.hexdigest()


def cached_features(
    net: TransformerNet,
    sequences: list[list[int]],
    pad_id: int,
    key: str,
    cache_dir: Path,
    stats: dict[str, int] | None = None,
) -> torch.Tensor:
    """Frozen features from ``cache_dir/features/KEY.safetensors``, computed on a miss."""
    path = cache_dir / "features" / f"{key}.safetensors"
    if path.is_file():
        if stats is not None:
            stats["hits"] = stats.get("hits", 0) + 1
        return load_file(str(path))["features"]
    features = encode(net, sequences, pad_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    save_file({"features": features.contiguous()}, str(tmp))
    os.replace(tmp, path)
    if stats is not None:
        stats["misses"] = stats.get("misses", 0) + 1
    return features


__all__ = [
    "Bucketed",
    "BucketedBatches",
    "TokenBatches",
    "TransformerNet",
    "bucketed_order",
    "cache_key",
    "cached_features",
    "default_cache_dir",
    "encode",
    "model_identity",
    "quiet_transformers",
    "resolve_pretrained",
    "tokenize",
]
