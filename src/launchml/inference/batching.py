"""Prepared inputs to tensors, and batched prediction with a torch module.

The input classes turn prepared examples into a module's positional inputs for a batch of
indices (``batch(index) -> tuple of tensors``); the training engine (:mod:`launchml.trainer`)
reads the same objects. :func:`predict_logits` scores them in fixed-size batches;
:func:`sorted_logits` first sorts token sequences by length so that a batch pads only to its own
longest text (transformers, where padding costs attention), and returns rows in input order.
Batches are built on the CPU and moved to the module's device (:mod:`launchml.devices`);
results come back on the CPU.

Example::

    logits = predict_logits(module, ImageInputs(images), batch_size=512)
    logits = sorted_logits(net, token_ids, pad_id=0, batch_size=256)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Protocol

import numpy as np
import torch
from torch import nn

from launchml.devices import module_device, to_device

Batch = tuple[torch.Tensor, ...]


class Inputs(Protocol):
    """Examples already turned into tensors; ``batch`` gives the module's positional inputs."""

    def __len__(self) -> int: ...

    def batch(self, index: torch.Tensor) -> Batch: ...


class TensorInputs:
    """Fixed-size examples in one tensor (``batch`` returns ``(x[index],)``)."""

    def __init__(self, x: torch.Tensor) -> None:
        self.x = x

    def __len__(self) -> int:
        return len(self.x)

    def batch(self, index: torch.Tensor) -> Batch:
        return (self.x[index],)


class ImageInputs:
    """uint8 images ``(N, H, W, C)`` kept as uint8 ``(N, C, H, W)``; batches are float in [0, 1]."""

    def __init__(self, images: np.ndarray) -> None:
        self.x = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))

    def __len__(self) -> int:
        return len(self.x)

    def batch(self, index: torch.Tensor) -> Batch:
        return (self.x[index].float().div_(255.0),)


class TokenInputs:
    """Token-id sequences; a batch is ``(ids (B, T) padded with pad_id, lengths (B,))``."""

    def __init__(self, sequences: list[list[int]], pad_id: int) -> None:
        self.sequences = [torch.tensor(s, dtype=torch.long) for s in sequences]
        self.lengths = torch.tensor([len(s) for s in sequences], dtype=torch.long)
        self.pad_id = pad_id

    def __len__(self) -> int:
        return len(self.sequences)

    def batch(self, index: torch.Tensor) -> Batch:
        rows = [self.sequences[i] for i in index.tolist()]
        ids = nn.utils.rnn.pad_sequence(rows, batch_first=True, padding_value=self.pad_id)
        return ids, self.lengths[index]


class PaddedBatches:
    """Variable-length rows, each a tensor ``(length, ...)``: token ids or per-token hidden
    states. A batch is ``(rows padded to the longest with pad_value, attention_mask)``."""

    def __init__(self, rows: list[torch.Tensor], pad_value: float) -> None:
        self.sequences = rows
        self.lengths = torch.tensor([len(r) for r in rows], dtype=torch.long)
        self.pad_value = pad_value

    def __len__(self) -> int:
        return len(self.sequences)

    def batch(self, index: torch.Tensor) -> Batch:
        rows = [self.sequences[i] for i in index.tolist()]
        if not rows:
            return torch.zeros((0, 0), dtype=torch.long), torch.zeros((0, 0), dtype=torch.long)
        padded = nn.utils.rnn.pad_sequence(rows, batch_first=True, padding_value=self.pad_value)
        mask = torch.arange(padded.shape[1]) < self.lengths[index].unsqueeze(1)
        return padded, mask.long()


class TokenBatches(PaddedBatches):
    """Token-id sequences; a batch is ``(input_ids, attention_mask)`` padded to its longest row."""

    def __init__(self, sequences: list[list[int]], pad_id: int) -> None:
        super().__init__([torch.tensor(s, dtype=torch.long) for s in sequences], pad_id)


def length_sorted(sequences: list[list[int]]) -> list[int]:
    """Indices that sort ``sequences`` by length (for inference batches with little padding)."""
    return sorted(range(len(sequences)), key=lambda i: len(sequences[i]))


def sorted_batches(
    sequences: list[list[int]], pad_id: int, batch_size: int
) -> Iterator[tuple[list[int], torch.Tensor, torch.Tensor]]:
    """Inference batches of similar lengths, shortest first: ``(the rows' positions in
    sequences, input_ids, attention_mask)``."""
    order = length_sorted(sequences)
    inputs = TokenBatches([sequences[i] for i in order], pad_id)
    for start in range(0, len(order), batch_size):
        index = torch.arange(start, min(start + batch_size, len(order)))
        ids, mask = inputs.batch(index)
        yield order[start : start + batch_size], ids, mask


def use_threads(threads: int | None) -> None:
    """``inference.threads``: set torch's intra-op threads (None leaves them as they are).

    At most 4 per CPU core of this machine: a run configured on a larger machine still loads
    here, and torch's thread pool crashes when asked for very many threads.
    """
    if threads is not None:
        threads = min(threads, 4 * (os.cpu_count() or 1))
    if threads is not None and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


@torch.inference_mode()
def predict_logits(module: nn.Module, inputs: Inputs, batch_size: int = 512) -> torch.Tensor:
    """Logits for every example of ``inputs``, in order, in evaluation mode, on the CPU (the
    batches go to the module's device and back)."""
    module.eval()
    device = module_device(module)
    outputs = [
        module(
            *to_device(
                inputs.batch(torch.arange(start, min(start + batch_size, len(inputs)))), device
            )
        ).cpu()
        for start in range(0, len(inputs), batch_size)
    ]
    return torch.cat(outputs) if outputs else torch.empty(0, 0)


@torch.inference_mode()
def sorted_outputs(
    module: nn.Module, sequences: list[list[int]], pad_id: int, batch_size: int, width: int
) -> torch.Tensor:
    """``module(ids, mask)`` for every sequence, batched by length, rows in input order;
    ``width`` is the output's size (for an empty input)."""
    module.eval()
    device = module_device(module)
    chunks, positions = [], []
    for rows, ids, mask in sorted_batches(sequences, pad_id, batch_size):
        chunks.append(module(*to_device((ids, mask), device)).cpu())
        positions.extend(rows)
    if not chunks:
        return torch.empty(0, width)
    stacked = torch.cat(chunks)
    out = torch.empty_like(stacked)
    out[torch.tensor(positions, dtype=torch.long)] = stacked
    return out


def probabilities(logits: torch.Tensor, n_classes: int) -> np.ndarray:
    """Softmax in float64, ``(n, n_classes)`` (also for no rows)."""
    if len(logits) == 0:
        return np.zeros((0, n_classes))
    return torch.softmax(logits.double(), dim=1).numpy()


__all__ = [
    "ImageInputs",
    "Inputs",
    "PaddedBatches",
    "TensorInputs",
    "TokenBatches",
    "TokenInputs",
    "length_sorted",
    "predict_logits",
    "probabilities",
    "sorted_batches",
    "sorted_outputs",
    "use_threads",
]
