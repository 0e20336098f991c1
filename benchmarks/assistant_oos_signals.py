"""Out-of-scope signals on frozen sentence vectors, Banking77 with 10 intents never seen.

Usage::

    python benchmarks/assistant_oos_signals.py [--encoder minilm]

The protocol of ``unknown_intents.py`` (10 intents held out, seed 0; 90/10 split of the rest):
every signal's AUROC (unknown vs known test queries) and the share of unknown queries caught at
the 5th-percentile threshold of validation, for: the top probability of a linear head, max
logit, energy; kNN (k = 1, 5, 10, 20); Mahalanobis to the class means (shared covariance) and
its relative variant; kNN after within-class whitening or after removing the top principal
components; kNN in the hidden space of a learned projection; z-score sums of pairs. The
assistant's combined score (``benchmarks/assistant.py oos``) was chosen from these.
"""

from __future__ import annotations

import argparse
import json
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pandas as pd
import torch
from bench_common import SHARED_DATA
from scipy.special import logsumexp, softmax
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from launchml.assistant.encoder import SentenceEncoder, default_cache_dir


def knn(queries: np.ndarray, reference: np.ndarray, k: int = 5) -> np.ndarray:
    return -np.sort(-(queries @ reference.T), axis=1)[:, :k].mean(axis=1)


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def linear_head(x: np.ndarray, y: np.ndarray, classes: int, hidden: int = 0):  # type: ignore[no-untyped-def]
    """The frozen recipe's head (AdamW, lr 1e-2 / 1e-3 with a hidden layer, dropout 0.1)."""
    torch.manual_seed(0)
    body = (
        torch.nn.Sequential(torch.nn.Linear(x.shape[1], hidden), torch.nn.GELU(),
                            torch.nn.Linear(hidden, 256))
        if hidden else torch.nn.Identity()
    )  # fmt: skip
    out = torch.nn.Linear(256 if hidden else x.shape[1], classes)
    params = [*body.parameters(), *out.parameters()]
    optimiser = torch.optim.AdamW(params, lr=1e-3 if hidden else 1e-2, weight_decay=0.01)
    xt, yt = torch.tensor(x), torch.tensor(y)
    generator = torch.Generator().manual_seed(0)
    for _ in range(30 if hidden else 40):
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), 32):
            batch = order[start : start + 32]
            z = body(torch.nn.functional.dropout(xt[batch], 0.1))
            loss = torch.nn.functional.cross_entropy(out(z), yt[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()

    def apply(q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with torch.no_grad():
            z = body(torch.tensor(q))
            return out(z).numpy(), z.numpy()

    return apply


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", default="minilm")
    args = parser.parse_args()
    bank = SHARED_DATA / "banking77"
    train, test = pd.read_csv(bank / "train.csv"), pd.read_csv(bank / "test.csv")
    encoder = SentenceEncoder.load(args.encoder)
    x_all = encoder.encode(list(train["text"]), default_cache_dir())
    x_test = encoder.encode(list(test["text"]), default_cache_dir())
    intents = sorted(train["category"].unique())
    held = sorted(np.random.default_rng(0).choice(intents, size=10, replace=False).tolist())
    index = np.flatnonzero(~train["category"].isin(held).to_numpy())
    fit_i, val_i = train_test_split(
        index, test_size=0.1, stratify=train["category"].to_numpy()[index], random_state=0
    )
    labels = sorted(set(train["category"].to_numpy()[fit_i]))
    y = np.array([labels.index(c) for c in train["category"].to_numpy()[fit_i]])
    x_fit, x_val = x_all[fit_i], x_all[val_i]
    known = ~test["category"].isin(held).to_numpy()
    head = linear_head(x_fit, y, len(labels))
    projection = linear_head(x_fit, y, len(labels), hidden=512)
    means = np.stack([x_fit[y == c].mean(0) for c in range(len(labels))])
    within = (x_fit - means[y]).T @ (x_fit - means[y]) / len(x_fit)
    centre, overall = x_fit.mean(0), np.cov(x_fit.T, bias=True)
    eigval, eigvec = np.linalg.eigh(within + 1e-3 * np.eye(len(within)))
    whiten = eigvec / np.sqrt(eigval)
    top_pcs = np.linalg.svd(x_fit - centre, full_matrices=False)[2][:5]

    def mahalanobis(q: np.ndarray, mu: np.ndarray, cov: np.ndarray, reg: float) -> np.ndarray:
        inverse = np.linalg.inv(cov + reg * np.eye(len(cov)))
        return np.stack([np.einsum("ij,jk,ik->i", q - m, inverse, q - m) for m in mu], 1)

    def signals(q: np.ndarray) -> dict[str, np.ndarray]:
        logits, _ = head(q)
        _, hidden = projection(q)
        _, hidden_fit = projection(x_fit)
        d = mahalanobis(q, means, within, 1e-3)
        background = mahalanobis(q, centre[None], overall, 1e-3)[:, 0]
        removed = (q - centre) - ((q - centre) @ top_pcs.T) @ top_pcs
        removed_fit = (x_fit - centre) - ((x_fit - centre) @ top_pcs.T) @ top_pcs
        out = {
            "probability": softmax(logits, 1).max(1), "max_logit": logits.max(1),
            "energy": logsumexp(logits, 1),
            **{f"knn{k}": knn(q, x_fit, k) for k in (1, 5, 10, 20)},
            "mahalanobis": -d.min(1), "relative_mahalanobis": -(d - background[:, None]).min(1),
            "knn5_whitened": knn(unit((q - centre) @ whiten), unit((x_fit - centre) @ whiten)),
            "knn5_top5_pcs_removed": knn(unit(removed), unit(removed_fit)),
            "knn5_projection": knn(unit(hidden), unit(hidden_fit)),
        }  # fmt: skip
        return out

    s_test, s_val = signals(x_test), signals(x_val)

    def report(name: str, test_scores: np.ndarray, val_scores: np.ndarray) -> None:
        threshold = np.quantile(val_scores, 0.05)
        print(json.dumps({
            "signal": name,
            "auroc": round(float(roc_auc_score(~known, -test_scores)), 4),
            "unknown_caught": round(float(np.mean(test_scores[~known] < threshold)), 4),
            "known_handed_off": round(float(np.mean(test_scores[known] < threshold)), 4),
        }), flush=True)  # fmt: skip

    for name in s_test:
        report(name, s_test[name], s_val[name])
    for pair in (("probability", "knn5"), ("max_logit", "knn5"), ("energy", "knn5"),
                 ("knn5_projection", "knn5")):  # fmt: skip
        z_test = sum((s_test[p] - s_val[p].mean()) / s_val[p].std() for p in pair)
        z_val = sum((s_val[p] - s_val[p].mean()) / s_val[p].std() for p in pair)
        report("z:" + "+".join(pair), z_test, z_val)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
