"""Schemathesis against the OpenAPI document: generated requests to every operation, as a park
admin, never get a 5xx. Bounded (a few examples per operation) so that the suite stays fast."""

from __future__ import annotations

import json
import os
import textwrap

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from api_support import build_api_park
from greenpark import park as park_mod
from greenpark.api import create_app

from conftest import ENGINES, SMALL_PARK, STATIONS, store_url

V = "/api/v1"
EXAMPLES = int(os.environ.get("GREENPARK_FUZZ_EXAMPLES", "12"))


@pytest.fixture(scope="module", params=ENGINES)
def fuzz_park(request, tmp_path_factory):
    d = tmp_path_factory.mktemp("fuzz") / "park"
    ap = build_api_park(d, days=3, db=store_url(request.param, d, request))
    app = create_app(ap.park, ap.db)
    with TestClient(app) as client:  # runs the lifespan: the store is open while the cases run
        ap.client = client
        yield ap


# the document does not depend on the store: it is read from an application that is never started
schema = schemathesis.openapi.from_dict(
    create_app(park_mod.parse(textwrap.dedent(SMALL_PARK) + textwrap.dedent(STATIONS)), ":memory:").openapi())


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_server_errors(case, fuzz_park):
    if case.method == "DELETE" and case.path.endswith("{token_id}"):
        case.path_parameters = {"token_id": 999_999}  # keep the admin's own token working for later cases
    kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=fuzz_park.headers("admin"))
    cookies = kwargs.pop("cookies", None) or {}  # per-request cookies: as a header (httpx deprecates the argument)
    if cookies:
        kwargs["headers"] = {**kwargs.get("headers", {}), "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
    if isinstance(kwargs.get("data"), bytes | str):
        kwargs["content"] = kwargs.pop("data")
    if kwargs.get("files"):  # generated multipart parts may be numbers or objects: send them as text
        kwargs["files"] = [(n, (f[0], v if isinstance(v := f[1], str | bytes) else json.dumps(v), *f[2:]))
                           for n, f in kwargs["files"]]
    response = fuzz_park.client.request(**kwargs)
    response.request.read()  # multipart bodies are streamed; the check reads the request back
    case.validate_response(response, checks=[not_a_server_error])
