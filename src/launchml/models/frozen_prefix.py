"""Fine-tuning above a frozen prefix: run the frozen embeddings and lowest layers once.

With ``freeze_embeddings`` and ``freeze_layers: N``, every epoch of fine-tuning pushes each text
through the same fixed embeddings and N fixed layers again. ``cache_frozen: true`` computes
their output once per text (in eval mode: without the frozen layers' dropout), then trains only
the layers above on it. On all-MiniLM-L6-v2 with N = 3 (Banking77's four-member ensemble recipe)
fitting took 14-26% less time, and the members scored about 0.3 points lower (probably the lost
dropout inside the frozen layers; dropout on their cached output did not bring it back;
docs/BENCHMARKS.md). Hence off by default. The saved model is the whole network as usual.

:func:`layer_slice` is the one trick: it swaps the encoder's layer list for a slice of it (and,
above the prefix, its embeddings for a pass-through), so the model's own forward, masks and
pooling run unchanged on ``inputs_embeds`` = the cached hidden states.

Example::

    hidden = encode_prefix(net, ids_train, pad_id, layers=3)
    with layer_slice(net, 3, embeddings=False):
        engine.fit(net, BucketedHiddenBatches(hidden), y_train, ...)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

import torch
from torch import nn

from launchml.devices import module_device, to_device
from launchml.inference.batching import PaddedBatches, sorted_batches
from launchml.models.hf_encoder import Bucketed

if TYPE_CHECKING:
    from launchml.models.hf_encoder import TransformerNet


class _PassThrough(nn.Module):
    """Stands in for the embeddings: the input already is the prefix's output."""

    def forward(self, inputs_embeds: torch.Tensor | None = None, **_: object) -> torch.Tensor:
        assert inputs_embeds is not None, "the frozen prefix's hidden states are passed as inputs"
        return inputs_embeds


@contextlib.contextmanager
def layer_slice(
    net: TransformerNet, start: int, stop: int | None = None, *, embeddings: bool = True
) -> Iterator[None]:
    """Inside, ``net`` runs encoder layers ``start:stop`` only.

    With ``embeddings=False`` the embeddings are skipped too, and the net's first input is a
    float tensor of hidden states ``(batch, tokens, hidden)`` instead of token ids. Parameters
    outside the slice are not in ``net.parameters()`` or ``net.state_dict()`` meanwhile
    (consistent for the optimiser, checkpoints and resume); everything is put back on exit.
    """
    body = net.body
    encoder = net.encoder_module()
    layers = net.layers()
    embedding_module = net.embeddings_module()
    encoder.layer = nn.ModuleList(list(layers)[start:stop])
    if not embeddings:
        body.embeddings = _PassThrough()
    try:
        yield
    finally:
        encoder.layer = layers
        body.embeddings = embedding_module


@torch.no_grad()  # not inference_mode: these tensors are inputs to autograd later
def encode_prefix(
    net: TransformerNet, sequences: list[list[int]], pad_id: int, layers: int, batch_size: int = 128
) -> list[torch.Tensor]:
    """The hidden states after embeddings + the lowest ``layers`` layers, one ``(tokens,
    hidden)`` tensor per sequence, in input order (eval mode: no dropout)."""
    was_training = net.training
    net.eval()
    device = module_device(net)
    out: list[torch.Tensor] = [torch.empty(0)] * len(sequences)
    with layer_slice(net, 0, layers):
        for rows, ids, mask in sorted_batches(sequences, pad_id, batch_size):
            ids, mask = to_device((ids, mask), device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=net.bf16):
                hidden = net.body(input_ids=ids, attention_mask=mask).last_hidden_state
            hidden = hidden.float().cpu()
            for row, position in enumerate(rows):
                out[position] = hidden[row, : len(sequences[position])].clone()
    net.train(was_training)
    return out


class HiddenBatches(PaddedBatches):
    """Per-text hidden states; a batch is ``(hidden, attention_mask)`` padded to its longest row
    (the padding is zeros: the mask keeps it out of attention and pooling)."""

    def __init__(self, states: list[torch.Tensor]) -> None:
        super().__init__(states, 0.0)


class BucketedHiddenBatches(Bucketed, HiddenBatches):
    """Training batches of similar lengths, in the same order as ``BucketedBatches`` would give."""
