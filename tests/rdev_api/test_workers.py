"""The worker registry over HTTP: register, list, get, heartbeat, drain (a draining worker
claims nothing), re-register, remove; and the scopes of the routes."""

from __future__ import annotations

from test_http_keys import error_of, make_key

from conftest import ApiServer


def test_register_heartbeat_drain_and_remove(api_server: ApiServer) -> None:
    with api_server.admin() as admin:
        created = admin.post("/workers", json={"id": "box-1", "name": "build box", "types": ["job"]})
        assert created.status_code == 201
        worker = created.json()
        assert (worker["id"], worker["status"], worker["types"], worker["embedded"]) == (
            "box-1",
            "active",
            ["job"],
            False,
        )
        assert [w["id"] for w in admin.get("/workers").json()] == ["box-1"]
        beat = admin.post("/workers/box-1/heartbeat").json()
        assert beat["last_seen_at"] >= worker["last_seen_at"]

        admin.post("/work", json={"type": "job"})
        assert admin.post("/workers/box-1/drain").json()["status"] == "draining"
        assert admin.get("/workers/box-1").json()["status"] == "draining"
        claim = admin.post("/work/claim", json={"worker_id": "box-1", "types": ["job"]})
        assert claim.status_code == 204, "a draining worker claimed work"
        assert admin.post("/workers/box-1/heartbeat").json()["status"] == "draining"

        assert admin.post("/workers", json={"id": "box-1", "types": ["job"]}).json()["status"] == "active"
        assert admin.post("/work/claim", json={"worker_id": "box-1", "types": ["job"]}).status_code == 200

        assert admin.delete("/workers/box-1").status_code == 204
        error_of(admin.get("/workers/box-1"), 404, "NOT_FOUND")
        error_of(admin.post("/workers/box-1/heartbeat"), 404, "NOT_FOUND")
        error_of(admin.delete("/workers/box-1"), 404, "NOT_FOUND")
        error_of(admin.post("/workers", json={"id": "../x"}), 422, "VALIDATION_FAILED")
        made_up = admin.post("/workers", json={}).json()
        assert made_up["id"].startswith("w_") and made_up["types"] == []


def test_unregistered_workers_may_claim(api_server: ApiServer) -> None:
    """The worker protocol does not need registration (the Go worker template never registers)."""
    with api_server.admin() as admin:
        admin.post("/work", json={"type": "job"})
        claim = admin.post("/work/claim", json={"worker_id": "anon-7", "types": ["job"]})
        assert claim.status_code == 200 and claim.json()["worker_id"] == "anon-7"
        error_of(admin.get("/workers/anon-7"), 404, "NOT_FOUND")


def test_scopes_of_the_worker_routes(api_server: ApiServer) -> None:
    worker_key = make_key(api_server, scopes=["workers"])
    reader_key = make_key(api_server, scopes=["queue:read"])
    with api_server.client(worker_key["token"]) as worker, api_server.client(reader_key["token"]) as reader:
        assert worker.post("/workers", json={"id": "w9"}).status_code == 201
        assert worker.post("/work/claim", json={"worker_id": "w9", "types": ["job"]}).status_code == 204
        error_of(worker.get("/workers"), 403, "FORBIDDEN")
        error_of(worker.post("/work", json={"type": "job"}), 403, "FORBIDDEN")
        assert [w["id"] for w in reader.get("/workers").json()] == ["w9"]
        error_of(reader.post("/workers/w9/drain"), 403, "FORBIDDEN")
        error_of(reader.post("/work/claim", json={"worker_id": "w9", "types": ["job"]}), 403, "FORBIDDEN")
    with api_server.admin() as admin:
        actions = [e["action"] for e in admin.get("/audit").json()]
    assert "worker.register" in actions
