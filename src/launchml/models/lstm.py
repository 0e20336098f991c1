"""``lstm``: Embedding -> (bi)LSTM over packed sequences -> masked pooling -> Linear.

Sequences are packed (``pack_padded_sequence``), so the LSTM never reads padding: its state and
outputs are the same however much padding a batch carries. Pooling over time is ``last`` (final
state of each direction: the forward one after the last real token, the backward one after the
first), or ``mean`` / ``max`` over the real time steps only.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from launchml.config import LSTMConfig
from launchml.data.dataset import Kind
from launchml.models.torch_base import TorchModel


class LSTMNet(nn.Module):
    def __init__(self, vocab_size: int, pad_id: int, n_classes: int, options: LSTMConfig) -> None:
        super().__init__()
        self.pooling = options.pooling
        self.embedding = nn.Embedding(vocab_size, options.embedding_dim, padding_idx=pad_id)
        self.dropout = nn.Dropout(options.dropout)
        self.lstm = nn.LSTM(
            options.embedding_dim,
            options.hidden_size,
            num_layers=options.layers,
            batch_first=True,
            bidirectional=options.bidirectional,
            dropout=options.dropout if options.layers > 1 else 0.0,
        )
        self.directions = 2 if options.bidirectional else 1
        self.out = nn.Linear(options.hidden_size * self.directions, n_classes)

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
            steps = torch.arange(padded.shape[1])
            mask = (steps[None, :] < lengths[:, None]).unsqueeze(2)
            if self.pooling == "mean":
                pooled = (padded * mask).sum(1) / lengths[:, None].to(padded.dtype)
            else:
                pooled = padded.masked_fill(~mask, float("-inf")).amax(1)
        return self.out(self.dropout(pooled))


class LSTM(TorchModel):
    name: ClassVar[str] = "lstm"
    kinds: ClassVar[tuple[Kind, ...]] = ("text",)
    options_class = LSTMConfig

    def build_module(self, spec: dict[str, Any]) -> nn.Module:
        options = LSTMConfig.model_validate(spec["options"])
        return LSTMNet(spec["vocab_size"], spec["pad_id"], spec["n_classes"], options)
