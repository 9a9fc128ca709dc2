"""Resource events become webhook deliveries: project.created/deleted, command.finished,
work.succeeded/failed (stored as deliveries before anything is sent)."""

from __future__ import annotations

import time
from typing import Any

from conftest import ApiServer


def wait_for(api: ApiServer, path: str, done: Any, seconds: float = 60) -> Any:
    deadline = time.monotonic() + seconds
    with api.admin() as admin:
        while True:
            data = admin.get(path).json()
            if done(data):
                return data
            assert time.monotonic() < deadline, data
            time.sleep(0.05)


def test_resources_emit_their_events(api_server: ApiServer) -> None:
    services = api_server.services
    with api_server.admin() as admin:
        # nothing listens on this port: deliveries stay pending, which is all this test reads
        hook = admin.post("/webhooks", json={"url": "http://127.0.0.1:9/hook"}).json()
        project = admin.post("/projects", json={"name": "events", "template": "default"}).json()["id"]
        command = admin.post(f"/projects/{project}/commands", json={"kind": "shell", "script": "true"}).json()
    wait_for(api_server, f"/commands/{command['id']}", lambda c: c["status"] == "succeeded")
    services.embedded_workers.start()
    try:
        with api_server.admin() as admin:
            ok = admin.post(
                "/work",
                json={"type": "command", "project": project, "payload": {"kind": "shell", "script": "true"}},
            ).json()
            bad = admin.post(
                "/work",
                json={
                    "type": "command",
                    "project": project,
                    "max_attempts": 1,
                    "payload": {"kind": "shell", "script": "exit 4"},
                },
            ).json()
        wait_for(api_server, f"/work/{ok['id']}", lambda i: i["status"] == "succeeded")
        wait_for(api_server, f"/work/{bad['id']}", lambda i: i["status"] in ("failed", "dead"))
    finally:
        services.embedded_workers.stop(30)
    with api_server.admin() as admin:
        assert admin.delete(f"/projects/{project}").status_code == 204
    deliveries = wait_for(
        api_server,
        f"/webhooks/{hook['id']}/deliveries?limit=1000",
        lambda d: (
            {"project.created", "command.finished", "work.succeeded", "project.deleted"}
            <= {x["event"] for x in d}
        ),
    )
    events = [d["event"] for d in deliveries]
    assert events.count("project.created") == 1 and events.count("project.deleted") == 1
    assert "work.dead" in events or "work.failed" in events
    finished = [d["payload"]["command"] for d in deliveries if d["event"] == "command.finished"]
    assert command["id"] in {c["id"] for c in finished}
