"""Splitting the training data across simulated clients: iid, or by label (non-iid).

- ``iid``: a seeded random permutation cut into ``clients`` parts of (nearly) equal size: every
  client sees every class in about the overall proportions.
- ``by-label``: the pathological non-iid split of McMahan et al. (2017, "Communication-Efficient
  Learning of Deep Networks from Decentralized Data"): sort the examples by label, cut them into
  ``clients x shards_per_client`` shards of equal size, and deal each client
  ``shards_per_client`` shards at random. With two shards, most clients hold two or three
  classes; their local models disagree, which is what FedAvg has to overcome.

Example::

    parts = partition(y_train, clients=10, scheme="by-label", shards_per_client=2, seed=0)
    [len(p) for p in parts]           # 10 index arrays that together cover y_train once
"""

from __future__ import annotations

import numpy as np

from launchml.errors import InvalidConfigError


def partition(
    y: np.ndarray, clients: int, scheme: str, shards_per_client: int = 2, seed: int = 0
) -> list[np.ndarray]:
    """Index arrays, one per client, that together hold every example exactly once."""
    n = len(y)
    pieces = clients if scheme == "iid" else clients * shards_per_client
    if n < pieces:
        what = "clients" if scheme == "iid" else "clients x shards_per_client shards"
        raise InvalidConfigError(
            f"federated: {n} training examples cannot be split into {pieces} {what}; use "
            "fewer --clients (or federated.shards_per_client)"
        )
    rng = np.random.default_rng(seed)
    if scheme == "iid":
        return [np.sort(part) for part in np.array_split(rng.permutation(n), clients)]
    if scheme != "by-label":
        raise InvalidConfigError(f"federated.partition: 'iid' or 'by-label', got {scheme!r}")
    # shuffle first, so that within one label the order (and so each shard) is random
    shuffled = rng.permutation(n)
    by_label = shuffled[np.argsort(y[shuffled], kind="stable")]
    shards = np.array_split(by_label, pieces)
    dealt = rng.permutation(pieces).reshape(clients, shards_per_client)
    return [np.sort(np.concatenate([shards[s] for s in hand])) for hand in dealt]


def describe(parts: list[np.ndarray], y: np.ndarray, labels: list[str]) -> list[dict[str, object]]:
    """Per client: how many examples and how many of each label (for meta.json and the CLI)."""
    out = []
    for part in parts:
        counts = np.bincount(y[part], minlength=len(labels))
        out.append(
            {
                "examples": len(part),
                "labels": int((counts > 0).sum()),
                "per_label": {labels[i]: int(c) for i, c in enumerate(counts) if c},
            }
        )
    return out


__all__ = ["describe", "partition"]
