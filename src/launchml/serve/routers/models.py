"""``GET /v1/models`` and ``GET /v1/models/{name}``: what is served (name, type, labels,
metrics, sha256 of the artifact's manifest)."""

from __future__ import annotations

from fastapi import APIRouter

from launchml.serve.deps import ApiKeyDep, ModelDep, StateDep
from launchml.serve.errors import NotReadyError
from launchml.serve.schemas import ModelInfo, ModelList, error_responses

router = APIRouter(prefix="/v1/models", tags=["models"], dependencies=[ApiKeyDep])


@router.get("", response_model=ModelList, responses=error_responses(401, 503))
async def list_models(state: StateDep) -> ModelList:
    """Every model this server answers for."""
    if state.status != "ready":
        raise NotReadyError("the models are not loaded yet; see GET /readyz")
    return ModelList(models=[ModelInfo(**m.info) for m in state.models.values()])


@router.get("/{name}", response_model=ModelInfo, responses=error_responses(401, 404, 422, 503))
async def get_model(model: ModelDep) -> ModelInfo:
    """One model's facts."""
    return ModelInfo(**model.info)
