"""The API over a real loopback port: the error envelope and request ids, auth with scoped
keys (revocation, expiry, IP allow-lists, no escalation), pagination, audit, rate limit, and
malformed, mistyped and oversized bodies answered with the envelope, never a 500."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from conftest import ApiServer
from rdev_api.domain.keys import ApiKey, mint
from rdev_api.http.auth import RateLimiter

OPEN_PATHS = {"/health", "/version"}


def error_of(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()["error"]
    assert body["code"] == code, body
    assert body["request_id"] == response.headers["X-Request-ID"]
    return dict(body)


def make_key(api: ApiServer, **fields: Any) -> dict[str, Any]:
    with api.admin() as admin:
        response = admin.post("/keys", json={"name": "k", **fields})
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def test_open_routes_and_request_ids(api_server: ApiServer) -> None:
    with api_server.client() as client:
        health = client.get("/health")
        assert health.status_code == 200 and health.json()["status"] == "ok"
        assert health.headers["X-Request-ID"].startswith("req_")
        mine = client.get("/version", headers={"X-Request-ID": "trace-12345678"})
        assert mine.headers["X-Request-ID"] == "trace-12345678"
        error_of(client.get("/nowhere"), 404, "NOT_FOUND")


def test_a_key_is_required_and_checked(api_server: ApiServer) -> None:
    with api_server.client() as anonymous:
        assert "X-API-Key" in error_of(anonymous.get("/whoami"), 401, "UNAUTHORIZED")["message"]
    with api_server.client("not-a-key") as bad:
        error_of(bad.get("/whoami"), 401, "UNAUTHORIZED")
    wrong = api_server.admin_token[:-4] + "AAAA"
    with api_server.client(wrong) as forged:
        error_of(forged.get("/whoami"), 401, "UNAUTHORIZED")
    with api_server.admin() as admin:
        me = admin.get("/whoami")
    assert me.status_code == 200 and me.json()["scopes"] == ["admin"]
    assert api_server.admin_token not in me.text and "secret" not in me.text


def test_created_keys_work_with_their_scopes_only(api_server: ApiServer) -> None:
    created = make_key(api_server, scopes=["projects:read"], projects=["p1"])
    assert created["token"].startswith(f"rdev_{created['id']}_")
    with api_server.client(created["token"]) as reader:
        assert reader.get("/whoami").json()["id"] == created["id"]
        assert "keys:admin" in error_of(reader.get("/keys"), 403, "FORBIDDEN")["message"]
    with api_server.admin() as admin:
        listed = admin.get("/keys").json()
        assert {k["id"] for k in listed} >= {created["id"]}
        assert all("token" not in k and "secret_hash" not in k for k in listed)
        assert admin.get(f"/keys/{created['id']}").json()["projects"] == ["p1"]
        error_of(admin.get("/keys/zzzzzzzz"), 404, "NOT_FOUND")


def test_a_key_cannot_mint_a_broader_key(api_server: ApiServer) -> None:
    minter = make_key(api_server, scopes=["keys:admin", "projects:read"], projects=["p1"])
    with api_server.client(minter["token"]) as client:
        ok = client.post("/keys", json={"name": "narrow", "scopes": ["projects:read"], "projects": ["p1"]})
        assert ok.status_code == 201
        error_of(client.post("/keys", json={"name": "x", "scopes": ["admin"]}), 403, "FORBIDDEN")
        error_of(
            client.post("/keys", json={"name": "x", "scopes": ["projects:read"], "projects": ["p2"]}),
            403,
            "FORBIDDEN",
        )
        error_of(client.post("/keys", json={"name": "x", "scopes": ["projects:read"]}), 403, "FORBIDDEN")


def test_revocation_rotation_expiry_and_ip_allow_lists(api_server: ApiServer) -> None:
    revoked = make_key(api_server, scopes=["projects:read"])
    rotated = make_key(api_server, scopes=["projects:read"])
    with api_server.admin() as admin:
        assert admin.delete(f"/keys/{revoked['id']}").json()["revoked_at"] is not None
        fresh = admin.post(f"/keys/{rotated['id']}/rotate").json()["token"]
    with api_server.client(revoked["token"]) as client:
        error_of(client.get("/whoami"), 401, "KEY_REVOKED")
    with api_server.client(rotated["token"]) as client:
        error_of(client.get("/whoami"), 401, "UNAUTHORIZED")
    with api_server.client(fresh) as client:
        assert client.get("/whoami").status_code == 200
    minted = mint()
    expired = ApiKey(
        id=minted.key_id,
        name="old",
        scopes=["admin"],
        projects=["*"],
        expires_at=datetime.now(UTC) - timedelta(minutes=1),
        created_at=datetime.now(UTC) - timedelta(days=1),
    )
    api_server.services.keys.keys.insert(expired, minted.secret_hash)
    with api_server.client(minted.token) as client:
        error_of(client.get("/whoami"), 401, "KEY_EXPIRED")
    elsewhere = make_key(api_server, scopes=["admin"], allowed_ips=["10.0.0.0/8"])
    with api_server.client(elsewhere["token"]) as client:
        error_of(client.get("/whoami"), 403, "IP_NOT_ALLOWED")
    here = make_key(api_server, scopes=["admin"], allowed_ips=["127.0.0.1/32"])
    with api_server.client(here["token"]) as client:
        assert client.get("/whoami").status_code == 200


def test_bad_bodies_get_the_envelope_never_a_500(api_server: ApiServer) -> None:
    with api_server.admin() as admin:
        broken = admin.post("/keys", content=b'{"name": ', headers={"Content-Type": "application/json"})
        assert error_of(broken, 400, "BAD_REQUEST")["message"] == "invalid request body: it is not valid JSON"
        wrong = error_of(
            admin.post("/keys", json={"name": 5, "scopes": "admin", "extra": 1}), 422, "VALIDATION_FAILED"
        )
        assert {d["field"] for d in wrong["details"]} == {"name", "scopes", "extra"}
        error_of(
            admin.post("/keys", json={"name": "x", "scopes": ["projects:sudo"]}), 422, "VALIDATION_FAILED"
        )
        error_of(
            admin.post("/keys", json={"name": "x", "scopes": ["admin"], "allowed_ips": ["nope"]}),
            422,
            "VALIDATION_FAILED",
        )
        big = admin.post(
            "/keys", content=b"x" * (2 * 1024 * 1024), headers={"Content-Type": "application/json"}
        )
        error_of(big, 413, "PAYLOAD_TOO_LARGE")
        error_of(admin.get("/keys/..%2F..%2Fetc"), 404, "NOT_FOUND")
        error_of(admin.get("/keys", params={"cursor": "garbage!"}), 400, "BAD_REQUEST")
        error_of(admin.get("/keys", params={"limit": 0}), 422, "VALIDATION_FAILED")
        error_of(admin.put("/keys"), 405, "BAD_REQUEST")


def test_lists_paginate_with_a_link_header(api_server: ApiServer) -> None:
    made = {make_key(api_server, scopes=["projects:read"])["id"] for _ in range(5)}
    seen: list[str] = []
    with api_server.admin() as admin:
        url: str | None = "/keys?limit=2"
        pages = 0
        while url:
            response = admin.get(url)
            assert response.status_code == 200 and len(response.json()) <= 2
            seen += [k["id"] for k in response.json()]
            link = response.headers.get("Link")
            url = link.split(">", 1)[0].lstrip("<") if link else None
            pages += 1
    assert made <= set(seen) and len(seen) == len(set(seen)) == 6 and pages == 3


def test_mutations_are_audited(api_server: ApiServer) -> None:
    created = make_key(api_server, scopes=["projects:read"])
    with api_server.admin() as admin:
        revoke = admin.delete(f"/keys/{created['id']}")
        trail = admin.get("/audit").json()
    actions = [(e["action"], e["target"]) for e in trail]
    assert ("key.create", created["id"]) in actions and ("key.revoke", created["id"]) in actions
    assert trail[-1]["request_id"] == revoke.headers["X-Request-ID"] and trail[-1]["client_ip"] == "127.0.0.1"


def test_rate_limit_answers_429_with_retry_after(api_server: ApiServer) -> None:
    api_server.services.rate_limiter = RateLimiter(rate=1, burst=3)
    api_server.app.state.services.rate_limiter = api_server.services.rate_limiter
    with api_server.admin() as admin:
        codes = [admin.get("/whoami").status_code for _ in range(5)]
        assert codes[:3] == [200, 200, 200] and 429 in codes[3:]
        limited = admin.get("/whoami")
    error_of(limited, 429, "RATE_LIMITED")
    assert int(limited.headers["Retry-After"]) >= 1


# Authenticated by a signature (X-Rdev-Signature with the project's callback token), not a
# key: tests/rdev_api/test_features.py checks its own auth.
SIGNED_PATHS = {"/projects/{project_id}/sdlc/events"}
# any valid key may call these: they reveal nothing of other keys or projects
ANY_KEY_PATHS = {"/whoami", "/templates", "/templates/{name}"}


def _routes(api: ApiServer) -> list[tuple[str, str, str]]:
    """Every operation of the app's OpenAPI document: method, path with its parameters filled
    in, the path as documented."""
    found = []
    for path, operations in api.app.openapi()["paths"].items():
        if path in OPEN_PATHS or path in SIGNED_PATHS:
            continue
        concrete = re.sub(r"\{[^}]+\}", "abcdefgh", path)
        found += [(method.upper(), concrete, path) for method in sorted(operations)]
    return found


def test_every_route_requires_a_key_and_its_scope(api_server: ApiServer) -> None:
    outsider = make_key(api_server, scopes=["webhooks:read"])
    # /webhooks routes need the webhooks scopes: another outsider lacks them
    webhook_outsider = make_key(api_server, scopes=["projects:read"])
    routes = _routes(api_server)
    assert len(routes) >= 7
    with (
        api_server.client() as anonymous,
        api_server.client(outsider["token"]) as client,
        api_server.client(webhook_outsider["token"]) as webhook_client,
    ):
        for method, path, documented in routes:
            error_of(anonymous.request(method, path), 401, "UNAUTHORIZED")
            if documented not in ANY_KEY_PATHS:
                caller = webhook_client if path.startswith("/webhooks") else client
                error_of(caller.request(method, path), 403, "FORBIDDEN")


@pytest.mark.parametrize("path", sorted(OPEN_PATHS))
def test_open_routes_need_no_key(api_server: ApiServer, path: str) -> None:
    with api_server.client() as client:
        assert client.get(path).status_code == 200
