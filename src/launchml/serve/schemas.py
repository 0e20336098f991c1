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
