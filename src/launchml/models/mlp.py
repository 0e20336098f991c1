"""``mlp``: a multi-layer perceptron over flattened pixels, or over a mean bag of words.

Images: pixels scaled to [0, 1] and flattened, then ``Linear -> ReLU (-> Dropout)`` per hidden
layer, then ``Linear`` to the classes. Texts: the first layer is the mean of learned word vectors
(an ``EmbeddingBag``) plus a bias, which is exactly a ``Linear`` layer applied to the
length-normalised bag-of-words vector, without ever building that vector.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, ClassVar

import torch
from torch import nn

from launchml.config import MLPConfig
from launchml.data.dataset import Kind
from launchml.models.torch_base import TorchModel


class MLPNet(nn.Module):
    """``sizes = [n_in, *hidden, n_classes]``; ``vocab_size`` set: text input (ids, lengths)."""

    def __init__(
        self, sizes: list[int], dropout: float = 0.0, vocab_size: int | None = None, pad_id: int = 0
    ) -> None:
        super().__init__()
        self.bag: nn.EmbeddingBag | None = None
        self.first: nn.Linear | None = None
        if vocab_size is not None:
            self.bag = nn.EmbeddingBag(vocab_size, sizes[1], mode="mean", padding_idx=pad_id)
            bound = 1.0 / math.sqrt(sizes[1])
            nn.init.uniform_(self.bag.weight, -bound, bound)
            with torch.no_grad():
                self.bag.weight[pad_id].zero_()
            self.bag_bias = nn.Parameter(torch.zeros(sizes[1]))
        else:
            self.first = nn.Linear(sizes[0], sizes[1])
        rest: list[nn.Module] = []
        for n_in, n_out in itertools.pairwise(sizes[1:]):
            rest += [nn.ReLU(), nn.Dropout(dropout), nn.Linear(n_in, n_out)]
        self.rest = nn.Sequential(*rest)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        if self.bag is not None:
            ids, _lengths = inputs  # padding ids are left out of the mean by the EmbeddingBag
            hidden = self.bag(ids) + self.bag_bias
        else:
            assert self.first is not None
            hidden = self.first(inputs[0].flatten(1))
        return self.rest(hidden)

    def linears(self) -> list[nn.Linear]:
        """The dense layers in order (the first is missing for text input)."""
        first = [self.first] if self.first is not None else []
        return first + [m for m in self.rest if isinstance(m, nn.Linear)]


class MLP(TorchModel):
    name: ClassVar[str] = "mlp"
    kinds: ClassVar[tuple[Kind, ...]] = ("image", "text")
    options_class = MLPConfig

    def build_module(self, spec: dict[str, Any]) -> nn.Module:
        options = MLPConfig.model_validate(spec["options"])
        if spec["kind"] == "image":
            n_in = math.prod(spec["input_shape"])
            return MLPNet([n_in, *options.hidden, spec["n_classes"]], options.dropout)
        sizes = [spec["vocab_size"], *options.hidden, spec["n_classes"]]
        return MLPNet(sizes, options.dropout, spec["vocab_size"], spec["pad_id"])
