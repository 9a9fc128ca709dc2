"""`rdev worker run` against a server older than itself, one that refuses the worker
protocol's newer fields (`wait_s` on claims, `claim` on outcomes) with a 422: the worker stops
sending them and every item still runs and is recorded."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

NEWER = ("claim", "wait_s")
DEADLINE_S = 60.0


def refusing_newer_fields(app: Any) -> Any:
    """The real app, except that a JSON body with a newer field gets the 422 an older server
    (extra="forbid") answered."""

    async def older(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await app(scope, receive, send)
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        fields = [f for f in NEWER if body.startswith(b"{") and f in json.loads(body)]
        if fields:
            details = [{"field": f, "message": "Extra inputs are not permitted"} for f in fields]
            error = {"code": "VALIDATION_FAILED", "message": "invalid field(s)", "details": details}
            payload = json.dumps({"error": {**error, "request_id": "req_old"}}).encode()
            headers = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": 422, "headers": headers})
            await send({"type": "http.response.body", "body": payload})
            return
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await app(scope, replay, send)

    return older


@pytest.fixture
def old_server(tmp_path: Path) -> Iterator[tuple[str, str, Any]]:
    from rdev_api.app import build_services, create_app

    data_dir = tmp_path / "rdev-data"
    data_dir.mkdir(mode=0o700)
    services = build_services(data_dir)
    _, token = services.keys.bootstrap_admin("test-admin")
    config = uvicorn.Config(
        refusing_newer_fields(create_app(services)),
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + DEADLINE_S
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    try:
        yield url, token, services
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        services.db.close()


def test_a_worker_drops_the_fields_an_older_server_refuses(old_server: Any, tmp_path: Path) -> None:
    import httpx

    url, token, services = old_server
    headers = {"X-API-Key": token}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as admin:
        admin.post("/projects", json={"name": "shop"}).raise_for_status()
        body = {"type": "command", "payload": {"project": "shop", "kind": "shell", "argv": ["true"]}}
        ids = [admin.post("/work", json=body).json()["id"] for _ in range(3)]
    services.embedded_workers.stop(timeout=1)  # only the external worker runs them
    workdir = tmp_path / "checkout"
    workdir.mkdir()
    env = {**os.environ, "RDEV_CONFIG_DIR": str(tmp_path / "config")}
    target = ["--url", url, "--api-key", token, "--worker-id", "old-1"]
    worker = subprocess.Popen(
        [sys.executable, "-m", "rdev_cli", "worker", "run", "--workdir", str(workdir), *target],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + DEADLINE_S
        while {services.work.get(i, None)["status"] for i in ids} != {"succeeded"}:
            assert worker.poll() is None and time.monotonic() < deadline, "the items did not all succeed"
            time.sleep(0.05)
    finally:
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=DEADLINE_S)
    assert worker.returncode == 0, err
    assert all(services.work.get(i, None)["worker_id"] == "old-1" for i in ids)
    assert err.count("does not know claim") == 1 and err.count("does not know wait_s") == 1, err
