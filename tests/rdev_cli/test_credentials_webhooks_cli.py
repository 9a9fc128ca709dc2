"""`rdev credentials` and `rdev webhooks` against the real API. Credentials: values from stdin
and --from-file, never from argv (refused, exit 2, nothing stored), revealed alone on stdout,
and neither a value nor the API key in `--debug` output. Webhooks: created with the secret
printed once, a test ping and a redelivery received (signed) by a real local HTTP receiver,
deliveries listed, a failing receiver reported, update and delete."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from conftest import RdevCli, Result

SENTINEL = "s3ntinel-VALUE-7d1c0e"


def _failed(result: Result, code: int, *words: str) -> None:
    assert result.code == code, result
    assert "\nError: " in "\n" + result.err and "Traceback" not in result.err, result.err
    for word in words:
        assert word in result.err, (word, result.err)


def _no_secrets(rdev: RdevCli, result: Result) -> None:
    assert "debug: > " in result.err  # the debug log is there, so its absence below means something
    assert SENTINEL not in result.err and rdev.server.admin_token not in result.err
    assert rdev.server.admin_token[:20] not in result.err


def test_credentials_from_stdin_and_files_never_argv(rdev: RdevCli, tmp_path: Path) -> None:
    stored = rdev("credentials", "set", "GH_TOKEN", "-d", "GitHub", "--debug", stdin=SENTINEL + "\n")
    assert stored.code == 0, stored
    assert stored.out.startswith("GH_TOKEN\tGitHub\t") and "stored credential GH_TOKEN" in stored.err
    _no_secrets(rdev, stored)
    assert '"value": "***"' in stored.err  # the body is logged, its value redacted
    revealed = rdev("credentials", "reveal", "GH_TOKEN")
    assert revealed.code == 0 and revealed.out == SENTINEL + "\n"  # the newline of stdin dropped
    assert SENTINEL not in revealed.err
    assert rdev.json("credentials", "reveal", "GH_TOKEN") == {"name": "GH_TOKEN", "value": SENTINEL}
    listed = rdev("credentials", "list", "-o", "json", "--debug")
    assert listed.code == 0 and [c["name"] for c in listed.data] == ["GH_TOKEN"]
    assert listed.data[0]["description"] == "GitHub" and "value" not in listed.data[0]
    _no_secrets(rdev, listed)
    # a file, kept as it is but for one trailing newline; the description stays
    source = tmp_path / "token.txt"
    source.write_text("line one\nline two\n")
    assert rdev("credentials", "set", "GH_TOKEN", "--from-file", str(source), "--debug").code == 0
    assert rdev.ok("credentials", "reveal", "GH_TOKEN").out == "line one\nline two\n"
    assert rdev.json("credentials", "list")[0]["description"] == "GitHub"
    assert rdev.ok("credentials", "set", "OTHER", "-f", "-", stdin="piped").out.startswith("OTHER\t")
    assert rdev.ok("credentials", "reveal", "OTHER").out == "piped\n"
    # on the command line: refused before anything is sent
    refusal = ("refusing a credential value on the command line", "Hint: rdev credentials set NEW")
    for argv in (["NEW", SENTINEL], ["NEW", "--value", SENTINEL], ["NEW", f"--value={SENTINEL}", "-d", "x"]):
        refused = rdev("credentials", "set", *argv, stdin="ignored")
        _failed(refused, 2, *refusal)
        assert "--from-file FILE" in refused.err and refused.out == "" and SENTINEL not in refused.err
    typo = rdev("credentials", "set", "NEW", "--descripton", "x", stdin="ignored")
    _failed(typo, 2, "no such option: --descripton", "Hint: see `rdev credentials set --help`")
    assert [c["name"] for c in rdev.json("credentials", "list")] == ["GH_TOKEN", "OTHER"]
    _failed(rdev("credentials", "set", "NEW", stdin=""), 2, "empty value for credential NEW", "Hint:")
    _failed(rdev("credentials", "set", "NEW", "-f", str(tmp_path / "none")), 2, "cannot read --from-file")
    _failed(rdev("credentials", "set", "bad name!", stdin="x"), 2, "VALIDATION_FAILED")
    # delete: --yes off a terminal
    _failed(rdev("credentials", "delete", "OTHER"), 2, "Hint: add --yes: rdev credentials delete OTHER --yes")
    deleted = rdev("credentials", "rm", "OTHER", "--yes")
    assert deleted.code == 0 and deleted.out == "" and "deleted credential OTHER" in deleted.err
    _failed(rdev("credentials", "reveal", "OTHER"), 3)
    reader = rdev.ok("keys", "create", "--name", "r", "--scope", "credentials:read").out.strip()
    assert rdev.json("credentials", "list", key=reader)[0]["name"] == "GH_TOKEN"
    _failed(rdev("credentials", "reveal", "GH_TOKEN", key=reader), 4, "admin")


class Receiver:
    """An HTTP server on 127.0.0.1 recording what it was POSTed: (path, headers, body)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        self.guard = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.guard:
                    receiver.received.append((self.path, dict(self.headers.items()), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def bodies(self) -> list[dict[str, Any]]:
        with self.guard:
            return [json.loads(body) for _, _, body in self.received]


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short backoff and few attempts, set before the api_server fixture builds its services."""
    monkeypatch.setenv("RDEV_WEBHOOK_BACKOFF_BASE", "50ms")
    monkeypatch.setenv("RDEV_WEBHOOK_BACKOFF_CAP", "100ms")
    monkeypatch.setenv("RDEV_WEBHOOK_MAX_ATTEMPTS", "2")
    monkeypatch.delenv("RDEV_WEBHOOK_ALLOW_PRIVATE", raising=False)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    try:
        yield made
    finally:
        made.server.shutdown()
        made.server.server_close()


def test_webhooks_test_deliveries_and_redeliver(rdev_with_workers: RdevCli, receiver: Receiver) -> None:
    rdev = rdev_with_workers
    made = rdev("webhooks", "create", f"{receiver.url}/hook", "-e", "project.created", "-d", "ci")
    assert made.code == 0, made
    secret = made.out.removesuffix("\n")
    assert made.out == secret + "\n" and secret.startswith("whsec_") and "shown only now" in made.err
    [hook] = rdev.json("webhooks", "list")
    assert hook["url"] == f"{receiver.url}/hook" and hook["events"] == ["project.created"] and hook["active"]
    assert "secret" not in hook and secret not in rdev.ok("webhooks", "get", hook["id"], "-o", "yaml").out
    # a test ping, waited for: delivered, signed with the secret printed once
    pinged = rdev("webhooks", "test", hook["id"], "--wait", "--timeout", "30", "-o", "json")
    assert pinged.code == 0, pinged
    assert pinged.data["status"] == "delivered" and pinged.data["event"] == "webhook.test"
    [(path, headers, body)] = receiver.received
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert path == "/hook" and headers["X-Rdev-Signature"] == expected
    assert headers["X-Rdev-Delivery"] == pinged.data["id"] == json.loads(body)["id"]
    # redelivered: a new delivery with the same event and payload
    again = rdev("webhooks", "redeliver", hook["id"], pinged.data["id"], "--wait", "-o", "json")
    assert again.code == 0 and again.data["status"] == "delivered" and again.data["id"] != pinged.data["id"]
    first, second = receiver.bodies()
    assert first["event"] == second["event"] == "webhook.test" and first["data"] == second["data"]
    listed = rdev.json("webhooks", "deliveries", hook["id"])
    assert {d["id"] for d in listed} == {pinged.data["id"], again.data["id"]}
    assert all(d["attempt_log"][-1]["status_code"] == 200 for d in listed)
    text = rdev.ok("webhooks", "deliveries", hook["id"], "--limit", "1").out
    assert text.startswith(f"{again.data['id']}\twebhook.test\tdelivered\t1\t200\t")  # newest first
    queued = rdev("webhooks", "test", hook["id"])
    assert queued.code == 0 and "\twebhook.test\t" in queued.out and "rdev webhooks deliveries" in queued.err
    # update: only what is given changes
    paused = rdev.json("webhooks", "update", hook["id"], "--inactive", "--event", "*")
    assert paused["active"] is False and paused["events"] == ["*"] and paused["description"] == "ci"
    _failed(rdev("webhooks", "update", hook["id"]), 2, "nothing to change", "Hint:")
    _failed(rdev("webhooks", "update", hook["id"], "--url", "ftp://x"), 2, "VALIDATION_FAILED")
    # delete: --yes off a terminal
    _failed(rdev("webhooks", "delete", hook["id"]), 2, f"add --yes: rdev webhooks delete {hook['id']} --yes")
    assert rdev("webhooks", "rm", hook["id"], "-y").code == 0
    _failed(rdev("webhooks", "get", hook["id"]), 3)
    _failed(rdev("webhooks", "deliveries", hook["id"]), 3)


def test_a_failing_receiver_is_reported(rdev_with_workers: RdevCli, receiver: Receiver) -> None:
    rdev = rdev_with_workers
    whole = rdev.json("webhooks", "create", f"{receiver.url}/hook", "--inactive")
    assert whole["secret"].startswith("whsec_") and whole["active"] is False
    paused = rdev("webhooks", "test", whole["id"])
    _failed(paused, 5, "inactive", f"Hint: resume it first: rdev webhooks update {whole['id']} --active")
    assert rdev.json("webhooks", "update", whole["id"], "--active")["active"] is True
    receiver.server.shutdown()
    receiver.server.server_close()  # nothing listens there any more
    failed = rdev("webhooks", "test", whole["id"], "--timeout", "30")  # --timeout implies --wait
    _failed(failed, 1, "failed", f"Hint: fix the receiver, then: rdev webhooks redeliver {whole['id']} ")
    assert "\tfailed\t2\t" in failed.out
    _failed(rdev("webhooks", "test", "wh_nope"), 3)
    _failed(rdev("webhooks", "create", "not a url"), 2, "VALIDATION_FAILED")
