"""launchml's prediction API inside an existing FastAPI app (tests/test_serve_examples.py runs it).

    python examples/embed_serve.py runs/shop      # then open http://127.0.0.1:8000/docs

The launchml app is mounted under ``/ml``; its lifespan (which loads the models and starts the
batchers) runs inside the host app's own lifespan, because Starlette does not run a mounted
app's lifespan by itself.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from launchml.serve import ServeSettings, create_app


def build_app(run_dir: str | Path) -> FastAPI:
    """The shop's own app, with launchml's API for the run ``run_dir`` under ``/ml``."""
    ml = create_app({"intents": run_dir}, ServeSettings(max_batch_size=16))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with ml.router.lifespan_context(ml):  # load the models, start the batchers
            yield

    app = FastAPI(title="my shop", lifespan=lifespan)

    @app.get("/hello")
    def hello() -> dict[str, str]:
        return {"hello": "shop"}

    app.mount("/ml", ml)  # POST /ml/v1/models/intents/predict, GET /ml/readyz, ...
    return app


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(build_app(sys.argv[1]), host="127.0.0.1", port=8000)
