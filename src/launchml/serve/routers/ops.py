"""Operations: ``/healthz`` (the process is up), ``/readyz`` (every model is loaded),
``/metrics`` (Prometheus)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from launchml.serve.deps import ApiKeyDep, StateDep
from launchml.serve.schemas import Health, Readiness, error_responses

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """200 while the process serves HTTP (liveness)."""
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
async def readyz(state: StateDep) -> JSONResponse:
    """200 once every model is loaded; 503 while loading or after a failed load."""
    body = Readiness(status=state.status, models=list(state.models), error=state.error)
    return JSONResponse(body.model_dump(), status_code=200 if state.status == "ready" else 503)


@router.get(
    "/metrics",
    dependencies=[ApiKeyDep],
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}, **error_responses(401)},
)
async def metrics(state: StateDep) -> Response:
    """Request counts by route and status, latency histograms, batch sizes, queue depth."""
    content, media_type = state.metrics.render()
    return Response(content, media_type=media_type)
