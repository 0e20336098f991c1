"""``train_federated(config) -> Run``: FedAvg over simulated clients, saved as a normal run.

The run is made by :func:`launchml.pipeline.train` (the same data loading, checks, run
directory, metrics, manifest and failure handling as ``launchml train``); only the fitting is
replaced by :func:`fit_federated`, which reads top to bottom: deal the training examples out to
the clients (:mod:`launchml.federated.partition`), set the model up
(:mod:`launchml.federated.tasks`), run Flower's ``FedAvg`` strategy for ``rounds`` rounds over
in-process ``ClientApp`` objects (:mod:`launchml.federated.grid`), and leave the global weights
in the model; ``history.csv`` gets one row per round and ``meta.json`` the clients' shares.

In each round every sampled client receives the global weights, trains ``local_epochs`` epochs
on its own examples with the training engine (the ``train`` options at a constant learning
rate: no schedule, early stopping or weight averaging inside a round; a fresh optimiser), and
sends its weights and example count back; FedAvg averages them weighted by the counts. After
each round the global model is scored on the run's validation split (on the server), and, as the
engine keeps the best epoch, the run keeps the best round by ``train.early_stopping.metric``
(the last round when there is no validation split).

Example::

    run = train_federated("config.yaml", ["federated.clients=8", "federated.partition=by-label"])
    run.metrics["test"]["accuracy"]
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from functools import partial
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import torch

from launchml import trainer as engine
from launchml.config import Config, FederatedConfig, TrainConfig, load_config
from launchml.data.load import Splits
from launchml.federated.partition import describe, partition
from launchml.federated.tasks import FederatedTask, check_federated, federated_task
from launchml.models import FitContext, Model
from launchml.models.torch_base import dp_layers
from launchml.pipeline import encode_labels, train
from launchml.runs import Run

#: the Flower strategy that aggregates the clients' weights
STRATEGY = "FedAvg"


def train_federated(
    config: Config | dict[str, Any] | str | Path,
    overrides: list[str] | None = None,
    out: str | Path | None = None,
    *,
    quiet: bool = True,
    log: Callable[[str], None] | None = None,
) -> Run:
    """Train ``config``'s model by FedAvg over ``config.federated.clients`` simulated clients.

    Parameters
    ----------
    config: a :class:`Config`, a dict, or a YAML file; without a ``federated`` section the
        defaults of :class:`launchml.config.FederatedConfig` apply.
    overrides: ``key=value`` overrides, e.g. ``["federated.rounds=20"]``.
    out: the run directory to create (default ``runs/<time>-<model type>``).
    quiet: no line per round.
    log: a callable taking one line of text (warnings and the rounds).
    """
    if not isinstance(config, Config):
        config = load_config(config, overrides)
    elif overrides:
        config = load_config(config.model_dump(mode="json"), overrides)
    if config.federated is None:
        config = config.model_copy(update={"federated": FederatedConfig()})
    check_federated(config)  # before the data are read: the cheap refusals first
    say = None if quiet else log
    return train(config, out, quiet=True, log=log, fit=partial(fit_federated, say=say))


def fit_federated(
    model: Model, splits: Splits, ctx: FitContext, say: Callable[[str], None] | None = None
) -> None:
    """The pipeline's ``fit``: FedAvg in place of ``model.fit``; fills ``ctx``."""
    config = ctx.config
    fed = config.federated
    assert fed is not None
    check_federated(config, splits.train.kind)
    y_train = encode_labels(splits.train, splits.labels)
    y_val = encode_labels(splits.val, splits.labels) if splits.val else None
    parts = partition(y_train, fed.clients, fed.partition, fed.shards_per_client, config.train.seed)
    task = federated_task(model, config, splits.train, splits.val)
    privates = client_privacy(config, parts)
    ctx.history.extend(run_fedavg(task, parts, y_train, y_val, config, say, privates))
    ctx.meta["federated"] = {
        "framework": f"flwr {version('flwr')} ({STRATEGY}, in-process grid)",
        "clients": fed.clients,
        "rounds": fed.rounds,
        "partition": fed.partition,
        "federated_weights": task.what,
        "client_data": describe(parts, y_train, splits.labels),
    }
    if privates:
        ctx.meta["privacy"] = privacy_spent(privates)


def client_privacy(config: Config, parts: list[np.ndarray]) -> dict[int, Any]:
    """``train.privacy`` per client: each trains with DP-SGD on its own examples, with its own
    accountant over all its rounds (the budget covers ``rounds x local_epochs`` epochs)."""
    if config.train.privacy is None:
        return {}
    from launchml.privacy import DPTraining

    fed = config.federated
    assert fed is not None
    epochs = fed.rounds * fed.local_epochs
    return {
        k: DPTraining(config.train.privacy, epochs, config.train.batch_size, len(part))
        for k, part in enumerate(parts)
    }


def privacy_spent(privates: dict[int, Any]) -> dict[str, Any]:
    """``meta.json``'s ``privacy`` for a federated run: the largest epsilon any client spent
    (each client's guarantee covers its own examples), and every client's."""
    spent = [privates[k].spent() for k in sorted(privates)]
    worst = max(spent, key=lambda s: s["epsilon"])
    return {
        **worst,
        "scope": "per client: each client's examples, by its own accountant (local DP-SGD)",
        "epsilon_per_client": [s["epsilon"] for s in spent],
    }


def local_options(config: Config, task: FederatedTask, round_: int, client: int) -> TrainConfig:
    """The engine options of one client's training in one round (its own seed)."""
    fed = config.federated
    assert fed is not None
    options = config.train
    return options.model_copy(
        update={
            "epochs": fed.local_epochs,
            "seed": options.seed + 1_000 * round_ + client,
            "schedule": "constant",
            "warmup_ratio": 0.0,
            "ema_decay": None,
            "early_stopping": options.early_stopping.model_copy(update={"patience": None}),
            "threads": options.threads or task.threads,
        }
    )


def run_fedavg(
    task: FederatedTask,
    parts: list[np.ndarray],
    y_train: np.ndarray,
    y_val: np.ndarray | None,
    config: Config,
    say: Callable[[str], None] | None = None,
    privates: dict[int, Any] | None = None,
) -> list[dict[str, Any]]:
    """Flower's FedAvg over in-process clients; the global weights end up in ``task.module``.
    Returns one history row per round (aggregated train loss, server-side validation)."""
    from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
    from flwr.clientapp import ClientApp

    from launchml.federated.grid import LocalGrid, RecordingFedAvg, node_context

    fed = config.federated
    assert fed is not None
    batch_size = config.inference.batch_size
    app = ClientApp()

    @app.train()
    def client_train(message: Message, context: Context) -> Message:
        client = int(context.node_config["partition-id"])
        round_ = int(message.content["config"]["server-round"])  # type: ignore[arg-type]
        arrays = message.content["arrays"]
        assert isinstance(arrays, ArrayRecord)
        task.module.load_state_dict(arrays.to_torch_state_dict())
        mine = parts[client]
        rows = engine.fit(
            task.module,
            task.subset(mine),
            y_train[mine],
            None,
            None,
            local_options(config, task, round_, client),
            quiet=True,
            eval_batch_size=batch_size,
            private=(privates or {}).get(client),
        )
        reply: dict[str, ArrayRecord | MetricRecord | ConfigRecord] = {
            "arrays": ArrayRecord(task.module.state_dict()),
            "metrics": MetricRecord(
                {"train_loss": rows[-1]["train_loss"], "num-examples": len(mine)}
            ),
        }
        return Message(RecordDict(reply), reply_to=message)

    flower_log = logging.getLogger("flwr")
    level = flower_log.level
    # Flower logs every round at INFO (and warns that clients do not evaluate, as intended);
    # we say our own line per round, and client errors surface as exceptions in this process
    flower_log.setLevel(logging.ERROR)
    nodes = {100 + k: (app, node_context(100 + k, k, fed.clients)) for k in range(fed.clients)}
    strategy = RecordingFedAvg(
        fraction_train=fed.fraction,
        fraction_evaluate=0.0,  # clients do not score: the server does, on the val split
        min_train_nodes=max(1, round(fed.fraction * fed.clients)),
        min_available_nodes=fed.clients,
    )
    history: list[dict[str, Any]] = []
    val_targets = torch.as_tensor(y_val, dtype=torch.long) if y_val is not None else None
    clock = [time.perf_counter()]
    # as the engine keeps the best epoch: the best round by train.early_stopping.metric
    metric = config.train.early_stopping.metric
    sign = 1.0 if metric.endswith("loss") else -1.0
    best: dict[str, Any] = {"score": None, "arrays": None, "round": None}

    def server_evaluate(round_: int, arrays: ArrayRecord) -> MetricRecord | None:
        """After each round: the clients' mean loss, the global model on the val split."""
        if round_ == 0:
            return None
        aggregated = strategy.train_loss[round_]
        row: dict[str, Any] = {"epoch": round_, "round": round_, "train_loss": aggregated}
        if task.val is not None and val_targets is not None:
            task.module.load_state_dict(arrays.to_torch_state_dict())
            row.update(engine.evaluate(task.module, task.val, val_targets, batch_size))
            score = sign * row[metric]
            if best["score"] is None or score < best["score"]:
                best.update(score=score, arrays=arrays, round=round_)
        row["seconds"] = round(time.perf_counter() - clock[0], 3)
        clock[0] = time.perf_counter()
        history.append(row)
        if say is not None:
            score = f", val accuracy {row['val_accuracy']:.4f}" if "val_accuracy" in row else ""
            say(
                f"round {round_}/{fed.rounds}: clients' train loss {aggregated:.4f}{score}"
                f"{spent_so_far(privates)} "
                f"({row['seconds']:.1f} s)"
            )
        return MetricRecord({k: float(v) for k, v in row.items()})

    # DP-SGD trains LSTMs as Opacus' DPLSTM (same weight names): swapped in for all rounds
    layers = dp_layers(task.module) if privates else contextlib.nullcontext()
    try:
        with layers:
            result = strategy.start(
                LocalGrid(nodes),
                ArrayRecord(task.module.state_dict()),
                num_rounds=fed.rounds,
                evaluate_fn=server_evaluate,
            )
    finally:
        flower_log.setLevel(level)
    final = best["arrays"] if best["arrays"] is not None else result.arrays
    task.module.load_state_dict(final.to_torch_state_dict())
    task.module.eval()
    for row in history:
        row["best"] = row["round"] == (best["round"] or fed.rounds)
    return history


def spent_so_far(privates: dict[int, Any] | None) -> str:
    if not privates:
        return ""
    return f", epsilon {max(p.epsilon() for p in privates.values()):.3f}"


__all__ = ["client_privacy", "local_options", "privacy_spent", "run_fedavg", "train_federated"]
