"""The peer of benchmarks/serve_http.py: the prediction server a user would write by hand.

FastAPI + a Hugging Face ``transformers`` text-classification pipeline, one text per request,
a plain ``def`` endpoint (FastAPI runs it on its thread pool), as the FastAPI and transformers
docs show it. It serves the run's ``hf_model/`` (the very model launchml serves).

    python benchmarks/serve_peer.py RUN/hf_model PORT
"""

from __future__ import annotations

import os
import sys

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel
from transformers import pipeline

os.environ.setdefault("HF_HUB_OFFLINE", "1")
classifier = pipeline("text-classification", model=sys.argv[1], device="cpu")
app = FastAPI()


class Query(BaseModel):
    text: str


@app.post("/predict")
def predict(query: Query) -> dict:
    scores = classifier(query.text, top_k=3)
    return {"label": scores[0]["label"], "top": scores}


@app.get("/healthz")
def healthz() -> dict:
    return {"status": "ok"}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
