"""Request and response bodies (they are also the OpenAPI schema at ``/docs``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class PredictRequest(BaseModel):
    """One or many inputs: ``texts`` for a text model, ``images`` (base64 files) for an image
    model."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"texts": ["where is my parcel?"], "top_k": 3}]},
    )

    texts: list[str] | None = Field(None, description="texts to classify (text models)")
    images: list[str] | None = Field(
        None, description="base64-encoded PNG or JPEG files to classify (image models)"
    )
    top_k: int = Field(3, ge=1, le=1000, description="how many labels to list per input")


class ExplainRequest(BaseModel):
    """Inputs to explain (``texts`` or base64 ``images``), and what to explain of them."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"texts": ["where is my parcel?"], "target": None}]},
    )

    texts: list[str] | None = Field(None, description="texts to explain (text models)")
    images: list[str] | None = Field(
        None, description="base64-encoded PNG or JPEG files to explain (image models)"
    )
    target: str | None = Field(
        None, description="the label to explain (default: each input's predicted label)"
    )
    steps: int | None = Field(
        None,
        ge=2,
        le=512,
        description="Integrated Gradients steps (default: doubled from 64 until the "
        "attributions add up); ignored by exact methods and Grad-CAM",
    )


class TokenScore(BaseModel):
    token: str
    start: int | None = Field(description="character offsets in `input` (null: unknown)")
    end: int | None
    attribution: float = Field(description="positive: evidence for the target label")


class CompletenessCheck(BaseModel):
    """The attributions should add up to ``expected`` (the score's change from the baseline)."""

    attribution_sum: float
    expected: float
    delta: float
    tolerance: float
    steps: int = Field(description="integration steps used (0: an exact method)")
    converged: bool = Field(description="|delta| <= tolerance")


class ExplanationOut(BaseModel):
    kind: Literal["text", "image"]
    method: Literal["integrated_gradients", "linear_contributions", "grad_cam"]
    input: str = Field(description="the text as the model read it (cleaned, redacted)")
    predicted: str
    target: str = Field(description="the label explained")
    probability: float = Field(description="the model's probability of the target")
    score: float = Field(description="the target's raw score (logit / decision function)")
    baseline: str = Field(description="what the attributions are measured from")
    baseline_score: float | None
    completeness: CompletenessCheck | None = Field(description="null for Grad-CAM")
    notes: list[str]
    tokens: list[TokenScore] | None = Field(None, description="text models: one per token")
    features: list[dict[str, Any]] | None = Field(
        None, description="tfidf_logreg: the n-grams that contributed most"
    )
    heatmap: list[list[float]] | None = Field(
        None, description="image models: (H, W) attributions over the image"
    )


class ExplainResponse(BaseModel):
    model: str
    explanations: list[ExplanationOut] = Field(description="one per input, in input order")


class LabelScore(BaseModel):
    label: str
    probability: float


class Prediction(BaseModel):
    label: str = Field(description="the most probable label")
    probabilities: dict[str, float] = Field(description="every label's probability")
    top: list[LabelScore] = Field(description="the top_k labels, most probable first")


class PredictResponse(BaseModel):
    model: str
    predictions: list[Prediction] = Field(description="one per input, in input order")


class ModelInfo(BaseModel):
    name: str
    type: str = Field(description="the model type (tfidf_logreg, transformer, cnn, ...)")
    kind: Literal["text", "image"]
    format: str = Field(description="'run' (a training run) or 'bundle' (an exported bundle)")
    labels: list[str]
    input_shape: list[int] | None = Field(description="(H, W, C) of an image model's inputs")
    metrics: dict[str, Any] = Field(description="the run's validation/test figures")
    sha256: str | None = Field(description="sha256 of the artifact's manifest")


class ModelList(BaseModel):
    models: list[ModelInfo]


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready", "loading", "failed"]
    models: list[str]
    error: str | None = None


class ErrorDetail(BaseModel):
    code: str = Field(description="machine-readable: invalid_input, too_large, not_found, ...")
    message: str
    field: str | None = Field(description="the request field at fault")
    limit: int | None = Field(None, description="the limit exceeded (limit errors only)")


class ErrorBody(BaseModel):
    error: ErrorDetail


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the error statuses a route can answer."""
    return {status: {"model": ErrorBody} for status in statuses}


__all__ = [
    "ErrorBody",
    "ExplainRequest",
    "ExplainResponse",
    "ExplanationOut",
    "Health",
    "LabelScore",
    "ModelInfo",
    "ModelList",
    "PredictRequest",
    "PredictResponse",
    "Prediction",
    "Readiness",
    "error_responses",
]
