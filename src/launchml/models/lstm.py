"""``lstm``: Embedding -> (bi)LSTM over packed sequences -> masked pooling -> Linear.

Sequences are packed (``pack_padded_sequence``), so the LSTM never reads padding: its state and
outputs are the same however much padding a batch carries. Pooling over time is ``last`` (final
state of each direction: the forward one after the last real token, the backward one after the
first), or ``mean`` / ``max`` over the real time steps only, or ``max_mean`` (both, side by side).

The embedding layer starts random, or from a pretrained model's input word embeddings
(``embeddings: pretrained`` with that model's WordPiece ``tokenizer``, see
:mod:`launchml.models.torch_base`); ``freeze_embeddings`` keeps it fixed and
``embedding_lr_scale`` gives it a smaller (or larger) learning rate than the rest.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from launchml.config import LSTMConfig
from launchml.data.dataset import Kind
from launchml.models.torch_base import TorchModel, embedding_param_groups


class LSTMNet(nn.Module):
    def __init__(
        self,
        vocab_size: int,
        pad_id: int,
        n_classes: int,
        options: LSTMConfig,
        embedding_dim: int | None = None,
    ) -> None:
        super().__init__()
        self.pooling = options.pooling
        self.embedding_lr_scale = options.embedding_lr_scale
        embedding_dim = embedding_dim or options.embedding_dim
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_id)
        self.embedding.weight.requires_grad_(not options.freeze_embeddings)
        self.dropout = nn.Dropout(options.dropout)
        self.lstm = nn.LSTM(
            embedding_dim,
            options.hidden_size,
            num_layers=options.layers,
            batch_first=True,
            bidirectional=options.bidirectional,
            dropout=options.dropout if options.layers > 1 else 0.0,
        )
        self.directions = 2 if options.bidirectional else 1
        pooled_size = options.hidden_size * self.directions
        self.out = nn.Linear(pooled_size * (2 if self.pooling == "max_mean" else 1), n_classes)

    def param_groups(self) -> list[dict[str, Any]]:
        return embedding_param_groups(self, self.embedding_lr_scale)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        embedded = self.dropout(self.embedding(ids))
        packed = pack_padded_sequence(
            embedded, lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        outputs, (h_n, _c_n) = self.lstm(packed)
        if self.pooling == "last":
            # h_n: (layers * directions, batch, hidden); the top layer's states come last
            pooled = torch.cat(list(h_n[-self.directions :]), dim=1)
        else:
            padded, _ = pad_packed_sequence(outputs, batch_first=True)  # (B, T_max, H * dirs)
            steps = torch.arange(padded.shape[1], device=padded.device)
            mask = (steps[None, :] < lengths[:, None]).unsqueeze(2)
            parts = []
            if self.pooling in ("max", "max_mean"):
                parts.append(padded.masked_fill(~mask, float("-inf")).amax(1))
            if self.pooling in ("mean", "max_mean"):
                parts.append((padded * mask).sum(1) / lengths[:, None].to(padded.dtype))
            pooled = torch.cat(parts, dim=1)
        return self.out(self.dropout(pooled))


class LSTM(TorchModel):
    name: ClassVar[str] = "lstm"
    kinds: ClassVar[tuple[Kind, ...]] = ("text",)
    options_class = LSTMConfig

    def build_module(self, spec: dict[str, Any]) -> nn.Module:
        options = LSTMConfig.model_validate(spec["options"])
        return LSTMNet(
            spec["vocab_size"],
            spec["pad_id"],
            spec["n_classes"],
            options,
            spec.get("embedding_dim"),  # set when the embeddings are pretrained
        )
