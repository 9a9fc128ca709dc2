"""Webhooks on the real app and a real local receiver: deliveries stored first, signed, retried
with backoff while the receiver is down (503 or a closed port) and across a restart, listed
with their attempts; the secret shown once and sealed at rest; test ping, redeliver, PATCH and
DELETE; private destinations refused when not allowed."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from test_http_keys import error_of, make_key

from conftest import ApiServer
from rdev_api.adapters.clock import SystemClock
from rdev_api.adapters.webhooks.http_sender import HttpWebhookSender
from rdev_api.app import build_services
from rdev_api.domain.errors import ValidationFailed
from rdev_api.domain.webhooks import Webhook
from rdev_api.services.webhooks import ACTIVE_CACHE_S


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short backoff, set before the api_server fixture builds its services."""
    monkeypatch.setenv("RDEV_WEBHOOK_BACKOFF_BASE", "50ms")
    monkeypatch.setenv("RDEV_WEBHOOK_BACKOFF_CAP", "200ms")
    monkeypatch.setenv("RDEV_WEBHOOK_MAX_ATTEMPTS", "10")
    monkeypatch.delenv("RDEV_WEBHOOK_ALLOW_PRIVATE", raising=False)


class Receiver:
    """An HTTP server on 127.0.0.1 that answers 503 to the first `failures` requests, then 200,
    and records what it accepted: (path, headers, body)."""

    def __init__(self, failures: int = 0, port: int = 0) -> None:
        self.failures = failures
        self.requests = 0
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        self._guard = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver._guard:
                    receiver.requests += 1
                    down = receiver.requests <= receiver.failures
                    if not down:
                        receiver.received.append((self.path, dict(self.headers.items()), body))
                self.send_response(503 if down else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def bodies(self, path: str | None = None) -> list[dict[str, Any]]:
        with self._guard:
            return [json.loads(body) for p, _, body in self.received if path is None or p == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver(failures=3)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def dispatching(api_server: ApiServer) -> Iterator[ApiServer]:
    """The api_server with its webhook dispatcher running."""
    api_server.services.webhooks.start()
    try:
        yield api_server
    finally:
        api_server.services.webhooks.stop()


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def create_webhook(api: ApiServer, url: str, events: list[str] | None = None) -> dict[str, Any]:
    with api.admin() as admin:
        response = admin.post("/webhooks", json={"url": url, **({"events": events} if events else {})})
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_deliveries_arrive_signed_after_the_receiver_was_down(
    dispatching: ApiServer, receiver: Receiver
) -> None:
    hook = create_webhook(dispatching, receiver.url + "/hook", ["work.succeeded"])
    service = dispatching.services.webhooks
    first = service.emit("work.succeeded", {"work_id": "w1"})
    assert service.emit("project.created", {"project": "p"}) == []  # not subscribed
    second = service.emit("work.succeeded", {"work_id": "w2"})
    wait_for(lambda: len(receiver.received) == 2, "both deliveries")

    for _, headers, body in receiver.received:
        assert headers["X-Rdev-Signature"] == signature(hook["secret"], body)
        assert headers["X-Rdev-Event"] == "work.succeeded"
        assert headers["X-Rdev-Delivery"] == json.loads(body)["id"]
    assert sorted(b["data"]["work_id"] for b in receiver.bodies()) == ["w1", "w2"]
    assert {b["id"] for b in receiver.bodies()} == {first[0].id, second[0].id}

    with dispatching.client(make_key(dispatching, scopes=["webhooks:read"])["token"]) as reader:
        listed = reader.get(f"/webhooks/{hook['id']}/deliveries").json()
    assert {d["status"] for d in listed} == {"delivered"} and len(listed) == 2
    attempts = [a for d in listed for a in d["attempt_log"]]
    assert len(attempts) == receiver.requests == 5
    assert sorted(a["status_code"] for a in attempts) == [200, 200, 503, 503, 503]
    assert all(a["error"] == "HTTP 503" for a in attempts if a["status_code"] == 503)
    for delivery in listed:
        assert [a["attempt"] for a in delivery["attempt_log"]] == list(range(1, delivery["attempts"] + 1))
        assert delivery["attempt_log"][-1]["status_code"] == 200 and delivery["delivered_at"]


def test_pending_deliveries_resume_after_a_restart(api_server: ApiServer) -> None:
    port = free_port()  # nothing listens there yet: the receiver is down
    hook = create_webhook(api_server, f"http://127.0.0.1:{port}/later")
    data_dir = api_server.services.db.path.parent
    delivery = api_server.services.webhooks.emit("command.finished", {"command_id": "c1"})[0]
    api_server.services.webhooks.start()
    wait_for(
        lambda: api_server.services.webhooks.delivery(hook["id"], delivery.id).attempts >= 2,
        "failed attempts while the receiver is down",
    )
    api_server.services.webhooks.stop()
    before = api_server.services.webhooks.delivery(hook["id"], delivery.id)
    assert before.status == "pending" and all(a.status_code is None and a.error for a in before.attempt_log)

    receiver = Receiver(port=port)
    restarted = build_services(data_dir)
    try:
        restarted.webhooks.start()
        done = wait_for(
            lambda: (d := restarted.webhooks.delivery(hook["id"], delivery.id)).status == "delivered" and d,
            "the delivery after the restart",
        )
        path, headers, body = receiver.received[0]
        assert path == "/later" and len(receiver.received) == 1
        assert headers["X-Rdev-Signature"] == signature(hook["secret"], body)
        assert json.loads(body)["data"] == {"command_id": "c1"}
        assert done.attempts == len(done.attempt_log) > before.attempts
        assert done.attempt_log[-1].status_code == 200
    finally:
        restarted.webhooks.stop()
        restarted.db.close()
        receiver.close()


def test_the_secret_is_returned_once_and_sealed_at_rest(api_server: ApiServer) -> None:
    hook = create_webhook(api_server, "http://127.0.0.1:9/sink")
    secret = hook["secret"]
    assert secret.startswith("whsec_") and len(secret) > 30
    with api_server.admin() as admin:
        listed, got = admin.get("/webhooks"), admin.get(f"/webhooks/{hook['id']}")
        patched = admin.patch(f"/webhooks/{hook['id']}", json={"description": "sink"})
    for response in (listed, got, patched):
        assert response.status_code == 200 and secret not in response.text and "secret" not in response.text
    assert [w["id"] for w in listed.json()] == [hook["id"]]
    data_dir = api_server.services.db.path.parent
    files = [path for path in data_dir.rglob("*") if path.is_file()]
    assert data_dir / "rdev.db" in files
    for path in files:
        assert secret.encode() not in path.read_bytes(), f"the secret in clear in {path.name}"
    with sqlite3.connect(data_dir / "rdev.db") as connection:
        stored = connection.execute("SELECT secret FROM webhooks").fetchone()[0]
    assert isinstance(stored, bytes) and secret.encode() not in stored


def test_test_ping_and_redeliver(dispatching: ApiServer) -> None:
    receiver = Receiver()
    try:
        pinged = create_webhook(dispatching, receiver.url + "/a", ["project.created"])
        create_webhook(dispatching, receiver.url + "/b", ["*"])
        with dispatching.admin() as admin:
            ping = admin.post(f"/webhooks/{pinged['id']}/test")
            assert ping.status_code == 202 and ping.json()["event"] == "webhook.test"
            wait_for(lambda: receiver.bodies("/a"), "the test ping")
            error_of(admin.post("/webhooks/wh_nothere/test"), 404, "NOT_FOUND")
            again = admin.post(f"/webhooks/{pinged['id']}/deliveries/{ping.json()['id']}/redeliver")
            assert again.status_code == 202 and again.json()["id"] != ping.json()["id"]
            wait_for(lambda: len(receiver.bodies("/a")) == 2, "the redelivery")
            other = create_webhook(dispatching, receiver.url + "/c")
            error_of(
                admin.post(f"/webhooks/{other['id']}/deliveries/{ping.json()['id']}/redeliver"),
                404,
                "NOT_FOUND",
            )
            trail = [(e["action"], e["target"]) for e in admin.get("/audit").json()]
        first, second = receiver.bodies("/a")
        assert first["event"] == second["event"] == "webhook.test" and first["data"] == second["data"]
        assert first["id"] != second["id"]
        assert receiver.bodies("/b") == []  # the ping goes to its webhook only
        assert ("webhook.test", pinged["id"]) in trail and ("webhook.redeliver", ping.json()["id"]) in trail
    finally:
        receiver.close()


def test_patch_delete_validation_and_scopes(api_server: ApiServer) -> None:
    hook = create_webhook(api_server, "http://127.0.0.1:9/x", ["work.failed"])
    service = api_server.services.webhooks
    reader = make_key(api_server, scopes=["webhooks:read"])
    with api_server.admin() as admin, api_server.client(reader["token"]) as read_only:
        error_of(read_only.post("/webhooks", json={"url": "http://127.0.0.1:9/"}), 403, "FORBIDDEN")
        error_of(read_only.patch(f"/webhooks/{hook['id']}", json={"active": False}), 403, "FORBIDDEN")
        changed = admin.patch(f"/webhooks/{hook['id']}", json={"events": ["work.dead"], "active": False})
        assert changed.status_code == 200
        assert changed.json()["events"] == ["work.dead"] and changed.json()["active"] is False
        assert changed.json()["url"] == hook["url"]
        assert service.emit("work.dead", {"work_id": "w"}) == []  # inactive
        error_of(admin.post(f"/webhooks/{hook['id']}/test"), 409, "CONFLICT")
        bad = error_of(
            admin.patch(f"/webhooks/{hook['id']}", json={"events": ["nope"], "url": None}),
            422,
            "VALIDATION_FAILED",
        )
        assert bad["details"][0]["field"] == "url"
        error_of(admin.patch(f"/webhooks/{hook['id']}", json={"events": ["nope"]}), 422, "VALIDATION_FAILED")
        error_of(admin.post("/webhooks", json={"url": "ftp://example.com/"}), 422, "VALIDATION_FAILED")
        error_of(
            admin.post("/webhooks", json={"url": "http://e.com/", "secret": "x"}), 422, "VALIDATION_FAILED"
        )
        assert admin.delete(f"/webhooks/{hook['id']}").status_code == 204
        error_of(admin.get(f"/webhooks/{hook['id']}"), 404, "NOT_FOUND")
        error_of(admin.get(f"/webhooks/{hook['id']}/deliveries"), 404, "NOT_FOUND")
        error_of(admin.delete(f"/webhooks/{hook['id']}"), 404, "NOT_FOUND")


PRIVATE_URLS = (
    "http://127.0.0.1:8080/hook",
    "http://localhost/hook",
    "http://10.1.2.3/hook",
    "http://192.168.0.5/hook",
    "http://169.254.169.254/latest",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://0.0.0.0/hook",
)


def test_private_destinations_are_refused_when_not_allowed(api_server: ApiServer) -> None:
    service = api_server.services.webhooks
    service.allow_private = False
    with api_server.admin() as admin:
        for url in PRIVATE_URLS:
            refused = error_of(admin.post("/webhooks", json={"url": url}), 422, "VALIDATION_FAILED")
            assert "RDEV_WEBHOOK_ALLOW_PRIVATE" in refused["message"], url
        assert admin.post("/webhooks", json={"url": "https://hooks.example.com/x"}).status_code == 201
    receiver = Receiver()
    try:
        status, error, _ = HttpWebhookSender(allow_private=False).send(receiver.url, {}, b"{}", 5)
        assert status is None and error is not None and "private or loopback" in error
        assert receiver.requests == 0
        status, error, _ = HttpWebhookSender(allow_private=True).send(receiver.url, {}, b"{}", 5)
        assert (status, error, receiver.requests) == (200, None, 1)
    finally:
        receiver.close()


@pytest.mark.parametrize(
    ("env", "loopback_bind", "allowed"),
    [(None, True, True), (None, False, False), ("1", False, True), ("0", True, False)],
)
def test_the_private_default_follows_the_bind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: str | None, loopback_bind: bool, allowed: bool
) -> None:
    if env is not None:
        monkeypatch.setenv("RDEV_WEBHOOK_ALLOW_PRIVATE", env)
    services = build_services(tmp_path, loopback_bind=loopback_bind)
    try:
        if allowed:
            services.webhooks.create("http://127.0.0.1:9/x", ["*"])
        else:
            with pytest.raises(ValidationFailed):
                services.webhooks.create("http://127.0.0.1:9/x", ["*"])
    finally:
        services.db.close()


class SteppedClock(SystemClock):
    """The system clock whose monotonic time moves only when told to."""

    def __init__(self) -> None:
        self.at = 1000.0

    def monotonic(self) -> float:
        return self.at


def test_active_webhooks_are_read_once_and_changes_through_the_service_count_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = build_services(tmp_path)
    try:
        service = services.webhooks
        clock = SteppedClock()
        monkeypatch.setattr(service, "clock", clock)
        reads: list[int] = []
        read = service.store.active_webhooks

        def counted() -> list[Webhook]:
            reads.append(1)
            return read()

        monkeypatch.setattr(service.store, "active_webhooks", counted)
        for _ in range(3):  # an event nobody subscribes to: one read, then none
            assert service.emit("work.succeeded", {"work_item": {}}) == []
        assert len(reads) == 1 and not service.subscribed("work.succeeded")

        hook, _ = service.create("http://127.0.0.1:9/x", ["work.succeeded"])
        assert service.subscribed("work.succeeded") and not service.subscribed("work.dead")
        assert [d.webhook_id for d in service.emit("work.succeeded", {})] == [hook.id]
        service.update(hook.id, {"active": False})
        assert service.emit("work.succeeded", {}) == []
        service.update(hook.id, {"active": True})
        assert len(service.emit("work.succeeded", {})) == 1
        service.delete(hook.id)
        assert service.emit("work.succeeded", {}) == []

        # a change made elsewhere (another process on the same database) counts after the TTL
        other, _ = service.create("http://127.0.0.1:9/y", ["*"])
        service.emit("work.succeeded", {})
        services.db.connection().execute("UPDATE webhooks SET active = 0 WHERE id = ?", (other.id,))
        assert len(service.emit("work.succeeded", {})) == 1
        clock.at += ACTIVE_CACHE_S
        assert service.emit("work.succeeded", {}) == []
    finally:
        services.db.close()
