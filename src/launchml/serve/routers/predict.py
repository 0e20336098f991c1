"""``POST /v1/models/{name}/predict``: labels, probabilities and top-k for one or many inputs."""

from __future__ import annotations

import numpy as np
from fastapi import APIRouter, Request

from launchml.serve.deps import ApiKeyDep, ModelDep, SettingsDep
from launchml.serve.inputs import MULTIPART_SCHEMA, read_inputs
from launchml.serve.schemas import (
    LabelScore,
    Prediction,
    PredictRequest,
    PredictResponse,
    error_responses,
)

router = APIRouter(prefix="/v1/models", tags=["predict"], dependencies=[ApiKeyDep])


@router.post(
    "/{name}/predict",
    response_model=PredictResponse,
    responses=error_responses(401, 404, 413, 415, 422, 503),
    # the body is read by hand (JSON or multipart), so OpenAPI is told both shapes here
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": PredictRequest.model_json_schema()},
                "multipart/form-data": {"schema": MULTIPART_SCHEMA},
            },
        }
    },
)
async def predict(request: Request, model: ModelDep, settings: SettingsDep) -> PredictResponse:
    """Classify texts (JSON ``{"texts": [...]}``) or images (base64 in JSON ``{"images":
    [...]}``, or multipart ``images`` files). Concurrent requests to one model are batched."""
    inputs, top_k = await read_inputs(request, model, settings)
    proba = await model.batcher.predict(inputs)
    return PredictResponse(
        model=model.name, predictions=to_predictions(proba, model.predictor.labels, top_k)
    )


def to_predictions(proba: np.ndarray, labels: list[str], top_k: int) -> list[Prediction]:
    """One :class:`Prediction` per row of probabilities (rounded to 6 decimals)."""
    k = min(top_k, len(labels))
    predictions = []
    for row in np.round(proba, 6):
        order = np.argsort(-row, kind="stable")[:k]
        predictions.append(
            Prediction(
                label=labels[order[0]],
                probabilities={label: float(p) for label, p in zip(labels, row, strict=True)},
                top=[LabelScore(label=labels[i], probability=float(row[i])) for i in order],
            )
        )
    return predictions
