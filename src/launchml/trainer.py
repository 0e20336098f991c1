"""The one training loop of every torch model in launchml.

(Named ``trainer`` rather than ``train`` because ``launchml.train`` is the public pipeline
function; a submodule of that name would replace it as soon as it is imported.)

Nothing in this file knows about any particular model (the minGPT trainer rule): a model hands
over an ``nn.Module`` that maps a batch of input tensors to class logits, and its examples wrapped
in an :class:`launchml.inference.batching.Inputs` object that turns example indices into such a
batch (the same objects prediction uses; the validation pass is
:func:`launchml.inference.batching.predict_logits`).

``Inputs`` may have an optional hook, used when present (``getattr``):
``epoch_order(generator, batch_size) -> Tensor``, the permutation of an epoch instead of
``randperm`` (e.g. length-bucketed batches). It must draw its randomness from ``generator``
only, so that resumed runs stay exact.

``private`` (:class:`Private`, made by :mod:`launchml.privacy`) makes the run differentially
private: Poisson-sampled batches, per-example clipping and noise (Opacus), epsilon per epoch.

The loop reads top to bottom: setup (threads, seeds, optimiser, loss), resume from a checkpoint,
epochs (shuffle with a generator seeded from ``(seed, epoch)``, optional augmentation,
accumulation, clipping, schedule), validation, early stopping, a checkpoint after every epoch,
best weights restored at the end.
With ``ema_decay`` the loop also keeps a moving average of the weights (:class:`WeightAverage`);
validation, the best epoch and the weights the model ends with are then the averaged ones.

Because the data order, the augmentation and dropout of an epoch derive only from
``(seed, epoch)`` and the checkpoint holds everything else, a run killed at any moment and resumed
ends with exactly the weights of an uninterrupted run (same thread count).

Devices and processes are a layer around the loop, not a second loop: the module and each batch
move to ``train.device`` (:mod:`launchml.devices`, with autocast per ``train.precision``), and
under ``torchrun`` (:mod:`launchml.distributed`) every process takes its share of each global
batch, the module is wrapped in ``DistributedDataParallel``, and only rank 0 writes checkpoints
and progress. Each process's loss is its examples' summed loss over the whole batch's
normaliser, times the number of processes (DDP averages gradients), so the gradient is that of
the global batch's mean loss: N processes follow one process's trajectory up to floating-point
rounding, except for what each process draws at random for its own examples (dropout,
augmentation) and batch-norm statistics on the CPU.

Example::

    history = fit(module, TensorInputs(x), y, TensorInputs(x_val), y_val, config.train,
                  work_dir=Path("run.partial/work"))
"""

from __future__ import annotations

import contextlib
import math
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, TypedDict

import numpy as np
import torch
from torch import nn
from torch.optim.swa_utils import get_ema_multi_avg_fn

from launchml import checkpoint as ckpt
from launchml import distributed
from launchml.config import TrainConfig
from launchml.devices import autocast, autocast_dtype, grad_scaler, resolve_device, to_device
from launchml.errors import InvalidConfigError
from launchml.inference.batching import Batch, Inputs, TensorInputs, predict_logits

CHECKPOINT = "checkpoint.safetensors"

#: ``transform(batch, generator) -> batch``, applied to training batches only (augmentation)
Transform = Callable[[Batch, torch.Generator], Batch]
#: ``on_epoch_end(row)``: called with each epoch's history row (a tuner's pruner, a tracker)
EpochHook = Callable[[dict[str, Any]], None]


class Private(Protocol):
    """Differentially private training (:class:`launchml.privacy.DPTraining`): the engine
    trains through ``attach``'s module and steps ``attach``'s optimizer, takes its batches from
    ``epoch_batches`` (Poisson sampling) and adds ``epoch_report`` to each epoch's row; the
    per-example clipping replaces ``grad_clip``. ``detach`` ends it."""

    def attach(
        self, module: nn.Module, optimizer: torch.optim.Optimizer, steps_done: int = 0
    ) -> tuple[nn.Module, torch.optim.Optimizer]: ...

    def epoch_batches(self, generator: torch.Generator, n_batches: int) -> list[torch.Tensor]: ...

    def epoch_report(self) -> dict[str, float]: ...

    def detach(self) -> None: ...


class _Loop(TypedDict):
    """The loop's own state, saved in (and restored from) every checkpoint as plain JSON."""

    epoch: int
    step: int
    best_score: float | None
    best_epoch: int
    bad_epochs: int
    stopped: bool
    lr_scale: float
    plateau_best: float | None
    plateau_bad: int


def fit(
    module: nn.Module,
    train: Inputs,
    y_train: np.ndarray,
    val: Inputs | None,
    y_val: np.ndarray | None,
    options: TrainConfig,
    work_dir: Path | None = None,
    *,
    quiet: bool = False,
    resume: bool = False,
    history: list[dict[str, Any]] | None = None,
    transform: Transform | None = None,
    eval_batch_size: int = 512,
    on_epoch_end: EpochHook | None = None,
    private: Private | None = None,
) -> list[dict[str, Any]]:
    """Train ``module`` in place; return (and fill ``history`` with) one dict per epoch.

    Parameters
    ----------
    module: maps ``*train.batch(index)`` to logits ``(batch, n_classes)``.
    y_train, y_val: class indices (int64).
    options: the ``train`` section of the config.
    work_dir: where ``checkpoint.safetensors`` is written after each epoch (None: no checkpoint).
    resume: continue from the checkpoint in ``work_dir`` when there is one.
    transform: applied to each training batch with the epoch's generator (augmentation).
    eval_batch_size: the validation pass's batch size (``inference.batch_size``).
    on_epoch_end: called with each epoch's row after validation and the checkpoint (on resume
        first with the rows restored from the checkpoint); an exception it raises (a pruned
        trial) stops training at once and propagates.
    private: differentially private training (see :class:`Private`); None: ordinary training.
    """
    history = [] if history is None else history
    session = distributed.session()
    torch.set_num_threads(options.threads or distributed.default_threads())
    _seed_everything(options.seed)
    device = resolve_device(options.device)
    module.to(device)
    amp = autocast_dtype(device, options.precision)
    scaler = grad_scaler(device, amp)
    n_classes = _n_classes(module, train, device)
    targets = torch.as_tensor(y_train, dtype=torch.long)
    val_targets = torch.as_tensor(y_val, dtype=torch.long) if y_val is not None else None
    has_val = val is not None and len(val) > 0
    weight = _class_weights(options, y_train, n_classes)
    # summed over this process's examples, divided by the whole batch's normaliser (below)
    criterion = nn.CrossEntropyLoss(
        weight=None if weight is None else weight.to(device),
        label_smoothing=options.label_smoothing,
        reduction="sum",
    )
    optimizer = _optimizer(module, options)
    average = WeightAverage(module, options.ema_decay) if options.ema_decay else None
    n_batches = math.ceil(len(train) / options.batch_size)
    steps_per_epoch = math.ceil(n_batches / options.accumulate)
    total_steps = steps_per_epoch * options.epochs
    stop = options.early_stopping
    metric = stop.metric if has_val else "train_loss"
    sign = 1.0 if metric.endswith("loss") else -1.0  # scores are "lower is better"

    loop: _Loop = {"epoch": 0, "step": 0, "best_score": None, "best_epoch": 0, "bad_epochs": 0,
                   "stopped": False, "lr_scale": 1.0, "plateau_best": None,
                   "plateau_bad": 0}  # fmt: skip
    best: dict[str, torch.Tensor] | None = None
    path = work_dir / CHECKPOINT if work_dir is not None else None
    if resume and path is not None and distributed.agree(path.is_file()):
        best = _restore(path, module, optimizer, loop, history, average, scaler)
        if on_epoch_end is not None:
            for restored in history:
                on_epoch_end(restored)
    probe = to_device(train.batch(torch.arange(min(2, len(train)))), device)
    net = distributed.wrap(module, device, probe)  # DDP under torchrun, else module itself
    # what the loop trains through and steps: the network and optimizer, or their private twins
    trained, stepper = net, optimizer
    if private is not None:
        if session.active or scaler is not None:
            raise InvalidConfigError(
                "train.privacy: differentially private training runs in one process without "
                "fp16 loss scaling (drop --nproc, set train.precision to fp32 or bf16)"
            )
        trained, stepper = private.attach(module, optimizer, loop["step"])

    progress = None if quiet or not session.is_main else _Progress()
    try:
        while loop["epoch"] < options.epochs and not loop["stopped"]:
            epoch = loop["epoch"] + 1
            started = time.perf_counter()
            # Everything random in this epoch derives from (seed, epoch): exact resumes.
            # Dropout differs per process (each draws for its own examples).
            torch.manual_seed(options.seed * 1_000_003 + epoch + 7_919 * session.rank)
            generator = torch.Generator().manual_seed(options.seed + epoch)
            batches = _epoch_batches(train, generator, options.batch_size, n_batches, private)
            # after the order, the same for every process: each augments its own examples
            augment = generator if not session.active else _process_generator(options, epoch)
            if progress:
                progress.start_epoch(epoch, options.epochs, len(train))
            module.train()
            total_loss, seen = 0.0, 0
            for b, index in enumerate(batches):
                if len(index) == 0:  # a Poisson-sampled batch can be empty: nothing to learn
                    continue
                local, share = distributed.shard(index), 1.0
                if len(local) == 0:  # fewer examples than processes: a step that adds nothing
                    local, share = index[:1], 0.0
                stepping = (b + 1) % options.accumulate == 0 or b + 1 == n_batches
                normaliser = len(index) if weight is None else float(weight[targets[index]].sum())
                batch = to_device(train.batch(local), device)
                if transform is not None:
                    batch = transform(batch, augment)
                with distributed.no_sync(net, skip=not stepping):
                    with autocast(device, amp):
                        summed = criterion(trained(*batch), targets[local].to(device))
                    loss = summed * (share / normaliser)
                    scaled = loss * (session.world / options.accumulate)
                    (scaler.scale(scaled) if scaler is not None else scaled).backward()
                if stepping:
                    factor = _lr_factor(options, loop["step"], total_steps)
                    lr = options.lr * loop["lr_scale"] * factor
                    for group in optimizer.param_groups:
                        group["lr"] = lr * group.get("lr_scale", 1.0)
                    if scaler is not None:
                        scaler.unscale_(optimizer)
                    if options.grad_clip is not None and private is None:  # DP-SGD clips itself
                        nn.utils.clip_grad_norm_(module.parameters(), options.grad_clip)
                    if scaler is not None:
                        scaler.step(optimizer)
                        scaler.update()
                    else:
                        stepper.step()
                    stepper.zero_grad(set_to_none=True)
                    if average is not None:
                        average.update(loop["step"])
                    loop["step"] += 1
                # this process's part of the batch's mean loss, times the batch size
                total_loss += loss.item() * len(index)
                seen += len(index)
                if progress:  # rank 0's share, scaled up: an estimate until the epoch ends
                    progress.advance(len(index), total_loss * session.world / seen)
            (total_loss,) = distributed.all_sum([total_loss])
            distributed.sync_buffers(module)
            row: dict[str, Any] = {"epoch": epoch, "train_loss": total_loss / max(seen, 1)}
            # validation scores, and a best epoch keeps, the averaged weights (no val: no swap)
            with average.applied() if average is not None and has_val else contextlib.nullcontext():
                if has_val:
                    assert val is not None and val_targets is not None
                    row.update(evaluate(module, val, val_targets, eval_batch_size, n_classes))
                score = sign * row[metric]
                improved = loop["best_score"] is None or score < loop["best_score"] - stop.min_delta
                if improved and has_val:
                    best = {k: v.detach().clone() for k, v in module.state_dict().items()}
            row["lr"] = optimizer.param_groups[0]["lr"]
            if private is not None:
                row.update(private.epoch_report())
            row["seconds"] = time.perf_counter() - started
            if improved:
                loop.update({"best_score": score, "best_epoch": epoch, "bad_epochs": 0})
            else:
                loop["bad_epochs"] += 1
                if stop.patience is not None and has_val and loop["bad_epochs"] >= stop.patience:
                    loop["stopped"] = True
            if options.schedule == "plateau":
                _plateau_step(loop, score, options)
            history.append(row)
            loop["epoch"] = epoch
            if progress:
                progress.end_epoch(row, metric)
            if path is not None and session.is_main:
                _save(path, module, optimizer, loop, history, best, average, scaler)
            if on_epoch_end is not None:
                on_epoch_end(row)
    finally:
        if progress:
            progress.close()
        if private is not None:
            private.detach()
    del net  # DDP's gradient hooks go with it
    if best is not None:  # the weights of the best epoch, not the last one
        module.load_state_dict(best)
    elif average is not None:
        average.copy_to_module()
    module.eval()
    return history


def _process_generator(options: TrainConfig, epoch: int) -> torch.Generator:
    """This process's own random stream for the epoch (augmentation under torchrun)."""
    rank = distributed.session().rank
    return torch.Generator().manual_seed((options.seed + epoch) * 1_000_033 + rank)


class _Rows:
    """Rows ``[start, stop)`` of some inputs (this process's share of the validation set)."""

    def __init__(self, inputs: Inputs, start: int, stop: int) -> None:
        self.inputs, self.start, self.stop = inputs, start, stop

    def __len__(self) -> int:
        return self.stop - self.start

    def batch(self, index: torch.Tensor) -> Batch:
        return self.inputs.batch(index + self.start)


def evaluate(
    module: nn.Module,
    inputs: Inputs,
    targets: torch.Tensor,
    batch_size: int = 512,
    n_classes: int | None = None,
) -> dict[str, float]:
    """``val_loss`` (plain cross-entropy), ``val_accuracy`` and ``val_macro_f1``.

    Under torchrun each process scores a contiguous share and the logits are gathered, so every
    process gets the same figures (``n_classes`` then gives the width of an empty share).
    """
    start, stop = distributed.share(len(inputs))
    logits = predict_logits(module, _Rows(inputs, start, stop), batch_size)
    if len(logits) == 0 and n_classes is not None:
        logits = torch.empty(0, n_classes)
    logits = distributed.gather_rows(logits, len(inputs))
    predicted = logits.argmax(1)
    n_classes = logits.shape[1]
    return {
        "val_loss": nn.functional.cross_entropy(logits, targets).item(),
        "val_accuracy": (predicted == targets).double().mean().item(),
        "val_macro_f1": macro_f1(targets.numpy(), predicted.numpy(), n_classes),
    }


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> float:
    """Unweighted mean of per-class F1 over the classes present in ``y_true`` or ``y_pred``."""
    confusion = np.bincount(y_true * n_classes + y_pred, minlength=n_classes**2)
    confusion = confusion.reshape(n_classes, n_classes)
    tp = np.diag(confusion).astype(float)
    denominator = confusion.sum(0) + confusion.sum(1)
    present = denominator > 0
    return float(np.mean(2 * tp[present] / denominator[present])) if present.any() else 0.0


class WeightAverage:
    """An exponential moving average of a module's trainable weights (``train.ema_decay``).

    Updated after every optimiser step with torch's EMA rule (``torch.optim.swa_utils``), with
    the decay warmed up as ``min(decay, (1 + n) / (10 + n))`` after ``n`` steps (as TensorFlow's
    ``ExponentialMovingAverage``), so that the first averages do not cling to the initial
    weights. Frozen parameters and buffers are not averaged: the module's own are used.
    """

    def __init__(self, module: nn.Module, decay: float) -> None:
        named = [(name, p) for name, p in module.named_parameters() if p.requires_grad]
        self.names = [name for name, _ in named]
        self.live = [p for _, p in named]
        self.averaged = [p.detach().clone() for p in self.live]
        self.decay = decay

    def update(self, step: int) -> None:
        """Fold in the live weights after optimiser step ``step`` (0-based)."""
        decay = min(self.decay, (1 + step) / (10 + step))
        if self.live:
            get_ema_multi_avg_fn(decay)(self.averaged, [p.detach() for p in self.live], None)

    @contextlib.contextmanager
    def applied(self) -> Iterator[None]:
        """Inside the block the module holds the averaged weights; after it, its own again."""
        own = [p.detach().clone() for p in self.live]
        self.copy_to_module()
        try:
            yield
        finally:
            _assign(self.live, own)

    def copy_to_module(self) -> None:
        _assign(self.live, self.averaged)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return dict(zip(self.names, self.averaged, strict=True))

    def load_state_dict(self, tensors: dict[str, torch.Tensor]) -> None:
        for name, averaged in zip(self.names, self.averaged, strict=True):
            averaged.copy_(tensors[name])


@torch.no_grad()
def _assign(params: list[nn.Parameter], values: list[torch.Tensor]) -> None:
    for p, value in zip(params, values, strict=True):
        p.copy_(value)


# --------------------------------------------------------------------------------------------
# Setup helpers.


def _epoch_batches(
    train: Inputs,
    generator: torch.Generator,
    batch_size: int,
    n_batches: int,
    private: Private | None,
) -> list[torch.Tensor]:
    """The example indices of each batch of an epoch: a permutation cut in ``batch_size``
    slices (or the ``epoch_order`` hook's, e.g. length-bucketed), or ``private``'s batches."""
    if private is not None:
        return private.epoch_batches(generator, n_batches)
    epoch_order = getattr(train, "epoch_order", None)
    if epoch_order is not None:
        order = epoch_order(generator, batch_size)
    else:
        order = torch.randperm(len(train), generator=generator)
    return [order[b * batch_size : (b + 1) * batch_size] for b in range(n_batches)]


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _n_classes(module: nn.Module, train: Inputs, device: torch.device) -> int:
    with torch.no_grad():
        was_training = module.training
        module.eval()
        n = module(*to_device(train.batch(torch.arange(min(2, len(train)))), device)).shape[1]
        module.train(was_training)
    return int(n)


def _class_weights(options: TrainConfig, y: np.ndarray, n_classes: int) -> torch.Tensor | None:
    if options.class_weights == "none":
        return None
    if options.class_weights == "balanced":  # as scikit-learn: n / (k * count)
        counts = np.bincount(y, minlength=n_classes).astype(float)
        weights = len(y) / (n_classes * np.maximum(counts, 1.0))
        return torch.tensor(weights, dtype=torch.float32)
    if len(options.class_weights) != n_classes:
        raise InvalidConfigError(
            f"train.class_weights has {len(options.class_weights)} values but there are "
            f"{n_classes} classes; give one weight per class (in label order) or 'balanced'"
        )
    return torch.tensor(options.class_weights, dtype=torch.float32)


def _optimizer(module: nn.Module, options: TrainConfig) -> torch.optim.Optimizer:
    # A module may split its parameters into groups whose learning rate is ``lr_scale`` times
    # the scheduled one (e.g. a pretrained body and a new head): ``param_groups() -> [{"params":
    # [...], "lr_scale": float}, ...]``. Without that hook, everything is one group at scale 1.
    param_groups = getattr(module, "param_groups", None)
    sources = param_groups() if param_groups is not None else [{"params": module.parameters()}]
    groups = []
    for source in sources:
        params = [p for p in source["params"] if p.requires_grad]
        scale = float(source.get("lr_scale", 1.0))
        # Weight decay only on matrices and kernels, not on biases and norm scales (as nanoGPT).
        decay = [p for p in params if p.dim() >= 2]
        no_decay = [p for p in params if p.dim() < 2]
        groups += [
            {"params": decay, "weight_decay": options.weight_decay, "lr_scale": scale},
            {"params": no_decay, "weight_decay": 0.0, "lr_scale": scale},
        ]
    if options.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=options.lr, momentum=options.momentum, nesterov=True)
    if options.optimizer == "adam":
        # Adam's weight decay is L2 added to the gradient; AdamW decouples it.
        return torch.optim.Adam(groups, lr=options.lr)
    return torch.optim.AdamW(groups, lr=options.lr)


def _lr_factor(options: TrainConfig, step: int, total: int) -> float:
    """Multiplier of ``options.lr`` at optimiser step ``step`` (0-based) of ``total``."""
    if options.schedule == "onecycle":
        # Cosine up from lr/25 over the first 30% (or warmup_ratio), cosine down to lr/25e4.
        peak = max(1, int((options.warmup_ratio or 0.3) * total))
        if step < peak:
            return _cosine(1 / 25, 1.0, step / peak)
        return _cosine(1.0, 1 / 25e4, (step - peak) / max(1, total - peak))
    warmup = int(options.warmup_ratio * total)
    if step < warmup:
        return (step + 1) / (warmup + 1)
    progress = (step - warmup) / max(1, total - warmup)
    if options.schedule == "cosine":
        return _cosine(1.0, 0.0, progress)
    if options.schedule == "linear":
        return max(0.0, 1.0 - progress)
    return 1.0  # constant, plateau (scaled by loop["lr_scale"])


def _cosine(start: float, end: float, progress: float) -> float:
    return end + (start - end) * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def _plateau_step(loop: _Loop, score: float, options: TrainConfig) -> None:
    """Reduce-on-plateau: scale the lr by ``plateau_factor`` after ``plateau_patience`` misses."""
    if loop["plateau_best"] is None or score < loop["plateau_best"]:
        loop["plateau_best"], loop["plateau_bad"] = score, 0
        return
    loop["plateau_bad"] += 1
    if loop["plateau_bad"] > options.plateau_patience:
        loop["lr_scale"] *= options.plateau_factor
        loop["plateau_bad"] = 0


# --------------------------------------------------------------------------------------------
# Checkpoints.


def _save(
    path: Path,
    module: nn.Module,
    optimizer: torch.optim.Optimizer,
    loop: _Loop,
    history: list[dict[str, Any]],
    best: dict[str, torch.Tensor] | None,
    average: WeightAverage | None,
    scaler: Any = None,
) -> None:
    optim_tensors, optim_rest = ckpt.split_optimizer_state(optimizer)
    rng_tensors, rng_rest = ckpt.rng_state()
    groups = {"model": module.state_dict(), "optim": optim_tensors, "rng": rng_tensors}
    if best is not None:
        groups["best"] = best
    if average is not None:
        groups["ema"] = average.state_dict()
    state = {"loop": loop, "history": history, "optim": optim_rest, "rng": rng_rest}
    if scaler is not None:  # fp16 loss scaling: the scale and its growth counter
        state["scaler"] = scaler.state_dict()
    ckpt.write_checkpoint(path, groups, state)


def _restore(
    path: Path,
    module: nn.Module,
    optimizer: torch.optim.Optimizer,
    loop: _Loop,
    history: list[dict[str, Any]],
    average: WeightAverage | None,
    scaler: Any = None,
) -> dict[str, torch.Tensor] | None:
    groups, state = ckpt.read_checkpoint(path)
    module.load_state_dict(groups["model"])
    if average is not None:
        if "ema" not in groups:
            from launchml.errors import ConflictError

            raise ConflictError(
                f"{path}: this checkpoint was written without train.ema_decay; resume with the "
                "run's own config or start afresh"
            )
        average.load_state_dict(groups["ema"])
    optimizer.load_state_dict(ckpt.join_optimizer_state(groups.get("optim", {}), state["optim"]))
    ckpt.set_rng_state(groups["rng"], state["rng"])
    if scaler is not None and "scaler" in state:
        scaler.load_state_dict(state["scaler"])
    loop.update(state["loop"])
    history[:] = state["history"]
    return groups.get("best")


class _Progress:
    """A rich progress bar per epoch (on stderr) with throughput, ETA, loss and the val metric."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:>8.0f}/s"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("loss {task.fields[loss]:.4f} {task.fields[val]}"),
            console=Console(stderr=True),
        )
        self.progress.start()
        self.task: Any = None
        self.last = ""
        self.started = 0.0
        self.seen = 0

    def start_epoch(self, epoch: int, epochs: int, total: int) -> None:
        self.task = self.progress.add_task(
            f"epoch {epoch}/{epochs}", total=total, loss=float("nan"), val=self.last, rate=0.0
        )
        self.started, self.seen = time.perf_counter(), 0

    def advance(self, n: int, loss: float) -> None:
        self.seen += n
        rate = self.seen / max(time.perf_counter() - self.started, 1e-9)
        self.progress.update(self.task, advance=n, loss=loss, rate=rate)

    def end_epoch(self, row: dict[str, Any], metric: str) -> None:
        if metric in row and metric != "train_loss":
            self.last = f"{metric} {row[metric]:.4f}"
        self.progress.update(self.task, val=self.last)

    def close(self) -> None:
        self.progress.stop()


# Inputs, TensorInputs and predict_logits live in launchml.inference.batching (prediction uses
# them without the engine); they are named here too for the models' and scripts' convenience.
__all__ = [
    "Inputs",
    "TensorInputs",
    "WeightAverage",
    "evaluate",
    "fit",
    "macro_f1",
    "predict_logits",
]
