"""Where tensors live: ``train.device`` / ``inference.device`` to a ``torch.device``, moving
batches there (pinned memory for CUDA), and mixed precision (``train.precision``).

Nothing else in launchml names a device: modules are moved by the training engine or by the
model's ``load``; batches are prepared on the CPU (:mod:`launchml.inference.batching`) and moved
with :func:`to_device`; autocast reads the device type of the tensors it runs on.

Settings:

- ``auto``: CUDA when torch sees a GPU, else the CPU. Under ``torchrun`` every process takes the
  GPU of its ``LOCAL_RANK`` (the usual one-process-per-GPU layout).
- ``cpu``, ``cuda`` (GPU 0, or the local rank's under torchrun), ``cuda:i`` (exactly GPU i).
- A run trained on a GPU still predicts on a laptop: inference follows ``train.device`` but
  falls back to the CPU when that names CUDA and there is none (``inference.device: cuda``, set
  explicitly, is an error there instead).

Example::

    device = resolve_device("auto")                 # cpu on this laptop
    ids, mask = to_device(batch, device)
    with autocast(device, "auto"):                  # bf16 (or fp16) on CUDA, nothing on CPU
        logits = module(ids, mask)
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from typing import Any

import torch

from launchml.errors import InvalidConfigError

DEVICE_PATTERN = r"^(auto|cpu|cuda(:\d+)?)$"


def resolve_device(spec: str, option: str = "train.device") -> torch.device:
    """The ``torch.device`` a setting names (see the module docstring)."""
    if not re.match(DEVICE_PATTERN, spec):
        raise InvalidConfigError(f"{option}: expected auto, cpu, cuda or cuda:N, got {spec!r}")
    if spec == "cpu" or (spec == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise InvalidConfigError(
            f"{option}: {spec} but torch sees no CUDA GPU here (torch {torch.__version__}, "
            f"CUDA build: {torch.version.cuda or 'no'}); use auto or cpu, or install a CUDA build "
            "of torch"
        )
    count = torch.cuda.device_count()
    if spec.startswith("cuda:"):
        index = int(spec.split(":")[1])
    else:  # auto or cuda: one GPU per local process under torchrun
        index = int(os.environ.get("LOCAL_RANK", "0"))
    if index >= count:
        raise InvalidConfigError(
            f"{option}: GPU {index} wanted, but there {'is' if count == 1 else 'are'} only "
            f"{count} (cuda:0 to cuda:{count - 1})"
        )
    return torch.device("cuda", index)


def inference_device(train_device: str, inference_device: str | None) -> torch.device:
    """Prediction's device: ``inference.device`` when set, else the run's ``train.device``
    (the CPU when that names CUDA and there is none)."""
    if inference_device is not None:
        return resolve_device(inference_device, "inference.device")
    if train_device.startswith("cuda") and not torch.cuda.is_available():
        return torch.device("cpu")
    return resolve_device(train_device)


def module_device(module: torch.nn.Module) -> torch.device:
    """The device of a module's first parameter (or buffer); the CPU for an empty module."""
    for parameter in module.parameters():
        return parameter.device
    for buffer in module.buffers():
        return buffer.device
    return torch.device("cpu")


def to_device(tensors: tuple[torch.Tensor, ...], device: torch.device) -> tuple[torch.Tensor, ...]:
    """Move a batch to ``device``; for CUDA through pinned (page-locked) memory, so that the
    copy runs asynchronously with the computation."""
    if device.type == "cpu":
        return tuple(t if t.device == device else t.to(device) for t in tensors)
    if device.type == "cuda":
        return tuple(
            t.pin_memory().to(device, non_blocking=True) if t.device.type == "cpu" else t.to(device)
            for t in tensors
        )
    return tuple(t.to(device) for t in tensors)


def autocast_dtype(device: torch.device, precision: str) -> torch.dtype | None:
    """The autocast dtype of ``train.precision`` on ``device`` (None: full fp32).

    ``auto``: bf16 on a CUDA GPU that supports it, else fp16 there; fp32 on the CPU (where
    bf16 pays only on CPUs with AVX-512 BF16 / AMX: ask for it with ``bf16``).
    """
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if precision == "fp16":
        if device.type != "cuda":
            raise InvalidConfigError(
                "train.precision: fp16 needs a CUDA GPU (fp16 autocast with loss scaling); "
                "use bf16 or fp32 on the CPU"
            )
        return torch.float16
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


@contextlib.contextmanager
def autocast(device: torch.device, dtype: torch.dtype | None) -> Iterator[None]:
    """``torch.autocast`` on ``device``'s type with ``dtype``; nothing when ``dtype`` is None."""
    if dtype is None:
        yield
        return
    with torch.autocast(device.type, dtype=dtype):
        yield


def grad_scaler(device: torch.device, dtype: torch.dtype | None) -> Any:
    """A ``torch.amp.GradScaler`` for fp16 training (loss scaling), else None."""
    if dtype != torch.float16:
        return None
    return torch.amp.GradScaler(device.type)


__all__ = [
    "DEVICE_PATTERN",
    "autocast",
    "autocast_dtype",
    "grad_scaler",
    "inference_device",
    "module_device",
    "resolve_device",
    "to_device",
]
