"""``POST /v1/models/{name}/explain``: the explanations ``Run.explain`` gives, over HTTP, with the
predict route's limits and JSON errors."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from launchml.pipeline import train
from launchml.runs import Run
from launchml.serve import ServeSettings, create_app
from tests.serve_fakes import FakeTextPredictor, wait_ready

TEXTS = ["where is my parcel?", "I want my money back"]


@pytest.fixture(scope="module")
def client(shop_run: Path):
    models = {"shop": shop_run, "fake": FakeTextPredictor()}
    with TestClient(create_app(models, ServeSettings(max_explain_inputs=3))) as client:
        wait_ready(client)
        yield client


def test_text_explanations_are_the_runs_to_the_last_digit(client, shop_run: Path) -> None:
    run = Run.load(shop_run)
    answer = client.post("/v1/models/shop/explain", json={"texts": TEXTS})
    assert answer.status_code == 200
    expected = json.loads(json.dumps([e.to_json() for e in run.explain(TEXTS)]))
    assert answer.json() == {"model": "shop", "explanations": expected}


def test_tfidf_contributions_add_up_to_sklearns_decision_function(client, shop_run: Path) -> None:
    run = Run.load(shop_run)
    body = client.post(
        "/v1/models/shop/explain", json={"texts": TEXTS[:1], "target": "refund_request"}
    ).json()
    (why,) = body["explanations"]
    assert why["target"] == "refund_request" and why["predicted"] == run.predict(TEXTS[0])
    target = run.labels.index("refund_request")
    pipeline = run.model.pipeline_  # type: ignore[attr-defined]
    decision = pipeline.decision_function([why["input"]])[0][target]
    intercept = pipeline.named_steps["classifier"].intercept_[target]
    assert why["score"] == pytest.approx(decision, abs=1e-9)
    assert why["baseline_score"] == pytest.approx(intercept, abs=1e-9)
    total = sum(t["attribution"] for t in why["tokens"])
    assert total == pytest.approx(decision - intercept, abs=1e-9)
    assert [why["input"][t["start"] : t["end"]] for t in why["tokens"]] == [
        t["token"] for t in why["tokens"]
    ]
    assert why["completeness"]["converged"] is True


@pytest.mark.parametrize(
    ("name", "body", "status", "error"),
    [
        (
            "shop",
            {"texts": ["hi"], "target": "refund_requets"},
            422,
            {
                "code": "invalid_input",
                "message": "target 'refund_requets' is not a label of model 'shop'; did you "
                "mean 'refund_request'? (labels: cancel_order, change_address, change_password, "
                "contact_human, damaged_item, delivery_delay, discount_code, order_status, "
                "payment_failed, product_availability, refund_request, return_item)",
                "field": "target",
            },
        ),
        (
            "shop",
            {"texts": ["hi"], "steps": 1},
            422,
            {
                "code": "invalid_input",
                "message": "steps: Input should be greater than or equal to 2",
                "field": "steps",
            },
        ),
        (
            "shop",
            {"texts": ["a", "b", "c", "d"]},
            422,
            {
                "code": "too_large",
                "message": "texts: 4 inputs, more than the 3 one explain request may hold "
                "(max_explain_inputs); split them over several requests",
                "field": "texts",
                "limit": 3,
            },
        ),
        (
            "shop",
            {"images": [base64.b64encode(b"not a png").decode()]},
            422,
            {
                "code": "invalid_input",
                "message": "model 'shop' classifies texts; send texts, not images",
                "field": "images",
            },
        ),
        (
            "fake",
            {"texts": ["good"]},
            422,
            {
                "code": "not_explainable",
                "message": "model 'fake' has no explanation method; serve its training run "
                "to explain it",
                "field": "name",
            },
        ),
        (
            "nope",
            {"texts": ["hi"]},
            404,
            {
                "code": "not_found",
                "message": "no model named 'nope'; served: shop, fake",
                "field": "name",
            },
        ),
    ],
)
def test_bad_explain_requests_get_one_json_error(
    client, name: str, body: dict, status: int, error: dict
) -> None:
    answer = client.post(f"/v1/models/{name}/explain", json=body)
    assert (answer.status_code, answer.json()) == (status, {"error": error})


def test_explain_takes_json_only(client) -> None:
    answer = client.post("/v1/models/shop/explain", files=[("texts", (None, "hi"))])
    assert answer.status_code == 415
    assert answer.json()["error"]["field"] == "content-type"


@pytest.fixture(scope="module")
def cnn_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny CNN on 8x8 gray images: class ``left`` has a bright left half, ``right`` a right."""
    root = tmp_path_factory.mktemp("explain_images")
    rng = np.random.default_rng(0)
    for label in ("left", "right"):
        (root / label).mkdir()
        for i in range(16):
            pixels = rng.integers(0, 40, (8, 8)).astype(np.uint8)
            if label == "left":
                pixels[:, :4] += 200
            else:
                pixels[:, 4:] += 200
            Image.fromarray(pixels, "L").save(root / label / f"{i}.png")
    config = {
        "data": {"train": str(root), "split": {"val": 0.25, "seed": 0}},
        "model": {"type": "cnn", "cnn": {"widths": [4], "dense": 8, "padding": "same"}},
        "train": {"epochs": 8, "batch_size": 8, "lr": 0.01},
    }
    return train(config, out=root / "run").path


def test_an_image_run_is_explained_by_a_heat_map_over_the_upload(cnn_run: Path) -> None:
    pixels = np.full((8, 8), 10, np.uint8)
    pixels[:, :4] = 230  # a "left" image
    buffer = io.BytesIO()
    Image.fromarray(pixels, "L").save(buffer, "PNG")
    run = Run.load(cnn_run)
    with TestClient(create_app({"cnn": cnn_run})) as client:
        wait_ready(client)
        answer = client.post(
            "/v1/models/cnn/explain",
            json={"images": [base64.b64encode(buffer.getvalue()).decode()]},
        )
    assert answer.status_code == 200
    (why,) = answer.json()["explanations"]
    expected = run.explain(pixels[:, :, None])
    assert (why["kind"], why["method"], why["target"]) == ("image", "grad_cam", expected.target)
    np.testing.assert_allclose(why["heatmap"], expected.heatmap, atol=1e-4)
    assert np.asarray(why["heatmap"]).shape == (8, 8)
