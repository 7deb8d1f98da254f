"""Blocks through the API in-process, on a real SQLite file and a real PostgreSQL server:
secret fields are sealed before the store sees them, masked in every answer, and given in
the clear only when asked (`include_secrets`); bad input is a 422 naming the field."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from orchestrator.api.app import create_app
from orchestrator.encryption import secret_box
from orchestrator.masking import MASK
from orchestrator.store.tables import blocks

PASSWORD = "correct-horse-battery"


@pytest.fixture
def api(database, tmp_path):
    app = create_app(database, None)
    app.state.secret_box = secret_box(tmp_path / "home", None)
    return TestClient(app, raise_server_exceptions=False)


def create(api, kind: str, name: str, data: dict):
    return api.post("/api/blocks", json={"type": kind, "name": name, "data": data})


def test_a_secret_is_sealed_at_rest_masked_when_shown_and_clear_only_when_asked(api, database):
    created = create(api, "docker-registry-credentials", "registry", {
        "username": "ci", "password": PASSWORD, "registry_url": "ghcr.io"})
    shown = api.get("/api/blocks/docker-registry-credentials/registry").json()
    listed = api.get("/api/blocks").json()
    clear = api.get("/api/blocks/docker-registry-credentials/registry",
                    params={"include_secrets": "true"}).json()
    with database.connect() as conn:
        row = conn.execute(sa.select(blocks)).mappings().one()

    assert created.status_code == 201
    for answer in (created.json(), shown, listed[0]):
        assert answer["data"] == {"username": "ci", "registry_url": "ghcr.io", "password": MASK}
        assert answer["secret_fields"] == ["password"]
    assert clear["data"]["password"] == PASSWORD
    assert PASSWORD not in str(dict(row)) and row["data"] == {"username": "ci",
                                                              "registry_url": "ghcr.io"}


def test_put_creates_then_replaces_and_delete_removes(api):
    first = api.put("/api/blocks/secret/token", json={"data": {"value": "one"}})
    second = api.put("/api/blocks/secret/token", json={"data": {"value": {"nested": "two"}}})
    clear = api.get("/api/blocks/secret/token?include_secrets=true").json()
    deleted = api.delete("/api/blocks/secret/token")
    gone = api.get("/api/blocks/secret/token")

    assert (first.status_code, second.status_code, deleted.status_code) == (201, 200, 200)
    assert clear["data"] == {"value": {"nested": "two"}}
    assert gone.status_code == 404
    assert "flowpool block create secret token" in gone.text


def test_blocks_are_listed_by_type_then_name_and_filtered_by_type(api):
    for kind, name, data in (("json", "b", {"value": 1}), ("json", "a", {"value": [2]}),
                             ("secret", "a", {"value": "x"})):
        assert create(api, kind, name, data).status_code == 201
    everything = [(b["type"], b["name"]) for b in api.get("/api/blocks").json()]
    only_json = [b["name"] for b in api.get("/api/blocks", params={"type": "json"}).json()]
    assert everything == [("json", "a"), ("json", "b"), ("secret", "a")]
    assert only_json == ["a", "b"]


def test_creating_a_block_twice_is_a_conflict_that_keeps_the_first(api):
    create(api, "secret", "once", {"value": "first"})
    again = create(api, "secret", "once", {"value": "second"})
    assert again.status_code == 409 and "--overwrite" in again.text
    assert api.get("/api/blocks/secret/once?include_secrets=true").json()["data"] == {
        "value": "first"}


@pytest.mark.parametrize("method, path, body, field", [
    ("POST", "/blocks", {"type": "secrets", "name": "x", "data": {"value": "v"}}, "type"),
    ("POST", "/blocks", {"type": "secret", "name": "Not_Valid", "data": {"value": "v"}}, "name"),
    ("POST", "/blocks", {"type": "secret", "name": "x", "data": {}}, "data.value"),
    ("POST", "/blocks", {"type": "secret", "name": "x", "data": {"value": ""}}, "data.value"),
    ("POST", "/blocks", {"type": "secret", "name": "x", "data": {"value": "v", "extra": 1}},
     "data.extra"),
    ("PUT", "/blocks/docker-registry-credentials/x", {"data": {
        "username": "u", "password": "p", "registry_url": "r", "reauth": "yes"}}, "data.reauth"),
    ("PUT", "/blocks/s3-bucket/x", {"data": {"bucket_name": 7}}, "data.bucket_name"),
    ("PUT", "/blocks/aws-credentials/x", {"data": {"aws_client_parameters": [1]}},
     "data.aws_client_parameters"),
    ("PUT", "/blocks/json/x", {"data": {"value": "x" * 70_000}}, "data.value"),
    ("GET", "/blocks/nope/x", None, "type"),
    ("GET", "/blocks?type=nope", None, "type"),
])
def test_bad_input_is_a_422_naming_the_field_and_writes_nothing(api, method, path, body, field):
    answer = api.request(method, "/api" + path, json=body)
    assert answer.status_code == 422, answer.text
    assert field in [e["field"].removeprefix("body.") for e in answer.json()["errors"]]
    assert api.get("/api/blocks").json() == []


def test_block_types_list_their_fields_and_which_are_secret(api):
    kinds = {k["slug"]: k for k in api.get("/api/block-types").json()}
    assert set(kinds) >= {"secret", "json", "aws-credentials", "s3-bucket",
                          "github-credentials", "docker-registry-credentials"}
    secret_fields = {f["name"] for f in kinds["aws-credentials"]["fields"] if f["secret"]}
    assert secret_fields == {"aws_secret_access_key", "aws_session_token"}


def test_a_server_with_another_key_refuses_to_open_the_secrets_naming_the_key(api, tmp_path):
    create(api, "secret", "sealed", {"value": PASSWORD})
    api.app.state.secret_box = secret_box(tmp_path / "other-home", None)
    masked = api.get("/api/blocks/secret/sealed")
    clear = api.get("/api/blocks/secret/sealed?include_secrets=true")
    assert masked.status_code == 200
    assert clear.status_code == 400 and "FLOWPOOL_SECRET_KEY" in clear.text
    assert PASSWORD not in clear.text
