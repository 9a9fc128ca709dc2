"""The fast path of the work queue's hot requests (rdev_api/http/fast_routes.py): the same
answers as the FastAPI routes (a server built without it runs the same requests), it is
really taken for them, and it sits inside the request id, access log and body limit."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_http_keys import make_key

from conftest import ApiServer, serve_api
from rdev_api.http import fast_routes
from rdev_api.http.auth import RateLimiter
from rdev_api.http.fast_routes import FastRoutesMiddleware
from rdev_api.http.middleware import RequestContextMiddleware
from rdev_api.logging import setup_logging

# what differs between two servers running the same requests
VOLATILE = {"id", "request_id", "created_at", "updated_at", "run_after", "started_at", "finished_at"}
VOLATILE.add("lease_expires_at")
ITEM_ID = re.compile(r"wi_[0-9a-f]{16}")
UNKNOWN_ITEM = "wi_0000000000000000"
JSON = {"Content-Type": "application/json"}
JSON_UTF8 = {"Content-Type": "application/json; charset=utf-8"}
PLAIN = {"Content-Type": "text/plain"}
JOB = b'{"type": "job"}'


@pytest.fixture
def plain_server(tmp_path: Path) -> Iterator[ApiServer]:
    """The same server as `api_server`, without the fast path: every request goes to FastAPI."""
    with serve_api(tmp_path / "plain-data", fast_routes=False) as server:
        yield server


def _normal(value: Any) -> Any:
    """`value` with what differs between two servers (ids, times) masked."""
    if isinstance(value, dict):
        return {k: "<masked>" if k in VOLATILE and v is not None else _normal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    if isinstance(value, str):
        return ITEM_ID.sub("wi_<id>", value)
    return value


def _answer(label: str, response: Any, url: str) -> tuple[str, int, dict[str, str], Any]:
    """What must be the same on both servers (`url`: this one's), after checks that hold on each."""
    request_id = response.headers["X-Request-ID"]
    assert request_id.startswith("req_"), label
    if "content-length" in response.headers:
        assert int(response.headers["content-length"]) == len(response.content), label
    body: Any = response.content
    if response.headers.get("content-type") == "application/json":
        body = response.json()
        if isinstance(body, dict) and "error" in body:
            assert body["error"]["request_id"] == request_id, label
    headers = {
        name: value.replace(url, "<server>")
        for name, value in response.headers.items()
        if name not in ("date", "server", "x-request-id", "content-length")
    }
    return label, response.status_code, headers, _normal(body)


def _scenario(api: ApiServer) -> list[tuple[str, int, dict[str, str], Any]]:
    """Every fast route's happy path and its refusals, in the same order on any server."""
    writer = make_key(api, scopes=["queue:write"])["token"]
    worker = make_key(api, scopes=["workers"])["token"]
    answers = []

    def call(label: str, path: str, token: str | None, body: Any = None, **options: Any) -> Any:
        method = options.pop("method", "POST")
        with api.client(token) as client:
            response = client.request(method, path, json=body, **options)
        answers.append(_answer(label, response, api.url))
        return response

    call("submit", "/work", writer, {"type": "job", "payload": {"n": 1}, "priority": 5})
    call("submit charset", "/work", writer, content=JOB, headers=JSON_UTF8)
    call("submit not JSON", "/work", writer, content=b'{"type":', headers=JSON)
    call("submit mistyped", "/work", writer, {"type": 5, "priority": "high", "colour": "red"})
    call("submit text/plain", "/work", writer, content=JOB, headers=PLAIN)
    call("submit no content type", "/work", writer, content=JOB)
    call("submit empty body", "/work", writer, content=b"", headers=JSON)
    call("submit no key", "/work", None, {"type": "job"})
    call("submit bad key", "/work", "rdev_nope1234_" + "x" * 40, {"type": "job"})
    call("submit wrong scope", "/work", worker, {"type": "job"})
    call("submit mistyped no key", "/work", None, {"type": 5})
    call("batch", "/work/batch", writer, {"items": [{"type": "job", "payload": {"n": n}} for n in (2, 3)]})
    call("batch empty", "/work/batch", writer, {"items": []})
    call("batch unknown project", "/work/batch", writer, {"items": [{"type": "job", "project": "nowhere"}]})
    claim = {"worker_id": "w1", "types": ["job"], "lease_s": 30}
    first = call("claim", "/work/claim", worker, claim).json()["id"]
    call("claim wrong scope", "/work/claim", writer, claim)
    call("claim no key", "/work/claim", None, claim)
    call("claim mistyped", "/work/claim", worker, {"worker_id": "", "types": []})
    call("claim not JSON", "/work/claim", worker, content=b"{", headers=JSON)
    call("claim none", "/work/claim", worker, {**claim, "types": ["none"]})
    call("claim none waiting", "/work/claim", worker, {**claim, "types": ["none"], "wait_s": 0.2})
    call("heartbeat", f"/work/{first}/heartbeat", worker, {"worker_id": "w1", "lease_s": 60})
    call("heartbeat other worker", f"/work/{first}/heartbeat", worker, {"worker_id": "w2"})
    call("heartbeat unknown", f"/work/{UNKNOWN_ITEM}/heartbeat", worker, {"worker_id": "w1"})
    call("heartbeat mistyped", f"/work/{first}/heartbeat", worker, {"lease_s": -1})
    call("complete other worker", f"/work/{first}/complete", worker, {"worker_id": "w2"})
    call("complete claim no worker", f"/work/{first}/complete", worker, {"claim": {"types": ["job"]}})
    done = {"worker_id": "w1", "result": {"ok": [1, 2.5, None]}, "claim": {"types": ["job"]}}
    second = call("complete and claim", f"/work/{first}/complete", worker, done).json()["next"]["id"]
    failed = {"worker_id": "w1", "error": "boom", "retryable": False, "claim": {"types": ["job"]}}
    call("fail and claim", f"/work/{second}/fail", worker, failed)
    call("fail finished", f"/work/{second}/fail", worker, failed)
    call("complete unknown", f"/work/{UNKNOWN_ITEM}/complete", worker, {"worker_id": "w1"})
    call("complete wrong scope", f"/work/{first}/complete", writer, {"worker_id": "w1"})
    call("trailing slash", "/work/claim/", worker, claim)
    call("other method", f"/work/{first}/complete", worker, {"worker_id": "w1"}, method="PUT")
    call("nested path", f"/work/{first}/x/complete", worker, {"worker_id": "w1"})
    call("item id 'claim'", "/work/claim/complete", worker, {"worker_id": "w1"})
    chunks = iter([b" " * 65536] * 20)  # streamed without Content-Length, past the 1 MiB limit
    call("chunked too large", "/work/claim", worker, content=chunks, headers=JSON)
    # a refused body is charged once (by FastAPI); the key is checked before the body's fields
    api.services.rate_limiter = RateLimiter(rate=0.001, burst=2)
    call("rate: first", "/work/claim", worker, {**claim, "types": ["none"]})
    call("rate: mistyped, charged", "/work/claim", worker, {"types": []})
    call("rate: limited", "/work/claim", worker, {**claim, "types": ["none"]})
    call("rate: limited mistyped", "/work/claim", worker, {"types": []})
    return answers


def test_the_fast_path_answers_as_the_fastapi_routes(api_server: ApiServer, plain_server: ApiServer) -> None:
    fast, plain = _scenario(api_server), _scenario(plain_server)
    assert [a[0] for a in fast] == [a[0] for a in plain]
    for mine, theirs in zip(fast, plain, strict=True):
        assert mine == theirs
    statuses = {label: status for label, status, _, _ in fast}
    assert statuses["submit"] == 201 and statuses["claim"] == 200 and statuses["claim none"] == 204
    assert statuses["submit not JSON"] == 400 and statuses["submit mistyped"] == 422
    assert statuses["submit no key"] == 401 and statuses["claim wrong scope"] == 403
    assert statuses["heartbeat unknown"] == 404 and statuses["complete other worker"] == 409
    assert statuses["rate: first"] == 204 and statuses["rate: mistyped, charged"] == 422
    assert statuses["rate: limited"] == 429 and statuses["rate: limited mistyped"] == 429
    limited = next(a for a in fast if a[0] == "rate: limited")
    assert limited[2]["retry-after"].isdigit() and limited[3]["error"]["code"] == "RATE_LIMITED"


def _reaching_fastapi(api: ApiServer) -> list[tuple[str, Any]]:
    """Records each request that reaches FastAPI below the fast path (below the request
    context, on a server without one): its path and the endpoint FastAPI's router chose."""
    with api.client() as client:
        client.get("/health")  # the app builds its middleware stack on its first request
    fast = any(m.cls is FastRoutesMiddleware for m in api.app.user_middleware)
    layer = api.app.middleware_stack
    while not isinstance(layer, FastRoutesMiddleware if fast else RequestContextMiddleware):
        layer = layer.app
    seen: list[tuple[str, Any]] = []
    inner = layer.app

    async def recorded(scope: Any, receive: Any, send: Any) -> None:
        try:
            await inner(scope, receive, send)
        finally:
            seen.append((scope["path"], scope.get("endpoint")))

    layer.app = recorded
    return seen


def test_the_fast_path_is_taken_and_passes_on_what_it_does_not_serve(api_server: ApiServer) -> None:
    seen = _reaching_fastapi(api_server)
    with api_server.admin() as admin:
        item = admin.post("/work", json={"type": "job"})
        batch = admin.post("/work/batch", json={"items": [{"type": "job"}]})
        claim = admin.post("/work/claim", json={"worker_id": "w", "types": ["job"]})
        item_id = claim.json()["id"]
        beat = admin.post(f"/work/{item_id}/heartbeat", json={"worker_id": "w"})
        done = admin.post(f"/work/{item_id}/complete", json={"worker_id": "w", "claim": {"types": ["job"]}})
        failed = admin.post(f"/work/{done.json()['next']['id']}/fail", json={"worker_id": "w", "error": "x"})
        idle = admin.post("/work/claim", json={"worker_id": "w", "types": ["none"], "wait_s": 0.1})
        conflict = admin.post(f"/work/{item_id}/complete", json={"worker_id": "w"})
        answers = [item, batch, claim, beat, done, failed, idle, conflict]
        assert [r.status_code for r in answers] == [201, 201, 200, 200, 200, 200, 204, 409]
        assert seen == []
        assert admin.get(f"/work/{item_id}").status_code == 200
        assert admin.post("/work/claim", content=b"{", headers=JSON).status_code == 400
        assert admin.post("/work/claim", json={"types": "job"}).status_code == 422
        assert admin.post("/work", content=JOB, headers=PLAIN).status_code == 422
    assert [path for path, _ in seen] == [f"/work/{item_id}", "/work/claim", "/work/claim", "/work"]


def test_the_fast_paths_are_those_of_the_fastapi_routes(plain_server: ApiServer) -> None:
    """For each path the fast path serves, FastAPI's router picks the endpoint it calls."""
    seen = _reaching_fastapi(plain_server)
    served = ["/work", "/work/batch", "/work/claim", "/work/claim/complete", "/work/batch/fail"]
    served += ["/work/wi_1/heartbeat", "/work/stats/heartbeat", "/work/%C3%A9/fail", "/work/a%20b/complete"]
    with plain_server.admin() as admin:
        for path in served:
            admin.post(path, json={})
    assert len(seen) == len(served)
    for path, endpoint in seen:
        matched = fast_routes.match(path)
        assert matched is not None and matched[0].endpoint is endpoint, path
    for path in ("/work/", "/work/claim/", "/work//complete", "/work/a/b/complete", "/work/a/complete\n"):
        assert fast_routes.match(path) is None, path


def test_audit_request_id_and_access_log_of_the_fast_path(api_server: ApiServer) -> None:
    stream = io.StringIO()
    handler = setup_logging(stream, "json", "debug", "")
    try:
        with api_server.admin() as admin:
            item = admin.post("/work", json={"type": "job"})
            claim = admin.post("/work/claim", json={"worker_id": "w", "types": ["job"]})
            done = admin.post(f"/work/{item.json()['id']}/complete", json={"worker_id": "w"})
            missing = admin.post(f"/work/{UNKNOWN_ITEM}/complete", json={"worker_id": "w"})
            rows = admin.get("/audit?limit=500").json()
    finally:
        logging.getLogger("rdev").removeHandler(handler)
        for name in ("rdev.queue", "rdev.http"):
            logging.getLogger(name).setLevel(logging.NOTSET)
    answers = {"work.submit": item, "work.claim": claim, "work.complete": done}
    for action, answer in answers.items():
        row = next(r for r in rows if r["action"] == action)
        assert row["target"] == item.json()["id"] and row["client_ip"] == "127.0.0.1"
        assert row["request_id"] == answer.headers["X-Request-ID"]
    assert missing.json()["error"]["request_id"] == missing.headers["X-Request-ID"]
    requests = {
        line["request_id"]: line
        for line in map(json.loads, stream.getvalue().splitlines())
        if line["msg"] == "request"
    }
    expected = [(item, "info"), (claim, "debug"), (done, "debug"), (missing, "info")]
    for answer, level in expected:
        line = requests[answer.headers["X-Request-ID"]]
        assert (line["path"], line["status"], line["level"]) == (answer.url.path, answer.status_code, level)
