"""Out-of-scope detection: is a message about something the assistant was not taught?

Two signals, both higher for messages like the training examples:

- ``probability``: the calibrated probability of the top intent;
- ``knn``: the mean cosine similarity of the message to its ``k`` nearest intent examples in
  the shared encoder's space (a message far from every example is unlike anything taught).

``combined`` (the default) standardises both on in-scope validation messages and adds them with
weights fitted by logistic regression on *simulated* unknown intents: some intents are hidden
from a stand-in classifier and from the examples, and their validation messages play the
unknown ones (a project's own out-of-scope examples, when it has some, join them). The
threshold on the score is then chosen on in-scope validation messages alone so that at most
``policy.in_scope_handoff`` of them fall under it - per language when a language has enough
validation messages.

Example::

    scorer = OOSScorer.fit(in_features, out_features, method="combined")
    scores = scorer.score({"probability": p_top, "knn": sims})
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

FEATURES = ("probability", "knn")


def knn_similarity(queries: np.ndarray, reference: np.ndarray, k: int) -> np.ndarray:
    """Mean cosine similarity of each (unit) query to its ``k`` nearest (unit) reference rows."""
    if len(reference) == 0:
        return np.zeros(len(queries))
    k = min(k, len(reference))
    out = np.empty(len(queries))
    for start in range(0, len(queries), 1024):  # bounded memory: 1024 x n_reference at a time
        sims = queries[start : start + 1024] @ reference.T
        top = np.partition(sims, len(reference) - k, axis=1)[:, -k:]
        out[start : start + 1024] = top.mean(axis=1)
    return out


def nearest_similarity(queries: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Cosine similarity of each query to its single nearest reference row."""
    return knn_similarity(queries, reference, 1)


@dataclass
class OOSScorer:
    """``score = sum_f weight_f * (feature_f - mean_f) / std_f``; higher = in scope."""

    method: str
    mean: dict[str, float]
    std: dict[str, float]
    weights: dict[str, float]
    fitted_on: dict[str, int] = field(default_factory=dict)

    @classmethod
    def fit(
        cls,
        in_scope: dict[str, np.ndarray],
        out_of_scope: dict[str, np.ndarray] | None,
        method: str = "combined",
    ) -> OOSScorer:
        """Standardise on ``in_scope`` features; weigh them on in- vs out-of-scope examples.

        ``method`` "probability" or "knn" uses that feature alone; "combined" with no
        out-of-scope examples weighs both features equally.
        """
        used = FEATURES if method == "combined" else (method,)
        mean = {f: float(np.mean(in_scope[f])) for f in used}
        std = {f: float(np.std(in_scope[f])) or 1.0 for f in used}
        weights = {f: 1.0 for f in used}
        n_out = 0 if out_of_scope is None else len(out_of_scope[used[0]])
        if method == "combined" and n_out >= 2:
            from sklearn.linear_model import LogisticRegression

            z_in = np.column_stack([(in_scope[f] - mean[f]) / std[f] for f in used])
            z_out = np.column_stack([(out_of_scope[f] - mean[f]) / std[f] for f in used])  # type: ignore[index]
            x = np.vstack([z_in, z_out])
            y = np.r_[np.ones(len(z_in)), np.zeros(len(z_out))]
            model = LogisticRegression(class_weight="balanced").fit(x, y)
            coef = np.clip(model.coef_[0], 0.0, None)  # a signal never counts against scope
            if coef.sum() > 0:
                weights = {f: float(c / coef.sum()) for f, c in zip(used, coef, strict=True)}
        return cls(method, mean, std, weights, {"in_scope": len(in_scope[used[0]]), "out": n_out})

    def score(self, features: dict[str, np.ndarray]) -> np.ndarray:
        total = np.zeros(len(next(iter(features.values()))))
        for name, weight in self.weights.items():
            total += weight * (np.asarray(features[name]) - self.mean[name]) / self.std[name]
        return total

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OOSScorer:
        return cls(**data)


def choose_threshold(in_scope_scores: np.ndarray, handoff_share: float) -> float:
    """The score under which at most ``handoff_share`` of the in-scope messages fall."""
    scores = np.sort(np.asarray(in_scope_scores, dtype=np.float64))
    if len(scores) == 0:
        return float("-inf")
    # the largest t with mean(scores < t) <= share: the k-th smallest, k = floor(share * n)
    k = int(np.floor(handoff_share * len(scores)))
    return float(scores[k]) if k < len(scores) else float(scores[-1])


def language_thresholds(
    scores: np.ndarray,
    languages: list[str],
    message_languages: list[str],
    handoff_share: float,
    min_examples: int,
) -> dict[str, dict[str, Any]]:
    """A threshold for each language with ``min_examples`` validation messages; the others
    (and the key ``*``) get the threshold over all languages."""
    overall = choose_threshold(scores, handoff_share)
    langs = np.asarray(message_languages)
    out: dict[str, dict[str, Any]] = {"*": {"threshold": overall, "n": len(scores), "own": True}}
    for code in languages:
        mine = scores[langs == code]
        own = len(mine) >= min_examples
        value = choose_threshold(mine, handoff_share) if own else overall
        out[code] = {"threshold": value, "n": len(mine), "own": own}
    return out


__all__ = [
    "FEATURES",
    "OOSScorer",
    "choose_threshold",
    "knn_similarity",
    "language_thresholds",
    "nearest_similarity",
]
