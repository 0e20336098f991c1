"""Temperature scaling against an independent NumPy implementation, and the threshold rules."""

from __future__ import annotations

import numpy as np
import pytest

from launchml.assistant.calibrate import ece, fit_temperature, logits_from_proba, nll, softmax_t
from launchml.assistant.oos import (
    OOSScorer,
    choose_threshold,
    knn_similarity,
    language_thresholds,
)


def numpy_nll(logits: np.ndarray, y: np.ndarray, t: float) -> float:
    z = logits / t
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-np.mean(logp[np.arange(len(y)), y]))


def overconfident(n: int = 600, classes: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Logits three times too sharp for how often they are right."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    logits = rng.normal(0, 1, (n, classes))
    logits[np.arange(n), y] += 1.0
    return 3.0 * logits, y


def test_temperature_matches_a_grid_search_in_numpy() -> None:
    logits, y = overconfident()
    grid = np.exp(np.linspace(np.log(0.05), np.log(20), 1501))
    reference = grid[np.argmin([numpy_nll(logits, y, t) for t in grid])]
    fitted = fit_temperature(logits, y)
    assert fitted == pytest.approx(reference, rel=5e-3)
    assert fitted > 2.0  # it undoes the sharpening
    assert nll(logits, y, fitted) == pytest.approx(numpy_nll(logits, y, fitted), rel=1e-9)
    assert nll(logits, y, fitted) < nll(logits, y, 1.0)


def test_scaling_lowers_ece_and_keeps_the_ranking() -> None:
    logits, y = overconfident(seed=1)
    t = fit_temperature(logits, y)
    before, after = softmax_t(logits, 1.0), softmax_t(logits, t)
    assert ece(after, y) < ece(before, y) / 2
    assert (after.argmax(axis=1) == before.argmax(axis=1)).all()
    np.testing.assert_allclose(after.sum(axis=1), 1.0)


def test_probabilities_scale_through_their_logs() -> None:
    proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    np.testing.assert_allclose(softmax_t(logits_from_proba(proba), 1.0), proba, atol=1e-9)
    assert fit_temperature(np.zeros((0, 3)), np.zeros(0, dtype=int)) == 1.0


def test_threshold_hands_off_at_most_the_target_share() -> None:
    rng = np.random.default_rng(0)
    for n in (7, 20, 101, 1000):
        scores = rng.normal(size=n)
        for share in (0.01, 0.05, 0.2):
            t = choose_threshold(scores, share)
            assert np.mean(scores < t) <= share
            # and it is the largest such threshold: the next score up would exceed the share
            higher = np.sort(scores)[np.searchsorted(np.sort(scores), t, side="right") :]
            if len(higher):
                assert np.mean(scores < higher[0]) > share


def test_language_thresholds_fall_back_to_all_languages_when_few() -> None:
    scores = np.r_[np.linspace(0, 1, 40), np.linspace(5, 6, 5)]
    langs = ["en"] * 40 + ["de"] * 5
    t = language_thresholds(scores, ["en", "de", "fr"], langs, 0.1, min_examples=30)
    assert t["en"]["own"] and not t["de"]["own"] and t["fr"]["n"] == 0
    assert t["de"]["threshold"] == t["*"]["threshold"] == t["fr"]["threshold"]
    assert t["en"]["threshold"] == choose_threshold(scores[:40], 0.1)


def test_knn_similarity_is_the_mean_of_the_k_largest_cosines() -> None:
    rng = np.random.default_rng(0)
    ref = rng.normal(size=(50, 8))
    ref /= np.linalg.norm(ref, axis=1, keepdims=True)
    queries = ref[:3] + 0.1 * rng.normal(size=(3, 8))
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    expected = np.sort(queries @ ref.T, axis=1)[:, -4:].mean(axis=1)
    np.testing.assert_allclose(knn_similarity(queries, ref, 4), expected)


def test_combined_weights_favour_the_signal_that_separates() -> None:
    rng = np.random.default_rng(0)
    inside = {"probability": rng.normal(0.8, 0.1, 300), "knn": rng.normal(0.7, 0.05, 300)}
    # unknown messages differ in knn only; probability is as high as for known ones
    outside = {"probability": rng.normal(0.8, 0.1, 100), "knn": rng.normal(0.5, 0.05, 100)}
    scorer = OOSScorer.fit(inside, outside, "combined")
    assert scorer.weights["knn"] > 0.8 > scorer.weights["probability"]
    assert sum(scorer.weights.values()) == pytest.approx(1.0)
    assert scorer.score(outside).mean() < scorer.score(inside).mean()
    again = OOSScorer.from_json(scorer.to_json())
    np.testing.assert_allclose(again.score(inside), scorer.score(inside))
    alone = OOSScorer.fit(inside, outside, "probability")
    assert alone.weights == {"probability": 1.0}
