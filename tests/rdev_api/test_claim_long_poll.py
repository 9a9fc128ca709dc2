"""Long-polling claims (`wait_s`): a waiting claim gets an item as soon as one is submitted,
answers 204 once the wait is over, at once for a draining worker, and never holds the server's
stop; `wait_s` is bounded."""

from __future__ import annotations

import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from test_http_keys import error_of
from test_server import data_dir, env, free_port, profile, rdev, start_detached, wait_healthy

from conftest import ApiServer

CLAIM = {"worker_id": "lp-1", "types": ["job"], "lease_s": 30}
__all__ = ["data_dir", "env"]  # fixtures of test_server


def _timed_claim(api: ApiServer, wait_s: float, **extra: Any) -> tuple[float, Any]:
    with api.admin() as admin:
        started = time.monotonic()
        answer = admin.post("/work/claim", json={**CLAIM, "wait_s": wait_s, **extra})
        return time.monotonic() - started, answer


def _waiting_claims(api: ApiServer) -> int:
    return api.services.work.waiting_claims()


def _until(check: Any, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_a_waiting_claim_gets_an_item_as_soon_as_it_is_submitted(api_server: ApiServer) -> None:
    with ThreadPoolExecutor(1) as pool, api_server.admin() as admin:
        claim = pool.submit(_timed_claim, api_server, 15)
        _until(lambda: _waiting_claims(api_server) == 1, "the claim to wait")
        submitted = admin.post("/work", json={"type": "job", "payload": {"n": 1}}).json()
        took, answer = claim.result(timeout=20)
    assert answer.status_code == 200 and answer.json()["id"] == submitted["id"]
    assert answer.json()["status"] == "running" and answer.json()["worker_id"] == "lp-1"
    assert took < 5, f"the claim took {took:.2f}s: it was not woken by the submit"


def test_each_submit_wakes_one_waiting_claim_of_its_type(api_server: ApiServer) -> None:
    with ThreadPoolExecutor(4) as pool, api_server.admin() as admin:
        other = pool.submit(_timed_claim, api_server, 15, types=["other"], worker_id="lp-other")
        claims = [pool.submit(_timed_claim, api_server, 15, worker_id=f"lp-{n}") for n in range(3)]
        _until(lambda: api_server.services.work.waiting_claims() == 4, "four claims to wait")
        for n in range(3):
            admin.post("/work", json={"type": "job", "payload": {"n": n}}).raise_for_status()
            _until(lambda n=n: sum(c.done() for c in claims) == n + 1, f"claim {n + 1} to end")
        assert api_server.services.work.waiting_claims() == 1  # the `other` claim still waits
        answers = [c.result(timeout=20)[1] for c in claims]
        admin.post("/work", json={"type": "other"}).raise_for_status()
        took, answer = other.result(timeout=20)
    assert sorted(a.json()["payload"]["n"] for a in answers) == [0, 1, 2]
    assert answer.status_code == 200 and answer.json()["type"] == "other" and took < 15


def test_a_wait_with_nothing_to_claim_ends_in_204_after_wait_s(api_server: ApiServer) -> None:
    took, answer = _timed_claim(api_server, 0.6)
    assert answer.status_code == 204 and answer.content == b""
    assert 0.5 <= took < 5


def test_a_draining_worker_waits_for_nothing(api_server: ApiServer) -> None:
    with api_server.admin() as admin:
        admin.post("/workers", json={"id": "lp-1", "types": ["job"]}).raise_for_status()
        with ThreadPoolExecutor(1) as pool:
            claim = pool.submit(_timed_claim, api_server, 15)
            _until(lambda: _waiting_claims(api_server) == 1, "the claim to wait")
            admin.post("/workers/lp-1/drain").raise_for_status()
            took, answer = claim.result(timeout=20)
        assert answer.status_code == 204 and took < 5
        took, answer = _timed_claim(api_server, 15)  # already draining: no wait at all
        assert answer.status_code == 204 and took < 2


def test_stopping_the_server_ends_waiting_claims(env: dict[str, str], data_dir: Path) -> None:
    """A real server process: `rdev server stop` while a claim waits 20 s takes seconds, and
    the claim is answered 204 rather than cut."""
    port = free_port()
    start_detached(env, data_dir, port)
    token = profile(env)["profiles"]["local"]["api_key"]
    body = json.dumps({**CLAIM, "wait_s": 20}).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as claim:
        claim.sendall(
            b"POST /work/claim HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"X-API-Key: {token}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        wait_healthy(f"http://127.0.0.1:{port}")  # one loop turn later: the claim is waiting
        started = time.monotonic()
        stopped = rdev(env, "server", "stop", "--data-dir", data_dir)
        took = time.monotonic() - started
        answer = claim.recv(4096)
    assert stopped.returncode == 0, stopped.stderr
    assert took < 8, f"the stop took {took:.1f}s: the waiting claim held it"
    assert answer.startswith(b"HTTP/1.1 204"), answer


def test_wait_s_is_bounded(api_server: ApiServer) -> None:
    with api_server.admin() as admin:
        for wait in (-1, 20.5, "long"):
            error_of(admin.post("/work/claim", json={**CLAIM, "wait_s": wait}), 422, "VALIDATION_FAILED")
