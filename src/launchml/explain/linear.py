"""Exact explanations of ``tfidf_logreg``: each n-gram's share of the decision function.

A logistic regression scores class ``c`` as ``intercept_c + sum_j coef_cj * x_j`` over the
text's tf-idf weights ``x_j``, so ``coef_cj * x_j`` *is* feature ``j``'s contribution: no
approximation, no baseline beyond "no features" (the intercept). Word n-grams and character
n-grams (``char_wb``, within words) are both features of the one ``FeatureUnion``.

To highlight words, each feature's contribution is shared out over its occurrences in the text
(each occurrence equally, and within one occurrence equally over the whitespace-separated words
it touches): the words' attributions then add up exactly to the decision function minus the
intercept, which the completeness check confirms.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import numpy as np

from launchml.explain.result import Answer, Completeness, Explanation, TokenAttribution

TOP_FEATURES = 12
#: the exact method's sums agree to rounding error only
EXACT_TOLERANCE = 1e-6
_CHUNK = re.compile(r"\S+")


def explain_linear(model: Any, text: str, answer: Answer) -> Explanation:
    """Per-feature and per-word contributions of a fitted ``tfidf_logreg`` model for ``text``."""
    union = model.pipeline_.named_steps["features"]
    classifier = model.pipeline_.named_steps["classifier"]
    x = union.transform([text]).tocsr()
    coef, intercept = _class_weights(classifier, answer.target)
    columns, weights = x.indices, x.data
    contributions = coef[columns] * weights
    names = _feature_names(union)
    features = [
        {
            "feature": names[j][1],
            "analyzer": names[j][0],
            "tfidf": float(w),
            "coefficient": float(coef[j]),
            "contribution": float(c),
        }
        for j, w, c in zip(columns, weights, contributions, strict=True)
    ]
    features.sort(key=lambda f: -abs(f["contribution"]))
    chunks = [(m.group(), m.start(), m.end()) for m in _CHUNK.finditer(text)]
    per_chunk = _share_out(
        union, chunks, {names[j]: float(c) for j, c in zip(columns, contributions, strict=True)}
    )
    tokens = [TokenAttribution(word, a, b, per_chunk[i]) for i, (word, a, b) in enumerate(chunks)]
    decision = np.asarray(classifier.decision_function(x), dtype=np.float64).reshape(-1)
    if len(decision) > 1:
        score = float(decision[answer.target])
    else:  # binary: scikit-learn scores class 1; class 0's score is minus that
        score = float(decision[0]) if answer.target == 1 else -float(decision[0])
    total = float(sum(t.attribution for t in tokens))
    expected = score - intercept
    check = Completeness(
        total,
        expected,
        total - expected,
        EXACT_TOLERANCE,
        0,
        abs(total - expected) <= EXACT_TOLERANCE,
    )
    return Explanation(
        kind="text",
        method="linear_contributions",
        input=answer.description,
        predicted=answer.predicted_label,
        target=answer.target_label,
        probability=answer.probability,
        score=score,
        baseline="no features (the intercept alone)",
        baseline_score=intercept,
        tokens=tokens,
        completeness=check,
        features=features[:TOP_FEATURES],
    )


def _class_weights(classifier: Any, target: int) -> tuple[np.ndarray, float]:
    """The coefficients and intercept of class ``target`` (binary: class 0 is minus class 1)."""
    coef = np.asarray(classifier.coef_, dtype=np.float64)
    intercept = np.asarray(classifier.intercept_, dtype=np.float64)
    if coef.shape[0] == 1:
        sign = 1.0 if target == 1 else -1.0
        return sign * coef[0], sign * float(intercept[0])
    return coef[target], float(intercept[target])


def _feature_names(union: Any) -> list[tuple[str, str]]:
    """``(analyzer name, n-gram)`` for every column of the union, in column order."""
    names: list[tuple[str, str]] = []
    for name, vectorizer in union.transformer_list:
        inverse = sorted(vectorizer.vocabulary_.items(), key=lambda item: item[1])
        names += [(name, term) for term, _ in inverse]
    return names


def _share_out(
    union: Any, chunks: list[tuple[str, int, int]], contributions: dict[tuple[str, str], float]
) -> list[float]:
    """Each feature's contribution spread over the chunks (whitespace-separated words) where
    it occurs, as the vectorizers themselves find their n-grams."""
    occurrences: dict[tuple[str, str], list[list[int]]] = defaultdict(list)
    for name, vectorizer in union.transformer_list:
        for gram, touched in _occurrences(vectorizer, [c for c, _, _ in chunks]):
            occurrences[(name, gram)].append(touched)
    shares = [0.0] * len(chunks)
    for key, contribution in contributions.items():
        found = occurrences.get(key)
        if not found:  # cannot happen for a feature of this text; kept honest by the check
            continue
        for touched in found:
            for i in touched:
                shares[i] += contribution / len(found) / len(touched)
    return shares


def _occurrences(vectorizer: Any, chunks: list[str]) -> list[tuple[str, list[int]]]:
    """Every n-gram the vectorizer extracts from the text, with the chunks it spans."""
    preprocess = vectorizer.build_preprocessor()
    low, high = vectorizer.ngram_range
    if vectorizer.analyzer == "char_wb":  # n-grams of " word ", never across words
        analyze = vectorizer.build_analyzer()
        return [(gram, [i]) for i, chunk in enumerate(chunks) for gram in analyze(chunk)]
    pattern = re.compile(vectorizer.token_pattern)
    words = [(w, i) for i, chunk in enumerate(chunks) for w in pattern.findall(preprocess(chunk))]
    found = []
    for n in range(low, high + 1):
        for start in range(len(words) - n + 1):
            window = words[start : start + n]
            found.append((" ".join(w for w, _ in window), sorted({i for _, i in window})))
    return found


__all__ = ["explain_linear"]
