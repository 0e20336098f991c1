"""``textcnn``: Kim (2014) — convolutions of several widths over word embeddings, max over time.

Each kernel width ``k`` gives ``filters`` feature maps; each map is max-pooled over the windows
that start on a real token (windows of texts shorter than ``k`` see zero padding, as in the
paper), so extra padding never changes a prediction. The pooled features go through dropout to a
linear layer.

The embedding layer starts random, or from a pretrained model's input word embeddings
(``embeddings: pretrained``, see :mod:`launchml.models.torch_base`); ``freeze_embeddings`` keeps
it fixed (Kim's "static" variant) and ``embedding_lr_scale`` scales its learning rate.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from launchml.config import TextCNNConfig
from launchml.data.dataset import Kind
from launchml.models.torch_base import TorchModel, embedding_param_groups


class TextCNNNet(nn.Module):
    def __init__(
        self,
        vocab_size: int,
        pad_id: int,
        n_classes: int,
        options: TextCNNConfig,
        embedding_dim: int | None = None,
    ) -> None:
        super().__init__()
        self.embedding_lr_scale = options.embedding_lr_scale
        embedding_dim = embedding_dim or options.embedding_dim
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_id)
        self.embedding.weight.requires_grad_(not options.freeze_embeddings)
        self.kernel_sizes = list(options.kernel_sizes)
        self.convs = nn.ModuleList(
            nn.Conv1d(embedding_dim, options.filters, k) for k in self.kernel_sizes
        )
        self.dropout = nn.Dropout(options.dropout)
        self.out = nn.Linear(options.filters * len(self.kernel_sizes), n_classes)

    def param_groups(self) -> list[dict[str, Any]]:
        return embedding_param_groups(self, self.embedding_lr_scale)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x = self.embedding(ids).transpose(1, 2)  # (B, E, T)
        widest = max(self.kernel_sizes)
        if x.shape[2] < widest:  # every text gets at least one window of every width
            x = F.pad(x, (0, widest - x.shape[2]))
        pooled = []
        for k, conv in zip(self.kernel_sizes, self.convs, strict=True):
            maps = F.relu(conv(x))  # (B, filters, T - k + 1)
            n_windows = (lengths - k + 1).clamp(min=1)
            valid = torch.arange(maps.shape[2], device=maps.device)[None, :] < n_windows[:, None]
            pooled.append(maps.masked_fill(~valid[:, None, :], float("-inf")).amax(2))
        return self.out(self.dropout(torch.cat(pooled, dim=1)))


class TextCNN(TorchModel):
    name: ClassVar[str] = "textcnn"
    kinds: ClassVar[tuple[Kind, ...]] = ("text",)
    options_class = TextCNNConfig

    def build_module(self, spec: dict[str, Any]) -> nn.Module:
        options = TextCNNConfig.model_validate(spec["options"])
        return TextCNNNet(
            spec["vocab_size"],
            spec["pad_id"],
            spec["n_classes"],
            options,
            spec.get("embedding_dim"),  # set when the embeddings are pretrained
        )
