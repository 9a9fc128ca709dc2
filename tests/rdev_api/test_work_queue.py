"""The work queue: claims by many concurrent workers (threads over HTTP, processes on the same
database file) never share an item nor lose one; leases expire back to the queue; retryable
failures back off and die after max_attempts; only the holder may heartbeat, complete or fail;
cancel/retry rules; stats; embedded workers running a registered handler end to end."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from test_http_keys import error_of, make_key

from conftest import ApiServer
from rdev_api.adapters.clock import SystemClock
from rdev_api.adapters.sqlite.database import Database
from rdev_api.adapters.sqlite.work import SqliteWorkStore
from rdev_api.adapters.sqlite.workers import SqliteWorkerStore
from rdev_api.domain.errors import Conflict
from rdev_api.http.auth import RateLimiter
from rdev_api.services.work import EmbeddedWorkers, PermanentFailure, WorkJob, WorkRequest, WorkService

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[WorkService]:
    db = Database(tmp_path / "rdev.db")
    yield WorkService(SqliteWorkStore(db), SqliteWorkerStore(db), SystemClock(), lease_s=60)
    db.close()


@pytest.fixture
def api(api_server: ApiServer) -> ApiServer:
    """The server without the per-key rate limit in the way of a load test."""
    api_server.services.rate_limiter = RateLimiter(rate=1_000_000, burst=1_000_000)
    return api_server


def _insert(store: SqliteWorkStore, created: datetime, type_: str = "job", **fields: Any) -> dict[str, Any]:
    item = {"id": f"wi_{created.timestamp():.0f}_{type_}", "type": type_, "project": None, "payload": {}}
    item |= {"priority": 0, "max_attempts": 3, "run_after": created, "created_at": created, **fields}
    return store.insert(item)


def _wait_for(check: Any, what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


# --- claims -------------------------------------------------------------------------------


def test_claims_take_the_highest_priority_then_the_oldest_item(service: WorkService) -> None:
    store = service.items
    assert isinstance(store, SqliteWorkStore)
    old_low = _insert(store, T0, priority=0)
    new_high = _insert(store, T0 + timedelta(seconds=2), priority=5)
    old_high = _insert(store, T0 + timedelta(seconds=1), priority=5)
    later = T0 + timedelta(seconds=10)
    order = [store.claim("w", ["job"], 30, later, None) for _ in range(4)]
    assert [i["id"] if i else None for i in order] == [old_high["id"], new_high["id"], old_low["id"], None]
    first = order[0]
    assert first is not None and first["status"] == "running" and first["attempts"] == 1
    assert first["worker_id"] == "w" and first["lease_expires_at"] == later + timedelta(seconds=30)


def test_nothing_claimable_answers_204(api: ApiServer) -> None:
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    with api.admin() as admin:
        assert admin.post("/work", json={"type": "later", "run_after": later}).status_code == 201
        assert admin.post("/work", json={"type": "other"}).status_code == 201
        for types in (["later"], ["nothing"]):
            claim = admin.post("/work/claim", json={"worker_id": "w1", "types": types, "lease_s": 30})
            assert claim.status_code == 204 and claim.content == b""
        claim = admin.post(
            "/work/claim", json={"worker_id": "w1", "types": ["later", "other"], "lease_s": 30}
        )
        assert claim.status_code == 200 and claim.json()["type"] == "other"
        error_of(admin.post("/work/claim", json={"worker_id": "w1", "types": []}), 422, "VALIDATION_FAILED")


CLAIMER = """
import json, sys, time
from datetime import UTC, datetime
from pathlib import Path
from rdev_api.adapters.sqlite.database import Database
from rdev_api.adapters.sqlite.work import SqliteWorkStore

store, worker = SqliteWorkStore(Database(Path(sys.argv[1]))), sys.argv[2]
print("ready", flush=True)
sys.stdin.readline()
claimed = []
while (item := store.claim(worker, ["job"], 60, datetime.now(UTC), None)) is not None:
    claimed.append(item["id"])
    time.sleep(0.003)  # the work: HTTP claimers are slower, let them have a share
    store.complete(item["id"], worker, {"by": worker}, datetime.now(UTC))
print(json.dumps(claimed), flush=True)
"""


def test_concurrent_claimers_never_share_an_item_nor_lose_one(api: ApiServer) -> None:
    """8 threads over HTTP and 4 processes on the same database file drain one queue."""
    total = 600
    work = api.services.work
    ids = {work.submit(WorkRequest("job", {"n": n}), None)["id"] for n in range(total)}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIMER, str(api.services.db.path), f"proc-{n}"],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    for process in processes:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    claims: dict[str, list[str]] = {f"thread-{n}": [] for n in range(8)}
    go = threading.Event()

    def http_claimer(worker: str) -> None:
        mine = claims[worker]
        with api.admin() as client:
            assert client.get("/work/stats").status_code == 200  # connected before the start
            go.wait(timeout=60)
            while (
                claim := client.post("/work/claim", json={"worker_id": worker, "types": ["job"]})
            ).status_code == 200:
                item_id = claim.json()["id"]
                mine.append(item_id)
                done = client.post(
                    f"/work/{item_id}/complete", json={"worker_id": worker, "result": {"by": worker}}
                )
                assert done.status_code == 200, done.text
            assert claim.status_code == 204, claim.text

    threads = [threading.Thread(target=http_claimer, args=(f"thread-{n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    go.set()
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    for n, process in enumerate(processes):
        out, _ = process.communicate(timeout=120)
        assert process.returncode == 0
        claims[f"proc-{n}"] = json.loads(out.strip().splitlines()[-1])
    for thread in threads:
        thread.join(timeout=120)
        assert not thread.is_alive()
    every = [item_id for claimed in claims.values() for item_id in claimed]
    assert len(every) == len(set(every)), "an item was claimed twice"
    assert set(every) == ids, "an item was lost"
    # which side wins the race depends on the machine's load; that several claimers shared
    # the queue is what the test needs
    assert sum(1 for claimed in claims.values() if claimed) >= 2
    for worker, claimed in claims.items():
        for item_id in claimed:
            item = work.get(item_id, None)
            assert (
                item["status"] == "succeeded" and item["result"] == {"by": worker} and item["attempts"] == 1
            )


# --- leases and failures -------------------------------------------------------------------


def test_an_expired_lease_puts_the_item_back_and_the_old_holder_loses_it(service: WorkService) -> None:
    store = service.items
    assert isinstance(store, SqliteWorkStore)
    item = _insert(store, T0, max_attempts=2)
    assert store.claim("w1", ["job"], 10, T0, None) is not None
    assert store.reap(T0 + timedelta(seconds=9)) == []
    [back] = store.reap(T0 + timedelta(seconds=11))
    assert (back["id"], back["status"], back["worker_id"], back["attempts"]) == (
        item["id"],
        "queued",
        None,
        1,
    )
    with pytest.raises(Conflict):
        store.heartbeat(item["id"], "w1", 10, T0 + timedelta(seconds=12))
    again = store.claim("w2", ["job"], 10, T0 + timedelta(seconds=12), None)
    assert again is not None and again["worker_id"] == "w2" and again["attempts"] == 2
    with pytest.raises(Conflict):
        store.complete(item["id"], "w1", None, T0 + timedelta(seconds=13))
    [spent] = store.reap(T0 + timedelta(seconds=30))
    assert spent["status"] == "dead" and spent["finished_at"] is not None


def test_the_reaper_thread_requeues_an_abandoned_item(api: ApiServer) -> None:
    reaper = EmbeddedWorkers(api.services.work, count=0, reaper_interval_s=0.05)
    reaper.start()
    try:
        with api.admin() as admin:
            item_id = admin.post("/work", json={"type": "abandoned"}).json()["id"]
            claim = admin.post(
                "/work/claim", json={"worker_id": "w1", "types": ["abandoned"], "lease_s": 0.3}
            )
            assert claim.json()["status"] == "running"
            back = _wait_for(
                lambda: (r := admin.get(f"/work/{item_id}").json())["status"] == "queued" and r, "the reaper"
            )
    finally:
        reaper.stop(timeout=5)
    assert back["attempts"] == 1 and back["worker_id"] is None and back["last_error"] == "lease expired"


def test_retryable_failures_back_off_then_die(service: WorkService) -> None:
    store = service.items
    assert isinstance(store, SqliteWorkStore)
    item = _insert(store, T0, max_attempts=3)
    now = T0
    for attempt in (1, 2):
        claimed = store.claim("w", ["job"], 30, now, None)
        assert claimed is not None and claimed["attempts"] == attempt
        failed = store.fail(item["id"], "w", f"boom {attempt}", True, now)
        assert failed["status"] == "queued" and failed["last_error"] == f"boom {attempt}"
        assert failed["run_after"] > now and failed["worker_id"] is None
        assert store.claim("w", ["job"], 30, now, None) is None, "claimable before its backoff"
        now = failed["run_after"]
    assert store.claim("w", ["job"], 30, now, None) is not None
    dead = store.fail(item["id"], "w", "boom 3", True, now)
    assert dead["status"] == "dead" and dead["attempts"] == 3 and dead["finished_at"] == now


def test_a_non_retryable_failure_is_final(service: WorkService) -> None:
    item = service.submit(WorkRequest("job", {}), None)
    assert service.claim("w", ["job"]) is not None
    failed = service.fail(item["id"], "w", "bad input", retryable=False)
    assert failed["status"] == "failed" and failed["attempts"] == 1 and failed["last_error"] == "bad input"
    assert service.claim("w", ["job"]) is None


def test_only_the_holder_may_heartbeat_complete_or_fail(api: ApiServer) -> None:
    with api.admin() as admin:
        item_id = admin.post("/work", json={"type": "job", "payload": {"x": 1}}).json()["id"]
        claim = admin.post("/work/claim", json={"worker_id": "w1", "types": ["job"], "lease_s": 5})
        assert claim.status_code == 200 and claim.json()["payload"] == {"x": 1}
        for action, body in (("heartbeat", {}), ("complete", {"result": 1}), ("fail", {"error": "x"})):
            error_of(
                admin.post(f"/work/{item_id}/{action}", json={"worker_id": "w2", **body}), 409, "CONFLICT"
            )
        beat = admin.post(f"/work/{item_id}/heartbeat", json={"worker_id": "w1", "lease_s": 120})
        assert beat.status_code == 200
        assert beat.json()["lease_expires_at"] > claim.json()["lease_expires_at"]
        done = admin.post(f"/work/{item_id}/complete", json={"worker_id": "w1", "result": {"ok": True}})
        assert done.json()["status"] == "succeeded" and done.json()["result"] == {"ok": True}
        error_of(admin.post(f"/work/{item_id}/complete", json={"worker_id": "w1"}), 409, "CONFLICT")
        error_of(admin.post("/work/wi_missing/heartbeat", json={"worker_id": "w1"}), 404, "NOT_FOUND")


def test_cancel_and_retry_follow_the_status_rules(api: ApiServer) -> None:
    with api.admin() as admin:
        queued = admin.post("/work", json={"type": "c"}).json()["id"]
        assert admin.post(f"/work/{queued}/cancel").json()["status"] == "cancelled"
        error_of(admin.post(f"/work/{queued}/cancel"), 409, "CONFLICT")
        error_of(admin.post(f"/work/{queued}/retry"), 409, "CONFLICT")

        running = admin.post("/work", json={"type": "c"}).json()["id"]
        admin.post("/work/claim", json={"worker_id": "w1", "types": ["c"]})
        assert admin.post(f"/work/{running}/cancel").json()["status"] == "cancelled"
        error_of(admin.post(f"/work/{running}/complete", json={"worker_id": "w1"}), 409, "CONFLICT")

        failed = admin.post("/work", json={"type": "c", "max_attempts": 1}).json()["id"]
        admin.post("/work/claim", json={"worker_id": "w1", "types": ["c"]})
        assert (
            admin.post(f"/work/{failed}/fail", json={"error": "x", "retryable": True}).json()["status"]
            == "dead"
        )
        retried = admin.post(f"/work/{failed}/retry").json()
        assert (retried["status"], retried["attempts"], retried["worker_id"]) == ("queued", 0, None)
        claimed = admin.post("/work/claim", json={"worker_id": "w2", "types": ["c"]}).json()
        assert claimed["id"] == failed and claimed["attempts"] == 1
        admin.post(f"/work/{failed}/complete", json={"result": None})
        error_of(admin.post(f"/work/{failed}/retry"), 409, "CONFLICT")
        error_of(admin.post("/work/wi_missing/cancel"), 404, "NOT_FOUND")


# --- reading the queue ---------------------------------------------------------------------


def test_stats_figures(service: WorkService) -> None:
    store = service.items
    assert isinstance(store, SqliteWorkStore)
    for n, type_ in enumerate(("a", "a", "a", "b", "b", "b")):
        _insert(store, T0 + timedelta(seconds=n), type_, id=f"wi_{n}")
    now = T0 + timedelta(seconds=100)
    for worker in ("w1", "w2"):  # two a items: they succeed after 2 s and 4 s
        assert store.claim(worker, ["a"], 60, now, None) is not None
    store.complete("wi_0", "w1", None, now + timedelta(seconds=2))
    store.complete("wi_1", "w2", None, now + timedelta(seconds=4))
    assert store.claim("w3", ["b"], 60, now, None) is not None  # wi_3 running
    store.fail("wi_3", "w3", "no", False, now + timedelta(seconds=10))  # b failed after 10 s
    store.cancel("wi_4", now)
    stats = store.stats(now + timedelta(seconds=20), 300)
    assert stats["by_status"] == {
        "queued": 2, "running": 0, "succeeded": 2, "failed": 1, "dead": 0, "cancelled": 1
    }  # fmt: skip
    assert stats["by_type"]["a"]["succeeded"] == 2 and stats["by_type"]["b"]["queued"] == 1
    assert stats["oldest_queued_age_s"] == pytest.approx(118)  # wi_2, created at T0+2 s
    assert stats["finished_in_window"] == 4
    # computed in SQL through julianday(): exact to about 0.1 ms
    assert stats["run_time_mean_s"] == pytest.approx((2 + 4 + 10) / 3, abs=1e-3)
    assert stats["run_time_p95_s"] == pytest.approx(10, abs=1e-3)
    later = store.stats(now + timedelta(minutes=30), 300)
    assert later["finished_in_window"] == 0 and later["run_time_p95_s"] is None


def test_list_filters_pagination_and_project_rules(api: ApiServer) -> None:
    with api.admin() as admin:
        for type_ in ("a", "b", "a", "a"):
            assert admin.post("/work", json={"type": type_}).status_code == 201
        first = admin.get("/work", params={"type": "a", "status": "queued", "limit": 2})
        assert len(first.json()) == 2 and 'rel="next"' in first.headers["Link"]
        rest = admin.get(first.headers["Link"].split(";")[0].strip("<>"))
        assert [i["type"] for i in first.json() + rest.json()] == ["a", "a", "a"]
        assert "Link" not in rest.headers
        error_of(admin.get("/work", params={"status": "sleeping"}), 422, "VALIDATION_FAILED")
        error_of(admin.post("/work", json={"type": "a", "project": "nope"}), 404, "NOT_FOUND")
        error_of(admin.post("/work", json={"type": "A b"}), 422, "VALIDATION_FAILED")
        stats = admin.get("/work/stats").json()
        assert stats["by_status"]["queued"] == 4 and stats["by_type"]["b"]["queued"] == 1
        some_id = first.json()[0]["id"]
    restricted = make_key(api, scopes=["queue:read", "queue:write"], projects=["p1"])
    with api.client(restricted["token"]) as client:
        assert client.get("/work").json() == []
        error_of(client.get(f"/work/{some_id}"), 403, "PROJECT_FORBIDDEN")
        error_of(client.get("/work", params={"project": "p2"}), 403, "PROJECT_FORBIDDEN")
        error_of(client.post("/work", json={"type": "a"}), 403, "PROJECT_FORBIDDEN")


# --- embedded workers ----------------------------------------------------------------------


def test_embedded_workers_run_registered_handlers_end_to_end(api: ApiServer) -> None:
    def echo(job: WorkJob) -> Any:
        return job.item["payload"]

    def refuse(job: WorkJob) -> Any:
        raise PermanentFailure(f"cannot do {job.item['payload']['what']}")

    work = api.services.work
    work.register_handler("echo", echo)
    work.register_handler("refuse", refuse)
    api.services.embedded_workers.start()
    try:
        with api.admin() as admin:
            echo_id = admin.post("/work", json={"type": "echo", "payload": {"hello": "world"}}).json()["id"]
            refused_id = admin.post("/work", json={"type": "refuse", "payload": {"what": "that"}}).json()[
                "id"
            ]

            def finished(item_id: str) -> dict[str, Any] | None:
                item: dict[str, Any] = admin.get(f"/work/{item_id}").json()
                return item if item["status"] not in ("queued", "running") else None

            done = _wait_for(lambda: finished(echo_id), "the echo item")
            refused = _wait_for(lambda: finished(refused_id), "the refused item")
            workers = admin.get("/workers").json()
    finally:
        api.services.embedded_workers.stop(timeout=10)
    assert done["status"] == "succeeded" and done["result"] == {"hello": "world"}
    assert done["worker_id"] in api.services.embedded_workers.worker_ids
    assert refused["status"] == "failed" and refused["last_error"] == "cannot do that"
    embedded = [w for w in workers if w["embedded"]]
    assert len(embedded) == api.services.embedded_workers.count and {w["status"] for w in embedded} == {
        "active"
    }
    assert {w["status"] for w in work.list_workers(100, None)[0]} == {"gone"}


def test_health_reports_the_embedded_workers(api_server: ApiServer) -> None:
    with api_server.client() as client:
        assert client.get("/health").json()["checks"]["workers"] == "off"  # not started
        api_server.services.start_background()
        try:
            health = client.get("/health").json()
            count = api_server.services.embedded_workers.count
            assert health["status"] == "ok" and health["checks"]["workers"] == f"ok ({count} embedded)"
        finally:
            api_server.services.stop_background()
