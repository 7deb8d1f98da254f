"""Out-of-range and malformed input is a 422 (or 413) naming the field, never a 500: the
routes of the API in-process over a real SQLite file, one bad input at a time."""
from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from orchestrator.api.app import create_app
from orchestrator.store.database import Database

MAX_BYTES = 1024 * 1024
DEPLOYMENT = {"flow_name": "f", "name": "d", "entrypoint": "flows.py:f", "work_pool_name": "p"}
BIG = "x" * (600 * 1024)  # over the 512 KiB of parameters and job variables, under 1 MiB


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('api') / 'flowpool.db'}")
    db.create_schema()
    client = TestClient(create_app(db, None, max_request_bytes=MAX_BYTES),
                        raise_server_exceptions=False)
    assert client.post("/api/work_pools", json={"name": "p", "type": "process"}).status_code == 201
    assert client.put("/api/deployments", json=DEPLOYMENT).status_code == 200
    run = client.post("/api/deployments/name/f/d/runs", json={})
    client.run_id = run.json()["id"]
    yield client
    db.dispose()


def deployment(**changes) -> dict:
    return {**DEPLOYMENT, **changes}


# (method, path, JSON body or raw text, query, the field the error must name)
BAD_INPUTS = [
    ("POST", "/work_pools/p/queues", {"name": "q1", "priority": 2 ** 63}, None, "priority"),
    ("POST", "/work_pools/p/queues", {"name": "q2", "priority": True}, None, "priority"),
    ("POST", "/work_pools/p/queues", {"name": "q3", "priority": 0}, None, "priority"),
    ("POST", "/work_pools", {"name": "p2", "type": "process", "concurrency_limit": True}, None,
     "concurrency_limit"),
    ("PATCH", "/work_pools/p", {"concurrency_limit": 2 ** 63}, None, "concurrency_limit"),
    ("PATCH", "/work_pools/p", {"concurrency_limit": -1}, None, "concurrency_limit"),
    ("PATCH", "/work_pools/p", {"paused": None}, None, "paused"),
    ("PATCH", "/work_pools/p", {"paused": "yes"}, None, "paused"),
    ("PATCH", "/work_pools/p", {"base_job_template": None}, None, "base_job_template"),
    ("PATCH", "/work_pools/p/queues/default", {"priority": None}, None, "priority"),
    ("PATCH", "/work_pools/p/queues/default", {"paused": None}, None, "paused"),
    ("PUT", "/deployments", deployment(retries=2 ** 63), None, "retries"),
    ("PUT", "/deployments", deployment(concurrency_limit=True), None, "concurrency_limit"),
    ("PUT", "/deployments", deployment(timeout_seconds="inf"), None, "timeout_seconds"),
    ("PUT", "/deployments", deployment(timeout_seconds=1e300), None, "timeout_seconds"),
    ("PUT", "/deployments", deployment(retry_delay_seconds=1e300), None, "retry_delay_seconds"),
    ("PUT", "/deployments", deployment(paused=0), None, "paused"),
    ("PUT", "/deployments", deployment(version="v" * 101), None, "version"),
    ("PUT", "/deployments", deployment(parameters={"blob": BIG}), None, "parameters"),
    ("PUT", "/deployments", deployment(job_variables={"env": {"A": BIG}}), None,
     "job_variables"),
    ("PUT", "/deployments", json.dumps(deployment(timeout_seconds=1)).replace(
        '"timeout_seconds": 1', '"timeout_seconds": NaN'), None, "timeout_seconds"),
    ("PUT", "/deployments", json.dumps(deployment(parameters={"x": 1})).replace(
        '"x": 1', '"x": -Infinity'), None, "parameters.x"),
    ("PUT", "/deployments", deployment(description="a\x00b"), None, "description"),
    ("PUT", "/variables/v", '{"value": [1, Infinity]}', None, "value.1"),
    ("PUT", "/variables/v", '{"value": {"k": "a\\ud800b"}}', None, "value.k"),
    ("PUT", "/variables/v", '{"value": ' + "[" * 100 + "]" * 100 + "}", None, "value.0"),
    ("POST", "/deployments/name/f/d/runs", {"scheduled_time": "9999-12-31T23:59:59Z"}, None,
     "scheduled_time"),
    ("POST", "/deployments/name/f/d/runs", {"scheduled_time": "9999-12-31T23:00:00-05:00"},
     None, "scheduled_time"),
    ("POST", "/deployments/name/f/d/runs", {"scheduled_time": 1700000000}, None,
     "scheduled_time"),
    ("POST", "/deployments/name/f/d/runs", {"parameters": {"blob": BIG}}, None, "parameters"),
    ("POST", "/deployments/name/f/d/runs", {"job_variables": {"blob": BIG}}, None,
     "job_variables"),
    ("POST", "/deployments/name/f/d/runs", {"name": "n" * 201}, None, "name"),
    ("POST", "/deployments/name/f/d/schedules", {"schedule": {
        "interval_s": 1.9e16, "anchor_date": "2414-01-01T00:00:00Z"}}, None,
     "schedule.interval.interval_s"),
    ("POST", "/deployments/name/f/d/schedules", {"schedule": {
        "interval_s": 60, "anchor_date": "2414-01-01T00:00:00Z"}}, None,
     "schedule.interval.anchor_date"),
    ("POST", "/deployments/name/f/d/schedules", {"schedule": {"cron": "* * * * *"},
                                                  "active": 1}, None, "active"),
    ("GET", "/flow_runs", None, {"limit": 10 ** 30}, "limit"),
    ("GET", "/flow_runs", None, {"limit": 0}, "limit"),
    ("GET", "/flow_runs", None, {"after": "not-a-cursor"}, "after"),
    ("GET", "/flow_runs", None, {"deployment_id": "a\x00b"}, "deployment_id"),
    ("GET", "/work_pools", None, {"limit": 1001}, "limit"),
    ("GET", "/flows", None, {"limit": 0}, "limit"),
    ("GET", "/flows", None, {"limit": 10 ** 30}, "limit"),
    ("DELETE", "/work_pools/p", None, {"force": "perhaps"}, "force"),
    ("DELETE", "/deployments/name/f/d", None, {"force": "perhaps"}, "force"),
    ("GET", "/deployments/name/f/d/upcoming", None, {"limit": 10 ** 30}, "limit"),
    ("GET", "/flow_runs/{run}/logs", None, {"after": "-1e26"}, "after"),
    ("GET", "/flow_runs/{run}/logs", None, {"after": -10 ** 26}, "after"),
    ("POST", "/flow_runs/{run}/logs", [{"timestamp": "9999-01-01T00:00:00Z", "message": "m"}],
     None, "0.timestamp"),
    ("POST", "/flow_runs/{run}/logs", [{"timestamp": "2026-01-01T00:00:00Z", "message": "m",
                                        "level": 2 ** 63}], None, "0.level"),
    ("POST", "/flow_runs/{run}/state", {"type": "RUNNING", "name": "n" * 51}, None, "name"),
    ("POST", "/flow_runs/{run}/claim", {"token": "t", "worker_name": "w" * 201}, None,
     "worker_name"),
]


@pytest.mark.parametrize("method, path, body, query, field", BAD_INPUTS,
                         ids=[f"{m} {p} {f}" for m, p, _, _, f in BAD_INPUTS])
def test_bad_input_is_a_422_naming_the_field(api, method, path, body, query, field):
    path = "/api" + path.replace("{run}", api.run_id)
    kwargs = {"params": query}
    if isinstance(body, str):
        kwargs.update(content=body, headers={"content-type": "application/json"})
    elif body is not None:
        kwargs["json"] = body

    response = api.request(method, path, **kwargs)

    assert response.status_code == 422, response.text
    fields = [e["field"] for e in response.json()["errors"]]
    assert any(f == field or f.startswith(field + ".") for f in fields), response.json()
    assert all(e["message"] for e in response.json()["errors"])


def test_a_body_too_deep_to_parse_is_a_400_naming_the_body(api):
    response = api.put("/api/variables/v", content='{"value": ' + "[" * 5000 + "]" * 5000 + "}",
                       headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "body"


def test_a_refused_redeploy_changes_nothing(api):
    before = api.get("/api/deployments/name/f/d").json()

    refused = api.put("/api/deployments", json=deployment(description="new", retries=-1))

    assert refused.status_code == 422
    assert api.get("/api/deployments/name/f/d").json() == before


def test_explicit_null_still_clears_a_concurrency_limit(api):
    assert api.patch("/api/work_pools/p", json={"concurrency_limit": 3}).json()[
        "concurrency_limit"] == 3

    cleared = api.patch("/api/work_pools/p", json={"concurrency_limit": None})

    assert cleared.status_code == 200 and cleared.json()["concurrency_limit"] is None
    assert cleared.json()["paused"] is False


@pytest.mark.parametrize("size, chunked", [(MAX_BYTES + 1, False), (3 * MAX_BYTES, True)])
def test_a_body_over_the_limit_is_a_413(api, size, chunked):
    body = json.dumps({"value": "x" * size}).encode()
    content = iter([body[i:i + 65536] for i in range(0, len(body), 65536)]) if chunked else body

    response = api.put("/api/variables/big", content=content,
                       headers={"content-type": "application/json"})

    assert response.status_code == 413
    assert response.json()["errors"][0]["field"] == "body"
    assert api.get("/api/variables/big").status_code == 404


def test_a_body_at_the_limit_reaches_the_route(api):
    padding = MAX_BYTES - len(json.dumps({"value": ""}))
    response = api.put("/api/variables/at-limit", content=json.dumps({"value": "x" * padding}),
                       headers={"content-type": "application/json"})
    assert response.status_code == 422  # read whole: the variable's own size bound answers
    assert response.json()["errors"][0]["field"] == "value"


def test_listings_come_in_pages_linked_by_a_cursor(api):
    names = [f"page-{i}" for i in range(5)]
    for name in names:
        assert api.put(f"/api/variables/{name}", json={"value": 1}).status_code == 201
    seen, params = [], {"limit": 2}
    while True:
        response = api.get("/api/variables", params=params)
        assert response.status_code == 200 and len(response.json()) <= 2
        seen += [v["name"] for v in response.json()]
        cursor = response.headers.get("x-next-cursor")
        if not cursor:
            break
        params["after"] = cursor

    assert [n for n in seen if n.startswith("page-")] == names
    assert len(seen) == len(set(seen))


def test_runs_are_paged_newest_first_without_repeats(api):
    created = [api.post("/api/deployments/name/f/d/runs", json={}).json()["id"]
               for _ in range(3)]
    first = api.get("/api/flow_runs", params={"limit": 2})
    second = api.get("/api/flow_runs", params={"limit": 2,
                                              "after": first.headers["x-next-cursor"]})

    ids = [r["id"] for r in first.json() + second.json()]
    assert ids[:3] == created[::-1]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("method, path, allowed", [
    ("DELETE", "/api/work_pools", "GET, POST"),
    ("PUT", "/api/work_pools/p", "DELETE, GET, PATCH"),
    ("PUT", "/api/deployments/name/f/d/schedules/x", "DELETE, PATCH"),
])
def test_a_wrong_method_is_a_405_allowing_every_method_of_the_path(api, method, path, allowed):
    response = api.request(method, path)

    assert response.status_code == 405
    assert response.headers["allow"] == allowed
    assert response.json()["errors"][0]["field"] == "method"


def test_the_openapi_document_describes_the_error_body_that_is_sent(api):
    document = api.get("/openapi.json").json()

    assert "HTTPValidationError" not in document["components"]["schemas"]
    body = document["components"]["schemas"]["ErrorBody"]
    assert set(body["required"]) == {"detail", "errors"}
    for path, operations in document["paths"].items():
        if path in ("/api/health", "/api/broker"):
            continue
        for method, operation in operations.items():
            for status in ("400", "401", "404", "409", "413", "422"):
                schema = operation["responses"][status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path)
