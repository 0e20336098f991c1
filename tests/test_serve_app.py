"""The HTTP API through FastAPI's TestClient: exact JSON bodies, every error status, auth, limits,
readiness. Fake predictors with known answers keep these fast; tests/test_serve_runs.py serves
real runs."""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from launchml.errors import DamagedArtifactError, InvalidConfigError, NotFoundError
from launchml.serve import ServeSettings, create_app
from launchml.serve import state as state_module
from tests.serve_fakes import FakeImagePredictor, FakeTextPredictor, png_bytes, wait_ready

KEY = "k" * 24
PREDICT = "/v1/models/fake/predict"


@pytest.fixture
def fake() -> FakeTextPredictor:
    return FakeTextPredictor()


@pytest.fixture
def client(fake: FakeTextPredictor):
    with TestClient(create_app([fake, FakeImagePredictor()])) as c:
        yield c


def error(code: str, message: str, field: str | None = None, **extra: int) -> dict:
    return {"error": {"code": code, "message": message, "field": field, **extra}}


# -- predictions ------------------------------------------------------------------------------


def test_predict_texts_exact_body(client: TestClient) -> None:
    response = client.post(PREDICT, json={"texts": ["a good day", "meh"], "top_k": 1})
    assert response.status_code == 200
    assert response.json() == {
        "model": "fake",
        "predictions": [
            {
                "label": "pos",
                "probabilities": {"neg": 0.25, "pos": 0.75},
                "top": [{"label": "pos", "probability": 0.75}],
            },
            {
                "label": "neg",
                "probabilities": {"neg": 0.9, "pos": 0.1},
                "top": [{"label": "neg", "probability": 0.9}],
            },
        ],
    }


def test_top_k_defaults_to_three_and_stops_at_the_labels(client: TestClient) -> None:
    body = client.post(PREDICT, json={"texts": ["good"]}).json()
    assert body["predictions"][0]["top"] == [
        {"label": "pos", "probability": 0.75},
        {"label": "neg", "probability": 0.25},
    ]


def test_images_as_base64_json_and_as_multipart_upload(client: TestClient) -> None:
    dark, bright = png_bytes(0), png_bytes(255, size=(8, 8))  # 8x8 is resized to 4x4
    as_json = client.post(
        "/v1/models/digits/predict",
        json={"images": [base64.b64encode(b).decode() for b in (dark, bright)], "top_k": 1},
    )
    upload = client.post(
        "/v1/models/digits/predict",
        files=[
            ("images", ("a.png", dark, "image/png")),
            ("images", ("b.png", bright, "image/png")),
        ],
        data={"top_k": "1"},
    )
    expected = {
        "model": "digits",
        "predictions": [
            {
                "label": "dark",
                "probabilities": {"dark": 1.0, "bright": 0.0},
                "top": [{"label": "dark", "probability": 1.0}],
            },
            {
                "label": "bright",
                "probabilities": {"dark": 0.0, "bright": 1.0},
                "top": [{"label": "bright", "probability": 1.0}],
            },
        ],
    }
    assert as_json.status_code == upload.status_code == 200
    assert as_json.json() == upload.json() == expected


def test_jpeg_and_rgb_images_are_converted_like_training_images(client: TestClient) -> None:
    rgb_jpeg = png_bytes(200, size=(4, 4), mode="RGB", fmt="JPEG")
    response = client.post(
        "/v1/models/digits/predict",
        files={"images": ("a.jpg", rgb_jpeg, "image/jpeg")},
    )
    assert response.status_code == 200
    assert response.json()["predictions"][0]["probabilities"]["bright"] == pytest.approx(
        200 / 255, abs=0.02
    )


def test_models_list_and_one_model(client: TestClient) -> None:
    assert client.get("/v1/models").json() == {
        "models": [
            {
                "name": "fake",
                "type": "fake",
                "kind": "text",
                "format": "run",
                "labels": ["neg", "pos"],
                "input_shape": None,
                "metrics": {"test": {"n": 4, "accuracy": 0.75}},
                "sha256": None,
            },
            {
                "name": "digits",
                "type": "fake_cnn",
                "kind": "image",
                "format": "bundle",
                "labels": ["dark", "bright"],
                "input_shape": [4, 4, 1],
                "metrics": {},
                "sha256": "sha256:00",
            },
        ]
    }
    assert client.get("/v1/models/digits").json()["input_shape"] == [4, 4, 1]


def test_health_ready_docs_and_openapi(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {
        "status": "ready",
        "models": ["fake", "digits"],
        "error": None,
    }
    docs = client.get("/docs").text
    scripts = re.findall(r'(?:src|href)="([^"]+)"', docs)
    assert scripts and all(s.startswith("/") for s in scripts), scripts  # no CDN: works offline
    assert all(client.get(s).status_code == 200 for s in scripts)
    schema = client.get("/openapi.json").json()
    predict = schema["paths"]["/v1/models/{name}/predict"]["post"]
    assert set(predict["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
    assert predict["parameters"][0]["schema"]["enum"] == ["fake", "digits"]
    assert set(schema["components"]["securitySchemes"]) == {"APIKeyHeader", "HTTPBearer"}


# -- every 4xx, with its exact body -----------------------------------------------------------

BAD_JSON = [
    ({"texts": []}, error("invalid_input", "texts: give at least one", "texts")),
    ({"texts": "one"}, error("invalid_input", "texts: Input should be a valid array", "texts")),
    (
        {"texts": ["a", 3]},
        error("invalid_input", "texts[1]: Input should be a valid string", "texts[1]"),
    ),
    ({}, error("invalid_input", "give either texts (a list of strings) or images (a list of "
               "files), not both or neither")),
    (
        {"texts": ["a"], "images": []},
        error("invalid_input", "give either texts (a list of strings) or images (a list of "
              "files), not both or neither"),
    ),
    (
        {"texts": ["a"], "top_k": 0},
        error("invalid_input", "top_k: Input should be greater than or equal to 1", "top_k"),
    ),
    (
        {"texts": ["a"], "topk": 2},
        error("invalid_input", "topk: Extra inputs are not permitted", "topk"),
    ),
    (
        {"images": ["aGk="]},
        error("invalid_input", "model 'fake' classifies texts; send texts, not images", "images"),
    ),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), BAD_JSON)
def test_bad_predict_bodies_are_422_naming_the_field(
    client: TestClient, body: dict, expected: dict
) -> None:
    response = client.post(PREDICT, json=body)
    assert response.status_code == 422
    assert response.json() == expected


def test_malformed_json_is_422(client: TestClient) -> None:
    response = client.post(
        PREDICT, content=b'{"texts": [', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json() == error(
        "invalid_input", "Invalid JSON: EOF while parsing a list at line 1 column 11"
    )


def test_bad_images_are_422_naming_the_image(client: TestClient) -> None:
    url = "/v1/models/digits/predict"
    cases = [
        ({"images": ["!!"]}, "images[0]: not valid base64 (send the file's bytes base64-encoded)"),
        ({"images": [base64.b64encode(b"not an image").decode()]},
         "images[0]: not a readable PNG or JPEG image"),
        ({"images": [base64.b64encode(png_bytes(0)).decode(),
                     base64.b64encode(png_bytes(0, fmt="GIF")).decode()]},
         "images[1]: a GIF image; send PNG or JPEG"),
        ({"texts": ["hello"]}, "model 'digits' classifies images; send images, not texts"),
    ]  # fmt: skip
    for body, message in cases:
        response = client.post(url, json=body)
        assert response.status_code == 422, body
        field = message.split(":")[0] if message.startswith("images") else "texts"
        assert response.json() == error("invalid_input", message, field)
    form = client.post(url, data={"images": "not a file"})
    assert form.status_code == 422
    assert form.json() == error(
        "invalid_input", "images[0]: upload a file, not a text field", "images[0]"
    )
    extra = client.post(url, files={"picture": ("a.png", png_bytes(0), "image/png")})
    assert extra.json() == error(
        "invalid_input", "unknown form field 'picture'; expected images, texts or top_k", "picture"
    )
    top_k = client.post(url, files={"images": ("a.png", png_bytes(0))}, data={"top_k": "many"})
    assert top_k.json() == error(
        "invalid_input",
        "top_k: Input should be a valid integer, unable to parse string as an integer",
        "top_k",
    )


def test_unknown_model_path_and_method(client: TestClient) -> None:
    assert client.post("/v1/models/nope/predict", json={"texts": ["a"]}).json() == error(
        "not_found", "no model named 'nope'; served: fake, digits", "name"
    )
    missing = client.get("/v2/anything")
    assert missing.status_code == 404
    assert missing.json() == error("not_found", "no such path; see /docs for the endpoints")
    wrong = client.get(PREDICT)
    assert wrong.status_code == 405
    assert wrong.json() == error("method_not_allowed", "Method Not Allowed")


def test_unsupported_content_type_is_415(client: TestClient) -> None:
    response = client.post(PREDICT, content=b"hello", headers={"content-type": "text/plain"})
    assert response.status_code == 415
    assert response.json() == error(
        "unsupported_media_type",
        "content type 'text/plain': send application/json or multipart/form-data",
        "content-type",
    )


# -- limits -----------------------------------------------------------------------------------


@pytest.fixture
def limited(fake: FakeTextPredictor):
    settings = ServeSettings(
        max_inputs=3, max_text_chars=10, max_body_bytes=2000, max_image_bytes=200
    )
    with TestClient(create_app([fake, FakeImagePredictor()], settings)) as c:
        yield c


def test_limits_name_the_field_and_the_limit(limited: TestClient) -> None:
    too_many = limited.post(PREDICT, json={"texts": ["a"] * 4})
    assert too_many.status_code == 422
    assert too_many.json() == error(
        "too_large",
        "texts: 4 inputs, more than the 3 allowed in one request (max_inputs); split them over "
        "several requests",
        "texts",
        limit=3,
    )
    too_long = limited.post(PREDICT, json={"texts": ["short", "x" * 11]})
    assert too_long.status_code == 422
    assert too_long.json() == error(
        "too_large",
        "texts[1]: 11 characters, more than the 10 allowed (max_text_chars)",
        "texts[1]",
        limit=10,
    )
    body = limited.post(PREDICT, json={"texts": ["x" * 3000]})
    assert body.status_code == 413
    assert body.json() == error(
        "too_large",
        "the request body is larger than 2000 bytes (max_body_bytes)",
        "body",
        limit=2000,
    )
    big_png = png_bytes(0, size=(64, 64), mode="RGB", fmt="JPEG")
    assert len(big_png) > 200
    image = limited.post("/v1/models/digits/predict", files={"images": ("a.jpg", big_png)})
    assert image.status_code == 413
    assert image.json() == error(
        "too_large", "images[0]: larger than 200 bytes (max_image_bytes)", "images[0]", limit=200
    )


def test_chunked_body_over_the_limit_is_413(limited: TestClient) -> None:
    def chunks():
        for _ in range(30):
            yield b"x" * 100

    response = limited.post(PREDICT, content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["field"] == "body"


def test_decompression_bomb_is_refused(client: TestClient) -> None:
    bomb = png_bytes(0, size=(6000, 5000))  # 30 megapixels of zeros compress to a few KB
    response = client.post("/v1/models/digits/predict", files={"images": ("a.png", bomb)})
    assert response.status_code == 413
    assert response.json() == error(
        "too_large", "images[0]: 6000x5000 pixels, more than 25000000", "images[0]", limit=25000000
    )


# -- auth, decided by the bind address ----------------------------------------------------------


def test_loopback_without_key_needs_no_auth(fake: FakeTextPredictor) -> None:
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        with TestClient(create_app([fake], ServeSettings(host=host))) as c:
            assert c.post(PREDICT, json={"texts": ["a"]}).status_code == 200


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.5", "myhost.example"])
def test_non_loopback_without_key_refuses_to_start(fake: FakeTextPredictor, host: str) -> None:
    with pytest.raises(InvalidConfigError, match="an API key is required"):
        create_app([fake], ServeSettings(host=host))


def test_key_required_when_set(fake: FakeTextPredictor) -> None:
    settings = ServeSettings(host="0.0.0.0", api_key=KEY)
    with TestClient(create_app([fake], settings)) as c:
        missing = c.post(PREDICT, json={"texts": ["a"]})
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == "Bearer"
        assert missing.json() == error(
            "unauthorized",
            "missing or wrong API key; send 'Authorization: Bearer KEY' or 'X-API-Key: KEY'",
        )
        wrong = c.get("/v1/models", headers={"Authorization": "Bearer " + "x" * 24})
        assert wrong.status_code == 401
        assert wrong.json() == error("unauthorized", "wrong API key")
        assert c.get("/metrics").status_code == 401
        ok = c.post(PREDICT, json={"texts": ["a"]}, headers={"Authorization": f"Bearer {KEY}"})
        assert ok.status_code == 200
        assert c.get("/v1/models", headers={"X-API-Key": KEY}).status_code == 200
        assert c.get("/metrics", headers={"X-API-Key": KEY}).status_code == 200
        # probes stay open for load balancers
        assert c.get("/healthz").status_code == 200
        assert c.get("/readyz").status_code == 200


def test_key_from_a_file(fake: FakeTextPredictor, tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(KEY + "\n", encoding="utf-8")
    with TestClient(create_app([fake], ServeSettings(api_key_file=key_file))) as c:
        assert c.get("/v1/models").status_code == 401
        assert c.get("/v1/models", headers={"X-API-Key": KEY}).status_code == 200


def test_bad_keys_are_config_errors(fake: FakeTextPredictor, tmp_path: Path) -> None:
    with pytest.raises(InvalidConfigError, match="the API key is 5 characters; use at least 16"):
        create_app([fake], ServeSettings(api_key="short"))
    with pytest.raises(NotFoundError, match="API key file not found"):
        create_app([fake], ServeSettings(api_key_file=tmp_path / "absent"))


def test_key_from_the_environment(fake: FakeTextPredictor, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAUNCHML_API_KEY", KEY)
    monkeypatch.setenv("LAUNCHML_HOST", "0.0.0.0")
    with TestClient(create_app([fake])) as c:
        assert c.get("/v1/models").status_code == 401
        assert c.get("/v1/models", headers={"X-API-Key": KEY}).status_code == 200


# -- readiness and failures -------------------------------------------------------------------


def test_readyz_before_and_after_loading(
    fake: FakeTextPredictor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()

    def slow_load(
        path: Path, threads: int | None = None, device: str | None = None
    ) -> FakeTextPredictor:
        assert release.wait(30)
        return fake

    monkeypatch.setattr(state_module, "load_predictor", slow_load)
    app = create_app([tmp_path / "fake"])
    # without the lifespan nothing is loaded
    assert TestClient(app).get("/readyz").status_code == 503
    with TestClient(app) as c:
        loading = c.get("/readyz")
        assert loading.status_code == 503
        assert loading.json() == {"status": "loading", "models": [], "error": None}
        assert c.get("/healthz").json() == {"status": "ok"}
        predict = c.post(PREDICT, json={"texts": ["a"]})
        assert predict.status_code == 503
        assert predict.json() == error(
            "not_ready", "the models are still loading; retry when GET /readyz says ready"
        )
        release.set()
        wait_ready(c, 30)
        assert c.get("/readyz").json() == {"status": "ready", "models": ["fake"], "error": None}
        assert c.post(PREDICT, json={"texts": ["a"]}).status_code == 200


def test_a_model_that_fails_to_load_is_reported(tmp_path: Path) -> None:
    failures: list[BaseException] = []
    app = create_app([tmp_path / "gone"], on_load_error=failures.append)
    with TestClient(app) as c:
        for _ in range(200):
            if c.get("/readyz").json()["status"] != "loading":
                break
            threading.Event().wait(0.02)
        response = c.get("/readyz")
        assert response.status_code == 503
        assert response.json() == {
            "status": "failed",
            "models": [],
            "error": f"{tmp_path / 'gone'}: no such run or bundle directory",
        }
        assert c.post("/v1/models/gone/predict", json={"texts": ["a"]}).json() == error(
            "not_ready", "the models failed to load; see GET /readyz"
        )
    assert isinstance(failures[0], NotFoundError)


def test_unexpected_errors_are_a_generic_500_logged_on_the_server(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with TestClient(create_app([FakeTextPredictor(fail_on="boom")])) as c:
        caplog.set_level(logging.ERROR, logger="launchml.serve")
        response = c.post(PREDICT, json={"texts": ["boom"]})
    assert response.status_code == 500
    assert response.json() == error(
        "internal", "internal server error; the server log has the details"
    )
    assert "Traceback" not in response.text
    assert "model crashed on 'boom'" in caplog.text  # the server keeps the details


def test_launchml_errors_keep_their_status() -> None:
    class Damaged(FakeTextPredictor):
        def predict_proba(self, inputs: object) -> object:
            raise DamagedArtifactError("runs/x/model.skops: modified after the run was made")

    with TestClient(create_app([Damaged()])) as c:
        response = c.post(PREDICT, json={"texts": ["a"]})
    assert response.status_code == 500
    assert response.json() == error(
        "damaged_artifact", "runs/x/model.skops: modified after the run was made"
    )


def test_model_names(fake: FakeTextPredictor) -> None:
    with TestClient(create_app({"intents": fake})) as c:
        assert c.post("/v1/models/intents/predict", json={"texts": ["a"]}).json()["model"] == (
            "intents"
        )
    with pytest.raises(InvalidConfigError, match="model name 'a b'"):
        create_app({"a b": fake})
    with pytest.raises(Exception, match="two models are named 'fake'"):
        create_app([fake, FakeTextPredictor()])


# -- observability ----------------------------------------------------------------------------


def test_metrics_count_requests_by_route_and_status(client: TestClient) -> None:
    client.post(PREDICT, json={"texts": ["a", "b"]})
    client.post(PREDICT, json={"texts": []})
    client.get("/nowhere")
    text = client.get("/metrics").text
    route = 'route="/v1/models/{name}/predict"'
    assert f'launchml_requests_total{{method="POST",{route},status="200"}} 1.0' in text
    assert f'launchml_requests_total{{method="POST",{route},status="422"}} 1.0' in text
    assert 'launchml_requests_total{method="GET",route="unmatched",status="404"} 1.0' in text
    assert f"launchml_request_duration_seconds_count{{{route}}} 2.0" in text
    assert 'launchml_batch_size_sum{model="fake"} 2.0' in text
    assert 'launchml_queue_depth{model="fake"} 0.0' in text


def test_one_json_access_line_per_request(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="launchml.access")
    client.post(PREDICT, json={"texts": ["a"]})
    client.get("/healthz")
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "launchml.access"]
    assert [(x["method"], x["path"], x["route"], x["status"]) for x in lines] == [
        ("POST", PREDICT, "/v1/models/{name}/predict", 200),
        ("GET", "/healthz", "/healthz", 200),
    ]
    assert set(lines[0]) == {"time", "client", "method", "path", "route", "status", "ms"}
