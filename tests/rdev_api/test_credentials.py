"""Credentials over the real API: names and metadata only in lists, values sealed at rest
(never in responses, audit rows or the database files), reveal for admins only and audited,
delete refused while bound, and malformed names answered with the envelope."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_http_keys import error_of, make_key

from conftest import ApiServer
from rdev_api.domain.credentials import validate_name
from rdev_api.domain.errors import ValidationFailed

SENTINEL = "sentinel-value-9c41e2d7"


def test_put_list_reveal_and_scopes(api_server: ApiServer) -> None:
    reader = make_key(api_server, scopes=["credentials:read"])
    writer = make_key(api_server, scopes=["credentials:write"])
    with api_server.client(writer["token"]) as client:
        put = client.put("/credentials/GITHUB_TOKEN", json={"value": SENTINEL, "description": "ci"})
        assert put.status_code == 200, put.text
        assert put.json()["name"] == "GITHUB_TOKEN" and put.json()["description"] == "ci"
        assert SENTINEL not in put.text
        error_of(client.get("/credentials"), 403, "FORBIDDEN")
        error_of(client.post("/credentials/GITHUB_TOKEN/reveal"), 403, "FORBIDDEN")
        replaced = client.put("/credentials/GITHUB_TOKEN", json={"value": SENTINEL + "-2"})
        assert replaced.json()["description"] == "ci", "an omitted description is kept"
        assert replaced.json()["created_at"] == put.json()["created_at"]
    with api_server.client(reader["token"]) as client:
        listed = client.get("/credentials")
        assert [c["name"] for c in listed.json()] == ["GITHUB_TOKEN"]
        assert SENTINEL not in listed.text and "value" not in listed.json()[0]
        error_of(client.put("/credentials/X", json={"value": "v"}), 403, "FORBIDDEN")
    with api_server.admin() as admin:
        revealed = admin.post("/credentials/GITHUB_TOKEN/reveal")
        assert revealed.json() == {"name": "GITHUB_TOKEN", "value": SENTINEL + "-2"}
        error_of(admin.post("/credentials/nope/reveal"), 404, "NOT_FOUND")
        trail = admin.get("/audit").json()
    actions = [(e["action"], e["target"]) for e in trail]
    assert actions.count(("credential.put", "GITHUB_TOKEN")) == 2
    assert ("credential.reveal", "GITHUB_TOKEN") in actions


def test_lists_paginate(api_server: ApiServer) -> None:
    with api_server.admin() as admin:
        for index in range(5):
            assert admin.put(f"/credentials/c{index}", json={"value": "v"}).status_code == 200
        first = admin.get("/credentials", params={"limit": 3})
        assert [c["name"] for c in first.json()] == ["c0", "c1", "c2"]
        following = first.headers["Link"].split(">", 1)[0].lstrip("<")
        assert [c["name"] for c in admin.get(following).json()] == ["c3", "c4"]


def test_delete_is_refused_while_bound(api_server: ApiServer) -> None:
    with api_server.admin() as admin:
        admin.put("/credentials/deploy", json={"value": SENTINEL})
        created = admin.post("/projects", json={"name": "shop", "credentials": {"DEPLOY": "deploy"}})
        assert created.status_code == 201, created.text
        refused = error_of(admin.delete("/credentials/deploy"), 409, "CONFLICT")
        assert "shop" in refused["message"]
        assert admin.delete("/projects/shop/credentials/DEPLOY").json()["credentials"] == {}
        assert admin.delete("/credentials/deploy").status_code == 204
        error_of(admin.delete("/credentials/deploy"), 404, "NOT_FOUND")
        assert admin.get("/credentials").json() == []
        actions = [e["action"] for e in admin.get("/audit").json()]
    assert "credential.delete" in actions


def test_the_value_never_leaves_in_clear(api_server: ApiServer, capfd: pytest.CaptureFixture[str]) -> None:
    with api_server.admin() as admin:
        admin.put("/credentials/api-key", json={"value": SENTINEL, "description": "the sentinel"})
        project = admin.post("/projects", json={"name": "vault", "credentials": {"API_KEY": "api-key"}})
        assert project.status_code == 201, project.text
        bound = admin.put("/projects/vault/credentials/OTHER", json={"credential": "api-key"})
        texts = [
            project.text,
            bound.text,
            admin.get("/projects").text,
            admin.get("/projects/vault").text,
            admin.get("/credentials").text,
            admin.get("/audit").text,
        ]
    assert all(SENTINEL not in text for text in texts)
    assert api_server.services.projects.environment("vault") == {"API_KEY": SENTINEL, "OTHER": SENTINEL}
    database = Path(api_server.services.db.path)
    for path in (database, database.with_name(database.name + "-wal")):
        if path.exists():
            assert SENTINEL.encode() not in path.read_bytes(), path
    captured = capfd.readouterr()
    assert SENTINEL not in captured.out + captured.err


@pytest.mark.parametrize("name", ["a b", "x" * 101, "%2E%2E", "caf\u00e9", "a:b"])
def test_malformed_names_are_refused(api_server: ApiServer, name: str) -> None:
    with api_server.admin() as admin:
        body = error_of(admin.put(f"/credentials/{name}", json={"value": "v"}), 422, "VALIDATION_FAILED")
    assert body["details"][0]["field"] == "name"


@pytest.mark.parametrize("path", ["/credentials/..%2Fx", "/credentials/a%2Fb", "/credentials/a/b"])
def test_traversal_in_names_gets_the_envelope(api_server: ApiServer, path: str) -> None:
    with api_server.admin() as admin:
        for response in (
            admin.put(path, json={"value": "v"}),
            admin.delete(path),
            admin.post(path + "/reveal"),
        ):
            assert 400 <= response.status_code < 500, response.text
            assert response.json()["error"]["request_id"] == response.headers["X-Request-ID"]
        assert admin.get("/credentials").json() == []


def test_bad_bodies(api_server: ApiServer) -> None:
    with api_server.admin() as admin:
        wrong = error_of(admin.put("/credentials/x", json={"value": 5, "extra": 1}), 422, "VALIDATION_FAILED")
        assert {d["field"] for d in wrong["details"]} == {"value", "extra"}
        error_of(admin.put("/credentials/x", json={"value": ""}), 422, "VALIDATION_FAILED")
        error_of(
            admin.put("/credentials/x", content=b"{", headers={"Content-Type": "application/json"}),
            400,
            "BAD_REQUEST",
        )


@pytest.mark.parametrize("name", ["GITHUB_TOKEN", "a.b-c_d", "x" * 100, "1"])
def test_env_like_names_are_accepted(name: str) -> None:
    assert validate_name(name) == name


@pytest.mark.parametrize("name", ["", ".", "...", "a/b", "../x", "a\x00b", "x" * 101])
def test_other_names_are_not(name: str) -> None:
    with pytest.raises(ValidationFailed):
        validate_name(name)
