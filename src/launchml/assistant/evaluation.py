"""The assistant's evaluation, computed once at training time and shown in its report.

On the held-out intent examples (``data.intents_test``; else the validation split, which also
set the temperature and thresholds, so the figures are then optimistic):

- intent accuracy and macro-F1, and the worst confusions;
- calibration: ECE before and after temperature scaling;
- out of scope: AUROC of the combined score and of the top probability alone, and the share of
  unknown messages handed off at the chosen thresholds, on the simulated unknown intents
  (validation messages of hidden intents, against stand-in classifiers) and on the project's own
  out-of-scope examples when it has some; the share of in-scope messages handed off;
- FAQ retrieval: recall@1, recall@3 and MRR on ``data.faq_test``;
- expected containment: each message run through the policy as a conversation's first turn: the
  share answered without a person (and answered with the right intent).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from launchml.assistant.calibrate import ece, softmax_t
from launchml.assistant.faq import FaqIndex, retrieval_scores
from launchml.assistant.oos import OOSScorer, choose_threshold, knn_similarity
from launchml.assistant.policy import Candidate, State, Understanding, decide
from launchml.assistant.project import Project
from launchml.evaluate import classification_metrics


def evaluate_assistant(
    project: Project,
    data: dict[str, Any],
    intents: Any,
    vectors: dict[str, np.ndarray],
    state: dict[str, Any],
    sim: dict[str, Any],
) -> dict[str, Any]:
    on_test = data["test"] is not None
    examples = data["test"] if on_test else data["val"]
    split = "test" if on_test else "val"
    labels, temperature, k = state["labels"], state["temperature"], state["k"]
    scorer: OOSScorer = sim["scorer"]
    logits = intents.logits(intents.clean(examples.texts), vectors[split])
    proba = softmax_t(logits, temperature)
    y = np.array([labels.index(i) for i in examples.intents])
    metrics = classification_metrics(examples.intents, proba, labels)
    feats = {
        "probability": proba.max(axis=1),
        "knn": knn_similarity(vectors[split], vectors["fit"], k),
    }
    scores = scorer.score(feats)
    thresholds = state["thresholds"]
    limits = np.array(
        [thresholds.get(lang, thresholds["*"])["threshold"] for lang in examples.langs]
    )
    result: dict[str, Any] = {
        "split": split,
        "n": len(examples),
        "intent": {
            "accuracy": metrics["accuracy"],
            "macro_f1": metrics["macro_f1"],
            "top_confusions": metrics["top_confusions"][:8],
            "per_language": _per_language(examples.langs, proba.argmax(axis=1) == y),
        },
        "calibration": {
            "temperature": temperature,
            "ece_before": ece(softmax_t(logits, 1.0), y),
            "ece_after": ece(proba, y),
            "ece_val_before": state["ece_val_before"],
            "ece_val_after": state["ece_val_after"],
            "reliability_before": _reliability(softmax_t(logits, 1.0), y),
            "reliability_after": _reliability(proba, y),
        },
        "out_of_scope": {
            "score": scorer.method,
            "weights": scorer.weights,
            "thresholds": thresholds,
            "target_in_scope_handoff": project.policy.in_scope_handoff,
            "in_scope_handed_off": float(np.mean(scores < limits)) if len(scores) else None,
            "simulated": _simulated(sim["rounds"], scorer, project.policy.in_scope_handoff),
            "own_examples": _own_examples(project, data, intents, vectors, state, scores),
        },
        "faq": _faq(data, vectors),
        "containment": _containment(
            project, examples, proba, scores, limits, vectors, split, data, labels
        ),
    }
    return result


def _per_language(langs: list[str], correct: np.ndarray) -> dict[str, dict[str, float]]:
    out = {}
    for code in sorted(set(langs)):
        mine = correct[np.array(langs) == code]
        out[code] = {"n": len(mine), "accuracy": float(mine.mean())}
    return out


def _reliability(proba: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    from launchml.calibration import reliability

    return reliability(proba.max(axis=1), proba.argmax(axis=1) == y)


def _auroc(in_scores: np.ndarray, out_scores: np.ndarray) -> float | None:
    if len(in_scores) == 0 or len(out_scores) == 0:
        return None
    truth = np.r_[np.zeros(len(in_scores)), np.ones(len(out_scores))]
    return float(roc_auc_score(truth, -np.r_[in_scores, out_scores]))


def _simulated(
    rounds: list[dict[str, Any]], scorer: OOSScorer, share: float
) -> dict[str, Any] | None:
    """Per round: the stand-in's in-scope scores set the threshold; how many unknowns fall
    under it. The combined score's weights were fitted on these rounds (slightly optimistic)."""
    if not rounds:
        return None
    rows = []
    for r in rounds:
        s_in, s_out = scorer.score(r["in"]), scorer.score(r["out"])
        threshold = choose_threshold(s_in, share)
        p_in, p_out = r["in"]["probability"], r["out"]["probability"]
        p_threshold = choose_threshold(p_in, share)
        rows.append(
            {
                "hidden": r["hidden"],
                "n_in": len(s_in),
                "n_out": len(s_out),
                "auroc": _auroc(s_in, s_out),
                "unknown_handed_off": float(np.mean(s_out < threshold)),
                "probability_auroc": _auroc(p_in, p_out),
                "probability_unknown_handed_off": float(np.mean(p_out < p_threshold)),
            }
        )

    def mean(key: str) -> float | None:
        values = [row[key] for row in rows if row[key] is not None]
        return float(np.mean(values)) if values else None

    keys = ("auroc", "unknown_handed_off", "probability_auroc", "probability_unknown_handed_off")
    return {"rounds": rows, **{key: mean(key) for key in keys}}


def _own_examples(project, data, intents, vectors, state, in_scores) -> dict[str, Any] | None:
    oos = data["oos"]
    if oos is None or len(oos) == 0:
        return None
    logits = intents.logits(intents.clean(oos.texts), vectors["oos"])
    proba = softmax_t(logits, state["temperature"])
    feats = {
        "probability": proba.max(axis=1),
        "knn": knn_similarity(vectors["oos"], vectors["fit"], state["k"]),
    }
    from launchml.assistant.oos import OOSScorer

    scores = OOSScorer.from_json(state["oos"]).score(feats)
    thresholds = state["thresholds"]
    limits = np.array([thresholds.get(lang, thresholds["*"])["threshold"] for lang in oos.langs])
    return {
        "n": len(oos),
        "auroc": _auroc(in_scores, scores),
        "handed_off": float(np.mean(scores < limits)),
    }


def _faq(data: dict[str, Any], vectors: dict[str, np.ndarray]) -> dict[str, Any] | None:
    queries = data.get("faq_test")
    if not data["faq"] or queries is None:
        return None
    index = FaqIndex(data["faq"], vectors["faq"])
    ranks: list[int | None] = []
    for vector, target in zip(vectors["faq_test"], queries[1], strict=True):
        order = np.argsort(-(index.vectors @ vector), kind="stable")
        ranks.append(int(np.flatnonzero(order == target)[0]) + 1)
    return retrieval_scores(ranks)


def _containment(project, examples, proba, scores, limits, vectors, split, data, labels):
    """Each message as the first turn of a conversation: what would the policy do?"""
    index = FaqIndex(data["faq"], vectors["faq"])
    nearest = knn_similarity(vectors[split], vectors["fit"], 1)
    kinds: Counter[str] = Counter()
    right = 0
    for i, text in enumerate(examples.texts):
        order = np.argsort(-proba[i], kind="stable")[:3]
        match = index.search(vectors[split][i], examples.langs[i], k=1)
        u = Understanding(
            text=text,
            language=examples.langs[i],
            candidates=[Candidate(labels[j], float(proba[i, j])) for j in order],
            in_scope=float(scores[i]),
            threshold=float(limits[i]),
            nearest_intent=float(nearest[i]),
            faq=match[0] if match else None,
        )
        decision = decide(u, State(), project.policy)
        kinds[decision.kind] += 1
        right += decision.kind == "answer" and decision.intent == examples.intents[i]
    n = max(len(examples), 1)
    return {
        "n": len(examples),
        "kinds": {kind: kinds[kind] / n for kind in ("answer", "faq", "clarify", "handoff")},
        "contained": (kinds["answer"] + kinds["faq"]) / n,
        "answered_right": right / n,
    }


__all__ = ["evaluate_assistant"]
