"""An in-process Flower ``Grid``: Flower's strategies talk to ``ClientApp`` objects in this
process, without a SuperLink, Ray or a network.

Flower's own simulation engine (``flwr.simulation.run_simulation``) needs Ray, which it pins to
one version (``flwr[simulation]``), starts a local cluster for (a head process, a dashboard, a
raylet) and is a large download; on a shared 2-core laptop CPU that is a lot of machinery for
clients that run one after another anyway. Flower's strategies (``FedAvg`` and the rest) only
need a ``Grid`` to send messages to nodes and to collect the replies, and Flower's ``ClientApp``
only needs a ``Message`` and a ``Context``: this Grid hands each message to its node's
``ClientApp`` directly and returns the reply. Strategy, messages, records and aggregation are
Flower's own code; only the transport is replaced.

Example::

    grid = LocalGrid({node: (client_app, context) for node, context in contexts.items()})
    result = FedAvg().start(grid, ArrayRecord(module.state_dict()), num_rounds=5)
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable
from typing import Any

# no usage reports or update checks from a library call (the environment can still turn them on)
os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")
os.environ.setdefault("FLWR_DISABLE_UPDATE_CHECK", "1")

from flwr.app import Context, Message, RecordDict
from flwr.clientapp import ClientApp
from flwr.common.constant import SUPERLINK_NODE_ID
from flwr.serverapp import Grid
from flwr.serverapp.strategy import FedAvg
from flwr.supercore.run import Run
from flwr.supercore.task_identity import TaskIdentity

RUN_ID = 1


class LocalGrid(Grid):
    """Delivers messages to in-process ``ClientApp`` objects, one node id each, in order."""

    def __init__(self, nodes: dict[int, tuple[ClientApp, Context]]) -> None:
        # Messages a strategy creates take the sender's identity from the process's task
        # identity; in this process the sender is the server (the SuperLink's node).
        TaskIdentity.run_id = RUN_ID
        TaskIdentity.node_id = SUPERLINK_NODE_ID
        TaskIdentity.task_id = 0
        self.nodes = nodes
        self._run = Run.create_empty(RUN_ID)
        self._replies: dict[str, Message] = {}
        self._ids = itertools.count(1)

    def set_run(self, run: Run) -> None:
        self._run = run

    @property
    def run(self) -> Run:
        return self._run

    def create_message(
        self,
        content: RecordDict,
        message_type: str,
        dst_node_id: int,
        group_id: str,
        ttl: float | None = None,
    ) -> Message:
        return Message(content, dst_node_id, message_type, ttl=ttl, group_id=group_id)

    def get_node_ids(self) -> Iterable[int]:
        return list(self.nodes)

    def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:
        """Run each message's ``ClientApp`` now; its reply waits to be pulled."""
        ids = []
        for message in messages:
            app, context = self.nodes[message.metadata.dst_node_id]
            key = str(next(self._ids))
            self._replies[key] = app(message, context)
            ids.append(key)
        return ids

    def pull_messages(self, message_ids: Iterable[str]) -> Iterable[Message]:
        return [self._replies.pop(key) for key in message_ids if key in self._replies]

    def send_and_receive(
        self, messages: Iterable[Message], *, timeout: float | None = None
    ) -> Iterable[Message]:
        return self.pull_messages(self.push_messages(messages))


class RecordingFedAvg(FedAvg):
    """Flower's FedAvg, keeping each round's aggregated client ``train_loss`` as it goes."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.train_loss: dict[int, float] = {}

    def aggregate_train(self, server_round: int, replies: Iterable[Message]) -> Any:
        arrays, metrics = super().aggregate_train(server_round, replies)
        if metrics is not None:
            self.train_loss[server_round] = float(metrics["train_loss"])  # type: ignore[arg-type]
        return arrays, metrics


def node_context(node_id: int, partition_id: int, partitions: int, **config: Any) -> Context:
    """A node's ``Context`` as Flower's simulation gives it: ``partition-id`` and
    ``num-partitions`` in the node config, an empty state that lasts across rounds."""
    node_config = {"partition-id": partition_id, "num-partitions": partitions, **config}
    return Context(RUN_ID, node_id, node_config, RecordDict(), {})


__all__ = ["LocalGrid", "RecordingFedAvg", "node_context"]
