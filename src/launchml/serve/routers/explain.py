"""``POST /v1/models/{name}/explain``: why a model decided, per token or as a heat map.

The explanation is :func:`launchml.explain.explain`'s, as ``launchml explain --json`` prints it.
It runs on the model's own thread between prediction batches (Integrated Gradients and Grad-CAM
hook into the model's layers while they run, which a concurrent prediction must not meet), and
each input costs many model calls, so a request holds at most ``max_explain_inputs`` inputs.
Exported bundles are ONNX graphs without gradients: only training runs can be explained.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from launchml.errors import did_you_mean
from launchml.serve.deps import ApiKeyDep, ModelDep, SettingsDep
from launchml.serve.errors import InvalidRequestError, NotExplainableError
from launchml.serve.inputs import read_explain_request
from launchml.serve.schemas import ExplainRequest, ExplainResponse, error_responses

router = APIRouter(prefix="/v1/models", tags=["explain"], dependencies=[ApiKeyDep])


@router.post(
    "/{name}/explain",
    response_model=ExplainResponse,
    response_model_exclude_unset=True,  # tokens for texts, heatmap for images: as to_json()
    responses=error_responses(401, 404, 413, 415, 422, 503),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": ExplainRequest.model_json_schema()}},
        }
    },
)
async def explain(request: Request, model: ModelDep, settings: SettingsDep) -> ExplainResponse:
    """Token attributions (texts: Integrated Gradients, or a TF-IDF model's exact
    contributions) or a heat map (images: Grad-CAM, Integrated Gradients) for each input."""
    predictor: Any = model.predictor
    if not callable(getattr(predictor, "explain", None)):
        why = (
            "is an exported bundle (an ONNX graph, without gradients)"
            if model.info.get("format") == "bundle"
            else "has no explanation method"
        )
        raise NotExplainableError(
            f"model {model.name!r} {why}; serve its training run to explain it", field="name"
        )
    inputs, parsed = await read_explain_request(request, model, settings)
    labels = list(predictor.labels)
    if parsed.target is not None and parsed.target not in labels:
        shown = ", ".join(labels[:20]) + (", ..." if len(labels) > 20 else "")
        raise InvalidRequestError(
            f"target {parsed.target!r} is not a label of model {model.name!r}"
            f"{did_you_mean(parsed.target, labels)} (labels: {shown})",
            field="target",
        )
    found = await model.batcher.call(_explain, predictor, inputs, parsed.target, parsed.steps)
    return ExplainResponse(model=model.name, explanations=found)


def _explain(
    predictor: Any, inputs: Any, target: str | None, steps: int | None
) -> list[dict[str, Any]]:
    from launchml.explain import explain  # captum and torch: only when a run is explained

    found = explain(predictor, inputs, target=target, steps=steps)
    assert isinstance(found, list), "a list of inputs gives a list of explanations"
    return [e.to_json() for e in found]


__all__ = ["router"]
