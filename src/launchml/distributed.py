"""Data-parallel training across processes with ``torch.distributed``: the process group, who
writes, and each process's share of a batch.

Processes are started by ``torchrun`` (``launchml train CONFIG --nproc N`` runs it for you, see
:mod:`launchml.launch`), which sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``LOCAL_WORLD_SIZE`` and the rendezvous address. :func:`setup` joins the group (gloo on the
CPU, nccl on CUDA); outside torchrun every function here is the trivial one-process version.

How the engine (:mod:`launchml.trainer`) uses this layer:

- every process draws the same epoch order (seeded from ``(seed, epoch)``, bucketed or not) and
  takes every ``world``-th example of each batch (:func:`shard`), so ``train.batch_size`` is the
  **global** batch: N processes take the same optimiser steps on the same batches as one;
- the module is wrapped in ``DistributedDataParallel`` (:func:`wrap`), which averages the
  gradients; the engine scales each process's loss so that the average is exactly the gradient
  of the whole batch's mean loss;
- only rank 0 writes: the run directory, checkpoints, progress bars, tracking. Its decisions
  (is there a checkpoint, did preparing the run directory fail) reach the others through
  :func:`on_main`;
- validation is split in contiguous shares and the logits gathered (:func:`gather_rows`).

Example::

    session = setup("auto")                 # under torchrun: joins the process group
    index = shard(order[0:32])              # this process's part of the first global batch
    ddp = wrap(module, device)              # the module itself in a one-process run
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import torch
import torch.distributed as dist
from torch import nn

from launchml.errors import LaunchMLError

T = TypeVar("T")

#: how long a process waits for the others (e.g. while rank 0 evaluates and saves the run)
TIMEOUT = timedelta(minutes=60)


@dataclass(frozen=True)
class Session:
    """Where this process stands: ``rank`` of ``world`` processes, ``local_rank`` of
    ``local_world`` on this machine."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    local_world: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1


def launched() -> bool:
    """Started by torchrun (or another launcher that sets ``WORLD_SIZE``) with 2+ processes."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def session() -> Session:
    """This process's place in the group (one process of one when there is no group)."""
    if not (dist.is_available() and dist.is_initialized()):
        return Session()
    return Session(
        dist.get_rank(),
        dist.get_world_size(),
        int(os.environ.get("LOCAL_RANK", "0")),
        int(os.environ.get("LOCAL_WORLD_SIZE", "1")),
    )


def setup(device: str = "auto") -> Session:
    """Join the process group torchrun describes (once; later calls return the session).

    ``device`` is ``train.device``: nccl for CUDA, gloo for the CPU.
    """
    if not launched() or dist.is_initialized():
        return session()
    from launchml.devices import resolve_device

    resolved = resolve_device(device)
    if resolved.type == "cuda":
        torch.cuda.set_device(resolved)
        dist.init_process_group("nccl", timeout=TIMEOUT, device_id=resolved)
    else:
        dist.init_process_group("gloo", timeout=TIMEOUT)
    return session()


def default_threads() -> int:
    """torch threads per process when ``train.threads`` is unset: this machine's cores shared
    by the processes torchrun started on it."""
    local = int(os.environ.get("LOCAL_WORLD_SIZE", "1")) if launched() else 1
    return max(1, (os.cpu_count() or 1) // local)


# --------------------------------------------------------------------------------------------
# Rank 0 decides, the others follow.


def on_main(fn: Callable[[], T]) -> T:
    """Run ``fn`` on rank 0 only and hand its result (or its :class:`LaunchMLError`) to every
    process, so that a refusal (say, the run directory exists) stops all of them with the same
    message instead of leaving the others waiting."""
    s = session()
    if not s.active:
        return fn()
    outcome: list[Any] = [None]
    if s.is_main:
        try:
            outcome = [("ok", fn())]
        except LaunchMLError as exc:
            outcome = [("error", exc)]
        except BaseException as exc:
            dist.broadcast_object_list([("crash", f"{type(exc).__name__}: {exc}")], src=0)
            raise
    dist.broadcast_object_list(outcome, src=0)
    kind, value = outcome[0]
    if kind == "error":
        raise value
    if kind == "crash":
        raise RuntimeError(f"process 0 failed ({value})")
    return value


def report(error: BaseException | None) -> None:
    """Rank 0, after a phase only it runs (evaluating and writing the run): how it ended.

    A user error reaches the others as itself; anything else as a RuntimeError naming it.
    """
    if not session().active:
        return
    if error is not None and not isinstance(error, LaunchMLError):
        error = RuntimeError(f"process 0 failed ({type(error).__name__}: {error})")
    dist.broadcast_object_list([error], src=0)


def follow_main() -> None:
    """The other ranks: wait for rank 0's :func:`report`; raise its error, if any."""
    if not session().active:
        return
    box: list[Any] = [None]
    dist.broadcast_object_list(box, src=0)
    if box[0] is not None:
        raise box[0]


def agree(value: T) -> T:
    """Rank 0's ``value`` on every process (e.g. "a checkpoint exists")."""
    if not session().active:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


@contextlib.contextmanager
def main_first() -> Iterator[None]:
    """Rank 0 runs the block first, the others after it (e.g. filling a cache they then read)."""
    s = session()
    if s.active and not s.is_main:
        dist.barrier()
    yield
    if s.active and s.is_main:
        dist.barrier()


def barrier() -> None:
    if session().active:
        dist.barrier()


def shutdown() -> None:
    """Leave the process group (after a finished run: torch warns about groups left open)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


# --------------------------------------------------------------------------------------------
# Batches, modules and numbers across processes.


def shard(index: torch.Tensor) -> torch.Tensor:
    """This process's examples of a global batch: every ``world``-th, starting at ``rank``.

    Strided rather than contiguous so that a length-bucketed batch (sorted by length) gives
    every process texts of the same lengths, hence the same padding and time per step.
    """
    s = session()
    return index[s.rank :: s.world] if s.active else index


def share(n: int) -> tuple[int, int]:
    """This process's contiguous share ``[start, stop)`` of ``n`` rows (validation)."""
    s = session()
    if not s.active:
        return 0, n
    per = -(-n // s.world)
    return min(n, s.rank * per), min(n, (s.rank + 1) * per)


def gather_rows(local: torch.Tensor, n: int) -> torch.Tensor:
    """The ``n`` rows whose contiguous shares (:func:`share`) the processes computed, in order."""
    s = session()
    if not s.active:
        return local
    per = -(-n // s.world)
    device = _comm_device(local)
    padded = torch.zeros((per, *local.shape[1:]), dtype=local.dtype, device=device)
    padded[: len(local)] = local.to(device)
    parts = [torch.empty_like(padded) for _ in range(s.world)]
    dist.all_gather(parts, padded)
    rows = [part[: share_size(n, rank, s.world)] for rank, part in enumerate(parts)]
    return torch.cat(rows).to(local.device)


def share_size(n: int, rank: int, world: int) -> int:
    per = -(-n // world)
    return max(0, min(n, (rank + 1) * per) - min(n, rank * per))


def all_sum(values: list[float]) -> list[float]:
    """Element-wise sums over all processes (float64)."""
    if not session().active:
        return values
    tensor = torch.tensor(values, dtype=torch.float64, device=_comm_device(None))
    dist.all_reduce(tensor)
    return [float(v) for v in tensor.tolist()]


def _comm_device(like: torch.Tensor | None) -> torch.device:
    """nccl moves CUDA tensors only; gloo takes CPU tensors."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def wrap(module: nn.Module, device: torch.device, probe: tuple[torch.Tensor, ...]) -> nn.Module:
    """``DistributedDataParallel(module)`` in a group, else ``module`` itself.

    ``probe``, a small batch, finds the trainable parameters the loss never reaches (e.g. the
    pooler of a Hugging Face encoder under mean pooling): DDP must be told about them, and
    telling it when there are none costs a graph traversal per step (and a warning).
    Batch norm layers become ``SyncBatchNorm`` on CUDA (statistics of the global batch, as one
    process would compute them); on the CPU torch has no SyncBatchNorm, so each process
    normalises over its own share of the batch.
    """
    if not session().active:
        return module
    from torch.nn.parallel import DistributedDataParallel

    if device.type == "cuda":
        module = nn.SyncBatchNorm.convert_sync_batchnorm(module)
    unused = unused_parameters(module, probe)
    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=ids, find_unused_parameters=bool(unused))


def sync_buffers(module: nn.Module) -> None:
    """Rank 0's buffers (batch-norm statistics) on every process: DDP broadcasts them before
    each training step, so after an epoch's last step they differ until this is called."""
    if not session().active:
        return
    with torch.no_grad():
        for buffer in unwrap(module).buffers():
            if buffer.is_floating_point() or buffer.dtype in (torch.int64, torch.int32):
                dist.broadcast(buffer.data, src=0)


def unused_parameters(module: nn.Module, probe: tuple[torch.Tensor, ...]) -> list[str]:
    """Names of trainable parameters that get no gradient from ``module(*probe)`` (eval mode,
    so that no batch-norm statistics move; gradients are cleared afterwards)."""
    was_training = module.training
    module.eval()
    try:
        with torch.enable_grad():
            module(*probe).float().sum().backward()
        return [n for n, p in module.named_parameters() if p.requires_grad and p.grad is None]
    finally:
        module.zero_grad(set_to_none=True)
        module.train(was_training)


def unwrap(module: nn.Module) -> nn.Module:
    """The module inside a DDP wrapper (what is saved, validated and averaged)."""
    inner = getattr(module, "module", None)
    return inner if isinstance(inner, nn.Module) and hasattr(module, "no_sync") else module


def no_sync(module: nn.Module, skip: bool) -> contextlib.AbstractContextManager[Any]:
    """Inside, DDP does not average gradients (accumulation micro-batches before the step)."""
    if skip and hasattr(module, "no_sync"):
        return module.no_sync()  # type: ignore[operator]
    return contextlib.nullcontext()


__all__ = [
    "Session",
    "agree",
    "all_sum",
    "barrier",
    "default_threads",
    "follow_main",
    "gather_rows",
    "launched",
    "main_first",
    "no_sync",
    "on_main",
    "report",
    "session",
    "setup",
    "shard",
    "share",
    "shutdown",
    "sync_buffers",
    "unwrap",
    "wrap",
]
