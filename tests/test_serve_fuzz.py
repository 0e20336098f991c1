"""Property-based fuzzing of the running server from its own OpenAPI schema (schemathesis):
whatever a generated request holds, the answer is never a 5xx, every error is the documented
JSON error body, and every answer conforms to the schema. Bounded: few examples per operation,
derandomized so that CI replays the same requests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks
from schemathesis.generation.modes import GenerationMode

from launchml.runs import Run
from launchml.serve import ServeSettings, create_app
from tests.serve_fakes import FakeImagePredictor, FakeTextPredictor, running_server

KEY = "fuzzing-key-0123456789"


@pytest.fixture(scope="module")
def server(shop_run: Path) -> Iterator[str]:
    # an API key, as on an exposed server: schemathesis also checks that bad keys are refused
    limits = ServeSettings(max_inputs=8, max_text_chars=300, max_body_bytes=64_000, api_key=KEY)
    models = {
        "fake": FakeTextPredictor(),
        "digits": FakeImagePredictor(),
        "shop": Run.load(shop_run),
    }
    with running_server(create_app(models, limits)) as (base, _):
        yield base


@pytest.fixture(scope="module")
def api_schema(server: str):
    return schemathesis.openapi.from_url(f"{server}/openapi.json")


# every operation of the schema (test_the_list_is_the_schema keeps this list honest); the
# operations are parametrized by hand because schemathesis' lazy pytest loader does not work
# with this pytest
OPERATIONS = [
    ("POST", "/v1/models/{name}/predict"),
    ("POST", "/v1/models/{name}/explain"),
    ("GET", "/v1/models"),
    ("GET", "/v1/models/{name}"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
]


def test_the_list_is_the_schema(api_schema) -> None:
    operations = [r.ok() for r in api_schema.get_all_operations()]
    assert sorted((o.method.upper(), o.path) for o in operations) == sorted(OPERATIONS)


# negative requests break the schema on purpose, so only operations that take input have them
CASES = [(m, p, GenerationMode.POSITIVE) for m, p in OPERATIONS] + [
    (m, p, GenerationMode.NEGATIVE) for m, p in OPERATIONS if "{name}" in p
]


@pytest.mark.parametrize(("method", "path", "mode"), CASES)
def test_no_generated_request_gets_a_server_error(
    api_schema, server: str, method: str, path: str, mode: GenerationMode
) -> None:
    """Positive requests fit the schema; negative ones do not (wrong types, missing fields,
    unknown model names)."""
    operation = api_schema[path][method]
    statuses: set[int] = set()

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=60 if method == "POST" else 5,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case) -> None:
        # Every check but one: a request valid by the schema may still be rightly refused (422),
        # because the schema cannot say whether a given model takes texts or images, nor the
        # server's limits.
        response = case.call_and_validate(
            base_url=server,
            headers={"X-API-Key": KEY},
            excluded_checks=[checks.positive_data_acceptance],
        )
        statuses.add(response.status_code)
        assert response.status_code < 500, response.text
        if response.status_code >= 400:
            error = response.json()["error"]
            assert set(error) <= {"code", "message", "field", "limit"}
            assert isinstance(error["code"], str) and error["message"]

    check()
    if mode == GenerationMode.POSITIVE:
        assert 200 in statuses, statuses  # the generated requests did reach the models
