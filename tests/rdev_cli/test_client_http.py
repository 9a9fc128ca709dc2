"""The HTTP behaviour of `rdev` against the real API behind a fault-injecting proxy: retries on
502/503 for GET but not for POST, 429 with Retry-After, connection refused, redirects not followed,
the key kept to its origin and to TLS off loopback, `--debug` lines without secrets."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from conftest import RdevCli


@dataclass
class FaultPlan:
    """Answers the first `count` requests matching `method` with `status` instead of forwarding."""

    status: int = 503
    count: int = 0
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    seen: list[str] = field(default_factory=list)
    body: bytes = b""


class FaultProxy:
    def __init__(self, target: str) -> None:
        self.plan = FaultPlan()
        plan_of = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                plan = plan_of.plan
                plan.seen.append(f"{self.command} {self.path}")
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if plan.count > 0 and self.command == plan.method:
                    plan.count -= 1
                    self.send_response(plan.status)
                    for name, value in plan.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(plan.body)))
                    self.end_headers()
                    self.wfile.write(plan.body)
                    return
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")
                }
                answer = httpx.request(self.command, target + self.path, headers=headers, content=body)
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() not in (
                        "content-length",
                        "transfer-encoding",
                        "connection",
                        "content-encoding",
                    ):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy(rdev: RdevCli) -> Iterator[FaultProxy]:
    proxy = FaultProxy(rdev.server.url)
    rdev.env["RDEV_API_URL"] = proxy.url
    try:
        yield proxy
    finally:
        proxy.close()


def test_get_is_retried_on_502_and_503(rdev: RdevCli, proxy: FaultProxy) -> None:
    proxy.plan = FaultPlan(status=502, count=2, method="GET")
    result = rdev("projects", "list", "-o", "json")
    assert result.code == 0, result
    assert result.data == []
    assert proxy.plan.seen.count("GET /projects") == 3

    proxy.plan = FaultPlan(status=503, count=100, method="GET")
    result = rdev("projects", "list")
    assert result.code == 6, result
    assert "Error:" in result.err and "Hint:" in result.err
    assert len(proxy.plan.seen) == 5  # the first try and four retries


def test_post_is_not_retried_on_503(rdev: RdevCli, proxy: FaultProxy) -> None:
    proxy.plan = FaultPlan(status=503, count=1, method="POST")
    result = rdev("work", "submit", "--type", "noop", "--payload", "{}")
    assert result.code == 6, result
    assert [s for s in proxy.plan.seen if s.startswith("POST")] == ["POST /work"]
    assert rdev.json("work", "list") == []  # nothing was created behind the refused call


def test_429_honours_retry_after_for_any_method(rdev: RdevCli, proxy: FaultProxy) -> None:
    proxy.plan = FaultPlan(status=429, count=1, method="PUT", headers={"Retry-After": "1"})
    started = time.monotonic()
    result = rdev("credentials", "set", "retried", stdin="value-1\n")
    assert result.code == 0, result
    assert time.monotonic() - started >= 1.0  # waited as asked
    assert proxy.plan.seen.count("PUT /credentials/retried") == 2
    names = [c["name"] for c in rdev.json("credentials", "list")]
    assert names == ["retried"]


def test_connection_refused_is_a_network_error(rdev: RdevCli) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    rdev.env["RDEV_API_URL"] = f"http://127.0.0.1:{port}"
    result = rdev("projects", "list")
    assert result.code == 6
    assert f"cannot reach the API at http://127.0.0.1:{port}" in result.err
    assert "Hint:" in result.err and "Traceback" not in result.err


def test_redirects_are_not_followed_and_the_key_stays_home(rdev: RdevCli, proxy: FaultProxy) -> None:
    proxy.plan = FaultPlan(status=302, count=1, method="GET", headers={"Location": "http://127.0.0.2:1/x"})
    result = rdev("projects", "list")
    assert result.code == 1
    assert "redirect to http://127.0.0.2:1/x; not followed" in result.err

    rdev.env["RDEV_API_URL"] = "http://example.com:8484"
    result = rdev("projects", "list")
    assert result.code == 2
    assert "refusing to send the API key over plain HTTP to example.com" in result.err


def test_debug_logs_requests_without_secrets(rdev: RdevCli) -> None:
    sentinel = "sentinel-debug-value-51c2"
    result = rdev("--debug", "credentials", "set", "dbg", stdin=sentinel + "\n")
    assert result.code == 0, result
    assert "debug: > PUT" in result.err and "debug: < 200" in result.err
    assert "request-id=" in result.err
    assert sentinel not in result.err and sentinel not in result.out
    assert rdev.server.admin_token not in result.err
    failed = rdev("--debug", "projects", "get", "nope")
    assert failed.code == 3
    assert "Request ID:" in failed.err
    assert rdev.server.admin_token not in failed.err


def test_a_traceback_under_debug_holds_no_secret(rdev: RdevCli, proxy: FaultProxy) -> None:
    """An answer rdev cannot read: with --debug the traceback is shown, and neither the key nor
    a credential value sent in that call is in it."""
    sentinel = "sentinel-traceback-value-9d0e"
    proxy.plan = FaultPlan(status=200, count=1, method="PUT", headers={"Content-Type": "application/json"})
    proxy.plan.body = b"{not json"
    result = rdev("--debug", "credentials", "set", "tb", stdin=sentinel + "\n")
    assert result.code == 1, result
    assert "Traceback" in result.err and "is not JSON" in result.err
    assert sentinel not in result.err + result.out
    assert rdev.server.admin_token not in result.err + result.out
    proxy.plan = FaultPlan(status=200, count=1, method="PUT", body=b"{not json")
    plain = rdev("credentials", "set", "tb2", stdin=sentinel + "\n")
    assert plain.code == 1 and "Traceback" not in plain.err and "Hint:" in plain.err
