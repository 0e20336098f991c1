"""Why a model decided: attributions of each input's tokens or pixels to a class.

=================  =====================================================================
model type         method
=================  =====================================================================
``tfidf_logreg``   exact per-feature contributions (coefficient x tf-idf weight), per word
``lstm``,          Integrated Gradients on the embedding layer (Captum's
``textcnn``,       ``LayerIntegratedGradients``), with the completeness check
``transformer``
``mlp``            Integrated Gradients: on the token vectors (text), on the pixels (images)
``cnn``            Grad-CAM on the last convolution block (Captum's ``LayerGradCam``)
``ensemble``       the mean of its members' explanations (of their mean score)
=================  =====================================================================

By default the predicted class is explained; ``target`` names another. Inputs are prepared as
for prediction (texts cleaned with the run's ``data.clean``; images read and resized).

Example::

    run = launchml.Run.load("runs/shop")
    why = run.explain("where is my parcel?")
    why.target, [(t.token, round(t.attribution, 2)) for t in why.tokens]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from launchml.errors import InvalidInputError, did_you_mean
from launchml.explain.result import Answer, Completeness, Explanation, TokenAttribution

TEXT_IG_TYPES = ("lstm", "textcnn", "transformer", "mlp")


def explain(
    run: Any, inputs: Any, *, target: str | None = None, steps: int | None = None
) -> Explanation | list[Explanation]:
    """Explain a :class:`launchml.runs.Run`'s predictions: one input in, one
    :class:`Explanation` out; a list in, a list out.

    Parameters
    ----------
    run: a loaded run.
    inputs: a text (or image path / array), or a list of them.
    target: the label to explain (default: each input's predicted label).
    steps: a fixed number of Integrated Gradients steps (default: doubled from 64 until the
        attributions add up; see :mod:`launchml.explain.integrated`).
    """
    prepared, single = run._prepare(inputs)
    found = explain_prepared(
        run, prepared, _descriptions(inputs, prepared, run.kind), target, steps
    )
    return found[0] if single else found


def explain_prepared(
    run: Any,
    prepared: list[str] | np.ndarray,
    descriptions: list[str],
    target: str | None = None,
    steps: int | None = None,
) -> list[Explanation]:
    """:func:`explain` for inputs already prepared as the model reads them."""
    target_index = None if target is None else label_index(run.labels, target)
    proba = run.model.predict_proba(prepared)
    explanations = []
    for i, description in enumerate(descriptions):
        predicted = int(np.argmax(proba[i]))
        chosen = predicted if target_index is None else target_index
        answer = Answer(
            chosen, run.labels[chosen], run.labels[predicted], float(proba[i, chosen]), description
        )
        explanations.append(
            _explain_one(run.model, run.config.model.type, prepared[i], answer, steps)
        )
    return explanations


def label_index(labels: list[str], label: str) -> int:
    if label not in labels:
        shown = ", ".join(labels[:20]) + (", ..." if len(labels) > 20 else "")
        raise InvalidInputError(
            f"target '{label}' is not a label of this model{did_you_mean(label, labels)} "
            f"(labels: {shown})"
        )
    return labels.index(label)


def _explain_one(
    model: Any, type_name: str, x: Any, answer: Answer, steps: int | None
) -> Explanation:
    if type_name == "ensemble":
        member_type = model.config.model.ensemble.member
        parts = [_explain_one(m, member_type, x, answer, steps) for m in model.members_]
        return combine(parts)
    if type_name == "tfidf_logreg":
        from launchml.explain.linear import explain_linear

        return explain_linear(model, x, answer)
    if isinstance(x, np.ndarray):
        from launchml.explain.images import explain_image

        return explain_image(model, x, answer, steps)
    if type_name in TEXT_IG_TYPES:
        from launchml.explain.text import explain_text

        return explain_text(model, x, answer, steps)
    raise InvalidInputError(
        f"model type '{type_name}' has no explanation method"
    )  # pragma: no cover


def combine(parts: list[Explanation]) -> Explanation:
    """An ensemble's explanation: the mean of its members' attributions, which explains the
    mean of their scores (their probabilities are averaged, which no attribution adds up to)."""
    first = parts[0]
    if any([t.token for t in p.tokens] != [t.token for t in first.tokens] for p in parts):
        raise InvalidInputError("the ensemble's members tokenise differently; explain a member")
    tokens = [
        TokenAttribution(
            t.token, t.start, t.end, float(np.mean([p.tokens[i].attribution for p in parts]))
        )
        for i, t in enumerate(first.tokens)
    ]
    maps = [p.heatmap for p in parts if p.heatmap is not None]
    heatmap = np.mean(maps, axis=0) if maps else None
    completeness = None
    checks = [p.completeness for p in parts if p.completeness is not None]
    if len(checks) == len(parts):
        mean = {
            k: float(np.mean([getattr(c, k) for c in checks]))
            for k in ("attribution_sum", "expected", "delta")
        }
        limit = max(c.tolerance for c in checks)
        completeness = Completeness(
            mean["attribution_sum"], mean["expected"], mean["delta"], limit,
            max(c.steps for c in checks), abs(mean["delta"]) <= limit,
        )  # fmt: skip
    baselines = [p.baseline_score for p in parts]
    return Explanation(
        kind=first.kind,
        method=first.method,
        input=first.input,
        predicted=first.predicted,
        target=first.target,
        probability=first.probability,
        score=float(np.mean([p.score for p in parts])),
        baseline=first.baseline,
        baseline_score=None if None in baselines else float(np.mean(baselines)),  # type: ignore[arg-type]
        tokens=tokens,
        heatmap=heatmap,
        image=first.image,
        completeness=completeness,
        notes=[
            f"the mean of {len(parts)} members' explanations (of their mean score)",
            *sorted({n for p in parts for n in p.notes}),
        ],
    )


def _descriptions(inputs: Any, prepared: list[str] | np.ndarray, kind: str) -> list[str]:
    """How each input is named in an explanation: the cleaned text, an image's file name."""
    if kind == "text":
        return [str(t) for t in prepared]
    if isinstance(inputs, str | Path):
        return [str(inputs)]
    if isinstance(inputs, list) and inputs and isinstance(inputs[0], str | Path):
        return [str(p) for p in inputs]
    shape = "x".join(str(d) for d in np.asarray(prepared).shape[1:])
    return [f"image {i} ({shape})" for i in range(len(prepared))]


__all__ = ["Completeness", "Explanation", "TokenAttribution", "explain", "explain_prepared"]
