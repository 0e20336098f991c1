"""Stratified, seeded splits: the same seed and data always give the same split."""

from __future__ import annotations

import numpy as np

from launchml.data.dataset import Dataset


def stratified_split(data: Dataset, fraction: float, seed: int) -> tuple[Dataset, Dataset | None]:
    """Move about ``fraction`` of every class into a second set; returns ``(rest, held_out)``.

    Each class with at least two examples gives ``round(fraction * n)`` of them (at least one,
    and never all), so rare classes stay in both sets; a class with one example stays in ``rest``.
    Both parts keep the original row order.
    """
    if fraction <= 0:
        return data, None
    rng = np.random.default_rng(seed)
    labels = np.asarray(data.labels)
    held: list[np.ndarray] = []
    for label in sorted(set(data.labels)):
        members = np.flatnonzero(labels == label)
        if len(members) < 2:
            continue
        count = min(max(1, round(fraction * len(members))), len(members) - 1)
        held.append(rng.permutation(members)[:count])
    held_idx = np.sort(np.concatenate(held)) if held else np.array([], dtype=np.int64)
    if len(held_idx) == 0:
        return data, None
    rest_idx = np.setdiff1d(np.arange(len(data)), held_idx)
    return data.subset(rest_idx), data.subset(held_idx)
