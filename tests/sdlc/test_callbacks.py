"""Event callbacks (spec/sdlc.md §9): events.jsonl is POSTed in order, signed, in batches of at
most 100, to a real HTTP receiver on 127.0.0.1; mutating commands never wait for it; nothing is
lost while it is down; one flusher at a time."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

from conftest import InProcess, assert_schema, run_process, tree_snapshot

TOKEN = "s3cret-key"
DEADLINE = 30.0


class Receiver:
    """A callback receiver: answers 503 (after `delay` s) while down, 200 when up, and keeps
    every batch it acknowledged with the signature header it came with."""

    def __init__(self) -> None:
        self.up = False
        self.delay = 0.0
        self.refused = 0
        self.batches: list[dict[str, Any]] = []  # {body: bytes, data, signature, content_type}
        self.on_batch: Callable[[], None] | None = None
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if not receiver.up:
                    time.sleep(receiver.delay)
                    with receiver.lock:
                        receiver.refused += 1
                    self.send_response(503)
                else:
                    if receiver.on_batch is not None:
                        receiver.on_batch()
                    with receiver.lock:
                        receiver.batches.append(
                            {
                                "body": body,
                                "data": json.loads(body),
                                "signature": self.headers["X-Rdev-Signature"],
                                "content_type": self.headers["Content-Type"],
                            }
                        )
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/events"

    def ids(self) -> list[int]:
        """Every event id received, in arrival order (duplicates kept)."""
        with self.lock:
            return [e["id"] for b in self.batches for e in b["data"]["events"]]

    def wait_for(self, last_id: int) -> list[int]:
        deadline = time.monotonic() + DEADLINE
        while set(range(1, last_id + 1)) - set(self.ids()):
            assert time.monotonic() < deadline, f"events missing at the receiver: got {self.ids()}"
            time.sleep(0.05)
        return self.ids()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    thread = threading.Thread(target=rec.server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield rec
    rec.server.shutdown()
    rec.server.server_close()


def _env(receiver: Receiver, token: str | None = TOKEN, **extra: str) -> dict[str, str]:
    env = {"RDEV_CALLBACK_URL": receiver.url, **extra}
    if token is not None:
        env["RDEV_CALLBACK_TOKEN"] = token
    return env


def _signed(batch: dict[str, Any], token: str = TOKEN) -> bool:
    expected = "sha256=" + hmac.new(token.encode(), batch["body"], hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, batch["signature"] or "")


def _last_id(root: Path) -> int:
    lines = (root / ".sdlc" / "events.jsonl").read_text().splitlines()
    return int(json.loads(lines[-1])["id"])


def _offset(root: Path) -> str:
    return (root / ".sdlc" / "callbacks" / "offset").read_text().strip()


def _check_order(receiver: Receiver, last_id: int, project: str = "proj") -> None:
    """Each batch holds consecutive ids in order; a resent id never comes after a newer one
    except as part of a whole resent batch, so the first arrivals read 1..last_id."""
    firsts: list[int] = []
    for batch in receiver.batches:
        assert batch["content_type"] == "application/json"
        assert _signed(batch), "bad signature"
        assert batch["data"]["project"] == project
        ids = [e["id"] for e in batch["data"]["events"]]
        assert 1 <= len(ids) <= 100
        assert ids == list(range(ids[0], ids[0] + len(ids))), ids
        firsts += [i for i in ids if i not in firsts]
    assert firsts == list(range(1, last_id + 1))


def _detached_flush(root: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """What a mutating command starts, run in the foreground so the test can wait for it."""
    return subprocess.run(
        [sys.executable, "-m", "sdlc.callbacks", str(root)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_events_reach_a_receiver_that_was_down(project: Path, receiver: Receiver) -> None:
    receiver.delay = 3.0  # a receiver that hangs, then refuses: no command may wait for it
    env = _env(receiver)
    commands = [
        ["feature", "create", "login"],
        ["task", "add", "login", "Build", "the", "form"],
        ["task", "add", "login", "Create", "the", "session"],
        ["task", "start", "login", "T1"],
        ["comment", "create", "login", "Which hash?", "--flag", "question"],
    ]
    for args in commands:
        started = time.monotonic()
        done = run_process(args, project, env)
        elapsed = time.monotonic() - started
        assert done.returncode == 0, done.stderr
        assert elapsed < 1.0, f"`sdlc {' '.join(args)}` took {elapsed:.2f} s with the receiver down"
    deadline = time.monotonic() + DEADLINE
    while receiver.refused == 0:  # the detached flushers did try
        assert time.monotonic() < deadline, "no detached flush reached the receiver"
        time.sleep(0.05)
    last = _last_id(project)
    status = run_process(["callbacks", "status", "--json"], project, env)
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    assert_schema("sdlc callbacks status", data)
    assert data["offset"] == 0 and data["pending"] == last == data["last_event_id"] >= len(commands)
    assert receiver.batches == []

    receiver.up = True
    flushed = run_process(["callbacks", "flush", "--json"], project, env)  # waits for a hung flusher
    assert flushed.returncode == 0, flushed.stdout + flushed.stderr
    result = json.loads(flushed.stdout)
    assert_schema("sdlc callbacks flush", result)
    assert result["enabled"] is True and result["offset"] == last and result["pending"] == 0
    assert receiver.ids() == list(range(1, last + 1))

    # once up, a mutation's own detached flush delivers its event
    assert run_process(["task", "complete", "login", "T1"], project, env).returncode == 0
    last = _last_id(project)
    receiver.wait_for(last)
    _check_order(receiver, last)
    deadline = time.monotonic() + DEADLINE
    while _offset(project) != str(last):
        assert time.monotonic() < deadline, f"offset stuck at {_offset(project)}, last event {last}"
        time.sleep(0.05)
    status = json.loads(run_process(["--json", "callbacks", "status"], project, env).stdout)
    assert_schema("sdlc callbacks status", status)
    assert status["offset"] == status["last_event_id"] == last and status["pending"] == 0
    text = run_process(["callbacks", "status"], project, env).stdout
    assert "pending: 0" in text and receiver.url in text and "RDEV_CALLBACK_TOKEN" in text


def test_a_refusing_or_unreachable_receiver_fails_flush_and_keeps_the_offset(
    sdlc: InProcess, project: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    sdlc.ok("feature", "create", "login")
    for name, value in _env(receiver).items():
        monkeypatch.setenv(name, value)
    refused = sdlc("callbacks", "flush", json_mode=True)
    assert refused.code == 1
    error = refused.data["error"]
    assert_schema("sdlc ... (any error)", refused.data)
    assert error["code"] == "callback_failed"
    assert receiver.url in error["message"] and "HTTP 503" in error["message"]
    assert not (project / ".sdlc" / "callbacks" / "offset").exists()

    closed = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    url = f"http://127.0.0.1:{closed.server_address[1]}/hook"
    closed.server_close()  # nobody listens there any more
    monkeypatch.setenv("RDEV_CALLBACK_URL", url)
    unreachable = sdlc("callbacks", "flush")
    assert unreachable.code == 1
    assert f"to {url} failed: receiver unreachable" in unreachable.err and "hint:" in unreachable.err
    status = sdlc.json("callbacks", "status")
    assert status["offset"] == 0 and status["pending"] == status["last_event_id"] == 1


def test_batches_of_at_most_100_in_order_with_concurrent_flushers(
    sdlc: InProcess, project: Path, receiver: Receiver
) -> None:
    sdlc.ok("feature", "create", "bulk")
    for n in range(104):
        sdlc.ok("task", "add", "bulk", f"task {n}")
    last = _last_id(project)
    assert last == 105
    receiver.up = True
    receiver.on_batch = lambda: time.sleep(0.2)  # slow enough for the flushers to overlap
    env = _env(receiver)
    full_env = {**os.environ, **env}
    detached = [sys.executable, "-m", "sdlc.callbacks", str(project)]
    foreground = [sys.executable, "-m", "sdlc", "--json", "callbacks", "flush"]
    runs = [
        subprocess.Popen(args, cwd=project, env=full_env, stdout=subprocess.PIPE, text=True)
        for args in (detached, foreground, detached, foreground, detached)
    ]
    outputs = [(p.communicate(timeout=60)[0], p.returncode) for p in runs]
    assert all(code == 0 for _, code in outputs), outputs
    for out, _ in outputs[1::2]:
        assert_schema("sdlc callbacks flush", json.loads(out))
    _check_order(receiver, last)
    assert receiver.ids() == list(range(1, last + 1)), "an event was sent twice"
    assert [len(b["data"]["events"]) for b in receiver.batches] == [100, 5]
    assert _offset(project) == str(last)


def test_an_event_appended_during_a_flush_is_delivered_by_it(
    sdlc: InProcess, project: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    sdlc.ok("feature", "create", "login")
    receiver.up = True

    def append_once() -> None:  # another command writes while the flusher waits for us
        if not receiver.batches:  # (no URL for it: its own flush stays out of the way)
            late = run_process(["task", "add", "login", "late"], project, {"RDEV_CALLBACK_URL": ""})
            assert late.returncode == 0

    receiver.on_batch = append_once
    for name, value in _env(receiver).items():
        monkeypatch.setenv(name, value)
    result = sdlc.json("callbacks", "flush")
    assert result["delivered"] == 2 and result["batches"] == 2 and result["pending"] == 0
    assert receiver.ids() == [1, 2]
    assert "nothing to deliver" in sdlc.ok("callbacks", "flush").out


def test_the_signature_depends_on_the_key(
    sdlc: InProcess, project: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    sdlc.ok("feature", "create", "login")
    receiver.up = True
    for name, value in _env(receiver, token="wrong-key").items():
        monkeypatch.setenv(name, value)
    sdlc.ok("callbacks", "flush")
    [batch] = receiver.batches
    assert not _signed(batch, TOKEN)  # the receiver, knowing the right key, rejects it
    assert _signed(batch, "wrong-key")
    assert batch["data"] == {"project": "proj", "events": [json.loads(_events_line(project, 0))]}


def _events_line(root: Path, index: int) -> str:
    return (root / ".sdlc" / "events.jsonl").read_text().splitlines()[index]


def test_url_token_env_and_project_from_the_config(
    sdlc: InProcess, project: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    sdlc.ok("feature", "create", "cart")
    config = project / ".sdlc" / "config.yaml"
    config.write_text(
        config.read_text() + f"callbacks:\n  url: {receiver.url}\n  token_env: SHOP_KEY\n  project: shop\n"
    )
    monkeypatch.setenv("SHOP_KEY", "shop-key")
    monkeypatch.setenv("RDEV_CALLBACK_TOKEN", "not-this-one")
    receiver.up = True
    status = sdlc.json("callbacks", "status")
    assert_schema("sdlc callbacks status", status)
    assert status["source"] == "callbacks.url" and status["token_env"] == "SHOP_KEY"
    assert status["project"] == "shop" and status["pending"] == 1
    sdlc.ok("callbacks", "flush")
    [batch] = receiver.batches
    assert batch["data"]["project"] == "shop" and _signed(batch, "shop-key")


def test_callbacks_off_status_says_so_and_flush_is_a_no_op(sdlc: InProcess, project: Path) -> None:
    sdlc.ok("feature", "create", "login")
    before = list(tree_snapshot(project))
    status = sdlc.json("callbacks", "status")
    assert_schema("sdlc callbacks status", status)
    assert status == {
        "enabled": False,
        "url": None,
        "source": None,
        "project": "proj",
        "token_env": "RDEV_CALLBACK_TOKEN",
        "offset": 0,
        "last_event_id": 1,
        "pending": 1,
    }
    assert "callbacks are off" in sdlc.ok("callbacks", "status").out
    flushed = sdlc.json("callbacks", "flush")
    assert_schema("sdlc callbacks flush", flushed)
    assert flushed["enabled"] is False and flushed["delivered"] == 0
    assert "nothing to flush" in sdlc.ok("callbacks", "flush").out
    assert list(tree_snapshot(project)) == before


def test_no_token_refuses_and_the_detached_flush_sends_nothing(
    sdlc: InProcess, project: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RDEV_CALLBACK_TOKEN", raising=False)
    receiver.up = True
    env = _env(receiver, token=None)
    assert run_process(["feature", "create", "login"], project, env).returncode == 0
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for command in ("status", "flush"):
        refused = sdlc("callbacks", command, json_mode=True)
        assert refused.code == 1
        assert refused.data["error"]["code"] == "config_invalid"
        assert "RDEV_CALLBACK_TOKEN is not set" in refused.data["error"]["message"]
    assert _detached_flush(project, env).returncode == 0
    assert receiver.batches == []


def test_a_running_flusher_makes_the_others_step_aside(project: Path, receiver: Receiver) -> None:
    assert run_process(["feature", "create", "login"], project).returncode == 0
    receiver.up = True
    env = _env(receiver)
    lock_path = project / ".sdlc" / "callbacks" / "flush.lock"
    lock_path.parent.mkdir()
    with FileLock(str(lock_path)):
        started = time.monotonic()
        assert _detached_flush(project, env).returncode == 0  # exits at once
        assert time.monotonic() - started < 5
        busy = run_process(["--json", "callbacks", "flush"], project, {**env, "SDLC_LOCK_TIMEOUT": "0.2"})
        assert busy.returncode == 1 and json.loads(busy.stdout)["error"]["code"] == "lock_timeout"
        assert "flush.lock" in json.loads(busy.stdout)["error"]["message"]
    assert receiver.batches == []
    assert run_process(["callbacks", "flush"], project, env).returncode == 0
    assert receiver.ids() == [1]


def test_status_hides_secrets_of_the_url(sdlc: InProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RDEV_CALLBACK_URL", "https://bot:hunter2@rdev.example/api/events?key=abc123")
    monkeypatch.setenv("RDEV_CALLBACK_TOKEN", TOKEN)
    for result in (sdlc("callbacks", "status"), sdlc("callbacks", "status", json_mode=True)):
        assert result.code == 0
        assert "hunter2" not in result.out and "abc123" not in result.out and TOKEN not in result.out
        assert "rdev.example/api/events" in result.out


@pytest.mark.parametrize(
    ("url", "config", "wording"),
    [
        ("ftp://rdev.example/x", "", "not an http(s) URL"),
        ("", "callbacks:\n  urll: http://rdev.example/x\n", "callbacks.urll unknown"),
        ("", "callbacks:\n  url: 42\n", "callbacks.url must be a non-empty string"),
    ],
)
def test_bad_callback_settings_are_named(
    sdlc: InProcess,
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    url: str,
    config: str,
    wording: str,
) -> None:
    if url:
        monkeypatch.setenv("RDEV_CALLBACK_URL", url)
    monkeypatch.setenv("RDEV_CALLBACK_TOKEN", TOKEN)
    path = project / ".sdlc" / "config.yaml"
    path.write_text(path.read_text() + config)
    result = sdlc("callbacks", "status", json_mode=True)
    assert result.code == 1 and result.data["error"]["code"] == "config_invalid"
    assert wording in result.data["error"]["message"]
    assert sdlc("feature", "create", "still-works").code == 0  # a callback never fails a command
