"""`rdev worker run` as real processes over the real API: items run once each, in the given
workdir, without the worker's key in their environment; SIGTERM lets a running item finish
and exits 0; Ctrl-C twice kills the command's group and exits 130; a failing command is
retried and then dead, an agent kind refused for good. The worker's own HTTP client: a
long-polling claim gets an item submitted while it waits, a kept-alive connection the server
closed is reopened without a retry, and SIGTERM ends claims that are long-polling at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from conftest import ApiServer
from rdev_cli.output import OPTIONS
from rdev_cli.worker import CLAIM_WAIT_S
from rdev_cli.worker_http import REQUEST_TIMEOUT_S, Api

DEADLINE_S = 60.0
POLL_S = 0.05


@pytest.fixture
def start_worker(api_server: ApiServer, tmp_path: Path) -> Iterator[Any]:
    started: list[subprocess.Popen[str]] = []

    def start(workdir: Path, worker_id: str, *extra: str) -> subprocess.Popen[str]:
        env = {**os.environ, "RDEV_CONFIG_DIR": str(tmp_path / "config")}
        env.pop("RDEV_API_KEY", None)
        command = [sys.executable, "-m", "rdev_cli", "worker", "run", "--workdir", str(workdir)]
        target = ["--url", api_server.url, "--api-key", api_server.admin_token]
        process = subprocess.Popen(
            [*command, *target, "--worker-id", worker_id, "--lease", "3", *extra],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=DEADLINE_S)


def submit(api: ApiServer, payload: dict[str, Any], **fields: Any) -> str:
    with api.admin() as admin:
        response = admin.post("/work", json={"type": "command", "payload": payload, **fields})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def wait_for(api: ApiServer, item_id: str, statuses: set[str]) -> dict[str, Any]:
    deadline = time.monotonic() + DEADLINE_S
    with api.admin() as admin:
        while True:
            item: dict[str, Any] = admin.get(f"/work/{item_id}").json()
            if item["status"] in statuses:
                return item
            assert time.monotonic() < deadline, f"{item_id} stayed {item['status']}: {item}"
            time.sleep(POLL_S)


def test_two_workers_run_each_item_once_in_the_workdir(
    api_server: ApiServer, start_worker: Any, tmp_path: Path
) -> None:
    workdir = tmp_path / "checkout"
    workdir.mkdir()
    script = 'pwd > "out-$N"; env > "env-$N"; echo "$N" >> ran.log; sleep 0.2'
    ids = {
        submit(api_server, {"kind": "shell", "script": script, "env": {"N": str(n)}}): n for n in range(12)
    }
    first, second = start_worker(workdir, "w-one"), start_worker(workdir, "w-two")
    done = {item_id: wait_for(api_server, item_id, {"succeeded", "failed", "dead"}) for item_id in ids}
    assert {item["status"] for item in done.values()} == {"succeeded"}, done
    assert all(item["attempts"] == 1 and item["worker_id"] in ("w-one", "w-two") for item in done.values())
    assert all(item["result"]["exit_code"] == 0 for item in done.values())
    assert sorted((workdir / "ran.log").read_text().split()) == sorted(str(n) for n in range(12))
    for n in ids.values():
        assert (workdir / f"out-{n}").read_text().strip() == str(workdir)
        assert api_server.admin_token not in (workdir / f"env-{n}").read_text()
    for process in (first, second):
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=DEADLINE_S) == 0, process.communicate()


def test_sigterm_lets_the_running_item_finish(
    api_server: ApiServer, start_worker: Any, tmp_path: Path
) -> None:
    item_id = submit(api_server, {"kind": "shell", "script": "sleep 4; echo finished > done.txt"})
    worker = start_worker(tmp_path, "w-drain")
    wait_for(api_server, item_id, {"running"})
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=DEADLINE_S) == 0, worker.communicate()
    item = wait_for(api_server, item_id, {"succeeded", "failed", "dead", "queued"})
    assert item["status"] == "succeeded" and (tmp_path / "done.txt").read_text() == "finished\n"


def test_ctrl_c_twice_kills_the_group(api_server: ApiServer, start_worker: Any, tmp_path: Path) -> None:
    item_id = submit(api_server, {"kind": "shell", "script": "echo $$ > pid; sleep 60 & wait"})
    worker = start_worker(tmp_path, "w-kill")
    wait_for(api_server, item_id, {"running"})
    deadline = time.monotonic() + DEADLINE_S
    while not (tmp_path / "pid").is_file() or not (tmp_path / "pid").read_text().strip():
        assert time.monotonic() < deadline
        time.sleep(POLL_S)
    group = int((tmp_path / "pid").read_text())
    worker.send_signal(signal.SIGINT)
    assert worker.stderr is not None
    while "stopping" not in worker.stderr.readline():  # the first one is taken: drain mode
        assert time.monotonic() < deadline and worker.poll() is None
    worker.send_signal(signal.SIGINT)
    assert worker.wait(timeout=DEADLINE_S) == 130
    while True:  # the whole group (sh and its sleep) is gone
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            break
        assert time.monotonic() < deadline, "the command's group survived"
        time.sleep(POLL_S)


def test_failures_are_retried_then_dead_and_agents_refused(
    api_server: ApiServer, start_worker: Any, tmp_path: Path
) -> None:
    failing = submit(api_server, {"kind": "shell", "script": "echo try >> tries.log; exit 3"}, max_attempts=2)
    agent = submit(api_server, {"kind": "claude", "prompt": "hello"})
    bad_git = submit(api_server, {"kind": "git", "argv": ["config", "--global", "x.y", "z"]})
    start_worker(tmp_path, "w-fail")
    dead = wait_for(api_server, failing, {"dead", "succeeded"})
    assert dead["status"] == "dead" and dead["attempts"] == 2 and "exit code 3" in dead["last_error"]
    assert (tmp_path / "tries.log").read_text() == "try\ntry\n"
    for item_id, reason in ((agent, "server only"), (bad_git, "not allowed")):
        refused = wait_for(api_server, item_id, {"failed", "dead", "succeeded"})
        assert refused["status"] == "failed" and refused["attempts"] == 1 and reason in refused["last_error"]


def test_without_url_or_key_it_says_where_to_get_them(tmp_path: Path) -> None:
    env = {**os.environ, "RDEV_CONFIG_DIR": str(tmp_path / "empty")}
    for name in ("RDEV_API_URL", "RDEV_API_KEY"):
        env.pop(name, None)
    result = subprocess.run(
        [sys.executable, "-m", "rdev_cli", "worker", "run", "--workdir", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=DEADLINE_S,
        check=False,
    )
    assert result.returncode == 2 and "no API URL" in result.stderr and "rdev server start" in result.stderr


# --- the worker's HTTP client ------------------------------------------------------------------


def until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(POLL_S)


def waiting_claims(api: ApiServer) -> int:
    return api.services.work.waiting_claims()


def test_a_long_polling_claim_gets_an_item_submitted_while_it_waits(api_server: ApiServer) -> None:
    api = Api(api_server.url, api_server.admin_token)
    body = {"worker_id": "w-long", "types": ["command"], "lease_s": 30, "wait_s": CLAIM_WAIT_S}
    try:
        with ThreadPoolExecutor(1) as pool:
            started = time.monotonic()
            claim = pool.submit(api.call, "POST", "/work/claim", body, CLAIM_WAIT_S + REQUEST_TIMEOUT_S)
            until(lambda: waiting_claims(api_server) == 1, "the claim to wait")
            with pytest.raises(TimeoutError):  # still waiting a second after it was sent
                claim.result(timeout=max(0.0, started + 1 - time.monotonic()))
            item_id = submit(api_server, {"kind": "shell", "argv": ["true"]})
            item = claim.result(timeout=DEADLINE_S)
            took = time.monotonic() - started
    finally:
        api.close()
    assert item is not None and item["id"] == item_id and item["worker_id"] == "w-long"
    assert took < CLAIM_WAIT_S / 2, f"the claim took {took:.1f}s: the submit did not answer it"


@contextmanager
def serving(app: Any, port: int = 0) -> Iterator[uvicorn.Server]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    until(lambda: server.started or not thread.is_alive(), "the server to start")
    assert server.started, "the server did not start"
    try:
        yield server
    finally:
        server.should_exit = True
        thread.join(timeout=DEADLINE_S)


def test_a_connection_closed_by_a_server_restart_is_reopened_without_a_retry(
    api_server: ApiServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(OPTIONS, "debug", True)  # a retry would say so on stderr
    with serving(api_server.app) as first:
        port = first.servers[0].sockets[0].getsockname()[1]
        api = Api(f"http://127.0.0.1:{port}", api_server.admin_token)
        api.call("POST", "/workers", {"id": "w-keep", "types": ["command"]})
        assert api.call("POST", "/workers/w-keep/heartbeat")["id"] == "w-keep"
        assert len(first.server_state.connections) == 1, "the two calls did not share a connection"
    try:
        with serving(api_server.app, port) as second:
            assert api.call("POST", "/workers/w-keep/heartbeat")["id"] == "w-keep"
            assert second.server_state.total_requests == 1
    finally:
        api.close()
    assert "retrying" not in capsys.readouterr().err


def test_sigterm_ends_long_polling_claims_at_once(
    api_server: ApiServer, start_worker: Any, tmp_path: Path
) -> None:
    worker = start_worker(tmp_path, "w-poll", "--concurrency", "3")
    until(lambda: waiting_claims(api_server) == 3 or worker.poll() is not None, "the claims to wait")
    started = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=DEADLINE_S) == 0, worker.communicate()
    took = time.monotonic() - started
    assert took < CLAIM_WAIT_S / 2, f"the worker took {took:.1f}s to stop: its claims held it"
