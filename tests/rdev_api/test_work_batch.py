"""Batches in the work queue: `POST /work/batch` queues up to 100 items in one transaction
(all or none, in order, one audit row each), and a worker posting an outcome can claim its
next item in the same request (`claim` → `next`)."""

from __future__ import annotations

from typing import Any

import httpx
from test_http_keys import error_of, make_key

from conftest import ApiServer


def _project(api: ApiServer, name: str) -> None:
    with api.admin() as admin:
        admin.post("/projects", json={"name": name}).raise_for_status()


def _count(api: ApiServer) -> int:
    with api.admin() as admin:
        return sum(admin.get("/work/stats").json()["by_status"].values())


def test_a_batch_is_queued_in_order_with_an_audit_row_per_item(api_server: ApiServer) -> None:
    items = [{"type": "job", "payload": {"n": n}, "priority": n} for n in range(3)]
    with api_server.admin() as admin:
        answer = admin.post("/work/batch", json={"items": items})
        assert answer.status_code == 201, answer.text
        queued = answer.json()
        assert [i["payload"]["n"] for i in queued] == [0, 1, 2]
        assert all(i["status"] == "queued" and i["type"] == "job" for i in queued)
        assert [admin.get(f"/work/{i['id']}").json()["priority"] for i in queued] == [0, 1, 2]
        rows = [r for r in admin.get("/audit?limit=500").json() if r["action"] == "work.submit"]
    assert sorted(r["target"] for r in rows) == sorted(i["id"] for i in queued)
    assert {r["request_id"] for r in rows} == {answer.headers["X-Request-ID"]}


def test_a_batch_is_all_or_none(api_server: ApiServer) -> None:
    _project(api_server, "mine")
    _project(api_server, "theirs")
    before = _count(api_server)
    with api_server.admin() as admin:
        missing = [{"type": "job", "project": "mine"}, {"type": "job", "project": "nowhere"}]
        error_of(admin.post("/work/batch", json={"items": missing}), 404, "NOT_FOUND")
    restricted = make_key(api_server, scopes=["queue:write"], projects=["mine"])
    with api_server.client(restricted["token"]) as client:
        mixed = [{"type": "job", "project": "mine"}, {"type": "job", "project": "theirs"}]
        error_of(client.post("/work/batch", json={"items": mixed}), 403, "PROJECT_FORBIDDEN")
    assert _count(api_server) == before


def test_batch_bodies_are_validated(api_server: ApiServer) -> None:
    with api_server.admin() as admin:
        for body in (
            {"items": []},
            {"items": [{"type": "job"}] * 101},
            {"items": [{"type": "job", "colour": "red"}]},
            {"items": [{"type": "Bad Type"}]},
            [{"type": "job"}],
        ):
            error_of(admin.post("/work/batch", json=body), 422, "VALIDATION_FAILED")


def _claim(admin: Any, worker: str) -> dict[str, Any]:
    answer = admin.post("/work/claim", json={"worker_id": worker, "types": ["job"]})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_an_outcome_claims_the_next_item_in_the_same_request(api_server: ApiServer) -> None:
    with api_server.admin() as admin:
        admin.post("/work/batch", json={"items": [{"type": "job", "payload": {"n": n}} for n in range(3)]})
        first = _claim(admin, "w1")
        claim = {"types": ["job"], "lease_s": 30}
        done = admin.post(f"/work/{first['id']}/complete", json={"worker_id": "w1", "claim": claim})
        assert done.status_code == 200, done.text
        second = done.json()["next"]
        assert done.json()["status"] == "succeeded" and done.json()["id"] == first["id"]
        assert second["status"] == "running" and second["worker_id"] == "w1" and second["id"] != first["id"]
        failed = admin.post(
            f"/work/{second['id']}/fail", json={"worker_id": "w1", "error": "boom", "claim": claim}
        ).json()
        third = failed["next"]
        assert failed["status"] == "queued" and third["worker_id"] == "w1"  # retryable: back later
        last = admin.post(f"/work/{third['id']}/complete", json={"worker_id": "w1", "claim": claim}).json()
        assert last["status"] == "succeeded" and last["next"] is None  # the failed one backs off
        plain = admin.post(f"/work/{third['id']}/complete", json={"worker_id": "w1"})
        error_of(plain, 409, "CONFLICT")  # already done: and a refused outcome claims nothing
        actions = [r["action"] for r in admin.get("/audit?limit=500").json()]
    assert actions.count("work.claim") == 3


def test_a_refused_outcome_claims_nothing(api_server: ApiServer) -> None:
    with api_server.admin() as admin:
        admin.post("/work/batch", json={"items": [{"type": "job"}, {"type": "job"}]})
        held = _claim(admin, "w1")
        claim = {"types": ["job"]}
        lost = admin.post(f"/work/{held['id']}/complete", json={"worker_id": "w2", "claim": claim})
        error_of(lost, 409, "CONFLICT")
        assert admin.get("/work/stats").json()["by_status"]["queued"] == 1  # still there
        error_of(admin.post(f"/work/{held['id']}/complete", json={"claim": claim}), 422, "VALIDATION_FAILED")


def test_an_outcome_its_next_claim_and_their_audit_rows_commit_together(
    api_server: ApiServer, monkeypatch: Any
) -> None:
    with api_server.admin() as admin:
        admin.post("/work/batch", json={"items": [{"type": "job"}, {"type": "job"}]})
        held = _claim(admin, "w1")
        auditor = api_server.services.audit
        real = auditor.record_many
        calls: list[str] = []

        def failing_second(key_id: str, action: str, *rest: Any) -> None:
            calls.append(action)
            if action == "work.claim":  # the next claim's row: after the outcome's was written
                raise RuntimeError("the audit store failed")
            real(key_id, action, *rest)

        monkeypatch.setattr(auditor, "record_many", failing_second)
        claim = {"types": ["job"], "lease_s": 30}
        with api_server.admin() as once:
            try:
                status = once.post(f"/work/{held['id']}/complete", json={"worker_id": "w1", "claim": claim})
                assert status.status_code == 500
            except httpx.TransportError:
                pass  # uvicorn closes the connection after an unhandled error, at times before the 500
        assert calls == ["work.complete", "work.claim"]
        monkeypatch.setattr(auditor, "record_many", real)
        counts = admin.get("/work/stats").json()["by_status"]
        # nothing of it stayed: the item is still held, the other still queued, no audit row
        assert counts["running"] == 1 and counts["queued"] == 1 and counts["succeeded"] == 0
        actions = [r["action"] for r in admin.get("/audit?limit=500").json()]
        assert "work.complete" not in actions
        done = admin.post(f"/work/{held['id']}/complete", json={"worker_id": "w1", "claim": claim})
        assert done.status_code == 200 and done.json()["next"] is not None
