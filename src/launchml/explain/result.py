"""What an explanation is: the attributions of one input to one class, and how far to trust them.

Text explanations give one number per token (:class:`TokenAttribution`), with the token's place
in the text the model read (character offsets, so a page can highlight the original words).
Image explanations give a heat map of the image's size. Methods with a completeness property
(Integrated Gradients; a linear model's exact contributions) carry a :class:`Completeness`: the
attributions add up to the change of the class score from the baseline, and how closely they
did is checked and reported, never assumed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

Method = Literal["integrated_gradients", "linear_contributions", "grad_cam"]

METHOD_NAMES: dict[str, str] = {
    "integrated_gradients": "Integrated Gradients",
    "linear_contributions": "exact linear contributions (coefficient x tf-idf weight)",
    "grad_cam": "Grad-CAM",
}


@dataclass
class Answer:
    """What the explanation is about: the class explained and what the model said."""

    target: int
    target_label: str
    predicted_label: str
    probability: float
    description: str  # the input as shown to the user


@dataclass
class TokenAttribution:
    """One token, where it is in the text (``start``/``end``; ``None`` when unknown), and its
    attribution (positive: evidence for the explained class)."""

    token: str
    start: int | None
    end: int | None
    attribution: float


@dataclass
class Completeness:
    """The completeness check: ``attribution_sum`` should equal ``expected``.

    For Integrated Gradients ``expected`` is the explained class's logit at the input minus its
    logit at the baseline, and ``delta`` (``attribution_sum - expected``) is Captum's
    convergence delta; ``converged`` says whether ``|delta| <= tolerance``. ``steps`` is the
    number of integration steps used (0 for exact methods).
    """

    attribution_sum: float
    expected: float
    delta: float
    tolerance: float
    steps: int
    converged: bool


@dataclass
class Explanation:
    """Why a model gave its answer for one input.

    ``target`` is the class explained (by default the predicted one) and ``probability`` the
    model's probability of it. ``score`` is the explained class's raw score at the input
    (a logit, or a linear model's decision function) and ``baseline_score`` the score at the
    baseline (``baseline`` says what that is), so that the attributions account for
    ``score - baseline_score``.
    """

    kind: Literal["text", "image"]
    method: Method
    input: str  # the text as the model read it (cleaned), or a short description of the image
    predicted: str
    target: str
    probability: float
    score: float
    baseline: str
    baseline_score: float | None
    tokens: list[TokenAttribution] = field(default_factory=list)
    heatmap: np.ndarray | None = None  # (H, W), images only
    image: np.ndarray | None = None  # uint8 (H, W, C), images only: what the heat map is over
    completeness: Completeness | None = None
    features: list[dict[str, Any]] = field(default_factory=list)  # linear: top n-grams
    notes: list[str] = field(default_factory=list)

    @property
    def method_name(self) -> str:
        return METHOD_NAMES[self.method]

    def top_tokens(self, n: int = 5) -> list[TokenAttribution]:
        """The ``n`` tokens with the largest attributions (most evidence for the target)."""
        return sorted(self.tokens, key=lambda t: -t.attribution)[:n]

    def to_json(self, heatmap_digits: int = 4) -> dict[str, Any]:
        """A JSON-able dict (heat maps as nested lists, rounded)."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "method": self.method,
            "input": self.input,
            "predicted": self.predicted,
            "target": self.target,
            "probability": self.probability,
            "score": self.score,
            "baseline": self.baseline,
            "baseline_score": self.baseline_score,
            "completeness": None if self.completeness is None else vars(self.completeness),
            "notes": list(self.notes),
        }
        if self.kind == "text":
            out["tokens"] = [vars(t) for t in self.tokens]
        if self.features:
            out["features"] = self.features
        if self.heatmap is not None:
            out["heatmap"] = np.round(self.heatmap.astype(np.float64), heatmap_digits).tolist()
        return out


__all__ = ["METHOD_NAMES", "Answer", "Completeness", "Explanation", "Method", "TokenAttribution"]
