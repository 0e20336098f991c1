"""Federated training: the training data stays split across simulated clients, which train
locally and share only weights; Flower's FedAvg combines them (see :mod:`.train`).

Example::

    from launchml.federated import train_federated
    run = train_federated("config.yaml", ["federated.clients=8"], out="runs/fed")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from launchml.federated.train import train_federated


def __getattr__(name: str) -> Any:
    # lazy: importing Flower (and torch) only when federated training is asked for
    if name == "train_federated":
        from launchml.federated.train import train_federated

        return train_federated
    raise AttributeError(f"module 'launchml.federated' has no attribute {name!r}")


__all__ = ["train_federated"]
