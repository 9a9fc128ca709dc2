"""Commands over the real API: output followed over SSE (replay, resume after Last-Event-ID,
heartbeats, a final `end`), exit codes, timeout and cancel ending the whole process group, the
git allowlist, bound credentials in the environment (never in the output records), and a fake
`claude` speaking stream-json parsed into `agent` events."""

from __future__ import annotations

import json
import os
import stat
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import FAKE_CLAUDE, ApiServer
from rdev_api.domain.commands import CommandRequest
from sdlc.backends import group_alive

SENTINEL = "sentinel-credential-7f3a"


def events(
    api: ApiServer, command_id: str, last_event_id: int | None = None, limit: int = 100_000
) -> list[dict[str, Any]]:
    """Follow the SSE stream to its end (or `limit` events)."""
    headers = {"Last-Event-ID": str(last_event_id)} if last_event_id is not None else {}
    found: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    with (
        api.admin() as client,
        client.stream("GET", f"/commands/{command_id}/events", headers=headers) as response,
    ):
        assert response.status_code == 200 and response.headers["content-type"].startswith(
            "text/event-stream"
        )
        for line in response.iter_lines():
            if line.startswith(":"):
                found.append({"heartbeat": True})
            elif line.startswith("id: "):
                current["id"] = int(line[4:])
            elif line.startswith("event: "):
                current["event"] = line[7:]
            elif line.startswith("data: "):
                current["data"] = json.loads(line[6:])
                assert isinstance(current["data"].pop("ts"), str)  # when the event was stored
            elif line == "" and current:
                found.append(current)
                current = {}
                if found[-1]["event"] == "end" or len(found) >= limit:
                    break
    return found


def stdout_of(found: list[dict[str, Any]]) -> str:
    return "".join(
        e["data"]["data"] for e in found if e.get("event") == "output" and e["data"]["stream"] == "stdout"
    )


@pytest.fixture
def project(api_server: ApiServer) -> str:
    with api_server.admin() as admin:
        assert admin.put("/credentials/deploy-token", json={"value": SENTINEL}).status_code in (200, 201)
        created = admin.post(
            "/projects",
            json={"name": "demo", "template": "default", "credentials": {"DEPLOY_TOKEN": "deploy-token"}},
        )
    assert created.status_code == 201, created.text
    project_id: str = created.json()["id"]
    return project_id


def start(api: ApiServer, project_id: str, **body: Any) -> dict[str, Any]:
    with api.admin() as admin:
        response = admin.post(f"/projects/{project_id}/commands", json=body)
    assert response.status_code == 202, response.text
    data: dict[str, Any] = response.json()
    return data


def finished(api: ApiServer, command_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    with api.admin() as admin:
        while True:
            command: dict[str, Any] = admin.get(f"/commands/{command_id}").json()
            if command["status"] not in ("queued", "running"):
                return command
            assert time.monotonic() < deadline, command
            time.sleep(0.05)


def test_output_is_followed_complete_and_in_order(api_server: ApiServer, project: str) -> None:
    script = "i=0; while [ $i -lt 3000 ]; do echo line-$i; i=$((i+1)); done; echo oops >&2; exit 3"
    command = start(api_server, project, kind="shell", script=script)
    found = events(api_server, command["id"])
    assert [e["id"] for e in found] == list(range(1, len(found) + 1))
    assert stdout_of(found).splitlines() == [f"line-{i}" for i in range(3000)]
    assert found[-1] == {"id": len(found), "event": "end", "data": {"status": "failed", "exit_code": 3}}
    assert any(e["event"] == "output" and e["data"] == {"stream": "stderr", "data": "oops\n"} for e in found)
    late = events(api_server, command["id"])  # a late follower gets the same stream
    assert late == found
    middle = len(found) // 2
    resumed = events(api_server, command["id"], last_event_id=found[middle]["id"])
    assert resumed == found[middle + 1 :] and len(found) >= 4
    assert finished(api_server, command["id"])["exit_code"] == 3


def test_workspace_environment_and_secrets(api_server: ApiServer, project: str) -> None:
    command = start(
        api_server,
        project,
        kind="shell",
        script='test "$DEPLOY_TOKEN" = "$EXPECTED" && pwd && echo "home=$HOME" && env | cut -d= -f1 | sort',
        env={"EXPECTED": SENTINEL},
    )
    found = events(api_server, command["id"])
    assert found[-1]["data"]["exit_code"] == 0, found
    lines = stdout_of(found).splitlines()
    assert lines[0].endswith(f"/{project}") and lines[1] == f"home={lines[0]}"
    assert "RDEV_MASTER_KEY" not in lines and "SDLC_AGENT" not in lines and "DEPLOY_TOKEN" in lines
    with api_server.admin() as admin:
        record = admin.get(f"/commands/{command['id']}").text
    assert SENTINEL not in record


def test_timeout_and_cancel_end_the_whole_group(api_server: ApiServer, project: str, tmp_path: Path) -> None:
    command = start(
        api_server, project, kind="shell", script="echo $$ > group.pid; sleep 300 & sleep 300", timeout_s=1
    )
    done = finished(api_server, command["id"])
    assert done["status"] == "timed_out" and done["signal"] is not None
    workspace = next(
        Path(p) for p in [os.path.join(api_server.services.db.path.parent, "workspaces", project)]
    )
    assert not group_alive(int((workspace / "group.pid").read_text()))
    running = start(api_server, project, kind="shell", script="sleep 300")
    with api_server.admin() as admin:
        deadline = time.monotonic() + 30
        while admin.get(f"/commands/{running['id']}").json()["status"] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert admin.post(f"/commands/{running['id']}/cancel").status_code == 200
    assert finished(api_server, running["id"])["status"] == "cancelled"
    with api_server.admin() as admin:
        again = admin.post(f"/commands/{running['id']}/cancel")
    assert again.status_code == 409 and again.json()["error"]["code"] == "CONFLICT"


def test_git_allowlist(api_server: ApiServer, project: str) -> None:
    command = start(api_server, project, kind="git", argv=["log", "--oneline"])
    found = events(api_server, command["id"])
    assert found[-1]["data"]["exit_code"] == 0 and stdout_of(found).strip()
    with api_server.admin() as admin:
        refused = admin.post(
            f"/projects/{project}/commands", json={"kind": "git", "argv": ["config", "--global", "x", "y"]}
        )
    assert refused.status_code == 422 and "not allowed" in refused.text


def test_claude_stream_json_becomes_agent_events(
    api_server: ApiServer, project: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "claude"
    fake.write_text(FAKE_CLAUDE.format(python=sys.executable))
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("RDEV_CLAUDE_BIN", str(fake))
    command = start(api_server, project, kind="claude", prompt="write the spec")
    found = events(api_server, command["id"])
    agent = [e["data"] for e in found if e["event"] == "agent"]
    assert [a["type"] for a in agent] == ["system", "assistant", "result"]
    assert agent[1]["content"] == [{"type": "text", "text": "on it: write the spec"}]
    assert agent[2]["is_error"] is False and agent[2]["result"] == "done"
    assert stdout_of(found) == "a line that is not JSON\n"
    assert found[-1]["data"] == {"status": "succeeded", "exit_code": 0}


def test_heartbeats_during_silence(
    api_server: ApiServer, project: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RDEV_SSE_HEARTBEAT", "200ms")
    command = start(api_server, project, kind="shell", script="sleep 1; echo late")
    found = events(api_server, command["id"])
    assert any(e.get("heartbeat") for e in found)
    assert stdout_of(found) == "late\n" and found[-1]["event"] == "end"


def test_unknown_commands_and_projects(api_server: ApiServer) -> None:
    with api_server.admin() as admin:
        assert admin.get("/commands/cmd_nope").status_code == 404
        assert admin.get("/commands/cmd_nope/events").status_code == 404
        assert (
            admin.post("/projects/nope/commands", json={"kind": "shell", "script": "true"}).status_code == 404
        )


def test_a_command_run_to_its_end_reads_no_record_back(
    api_server: ApiServer, project: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    commands = api_server.services.commands
    reads: list[str] = []
    read = commands.store.get
    monkeypatch.setattr(
        commands.store, "get", lambda command_id: reads.append(command_id) or read(command_id)
    )
    told: list[dict[str, Any]] = []
    monkeypatch.setattr(commands, "on_finished", told.append)
    queued = commands.submit(project, CommandRequest(kind="shell", script="echo hi"))
    done = commands.run_to_end(queued["id"], threading.Event())
    assert queued["status"] == "queued" and queued["started_at"] is None
    assert done["status"] == "succeeded" and done["exit_code"] == 0 and done["finished_at"]
    assert told == [done] and reads == []
    assert commands.get(queued["id"]) == done  # what the thread handed on is what is stored
    found = events(api_server, queued["id"])
    assert [e["event"] for e in found] == ["status", "output", "status", "end"]
    assert [e["id"] for e in found] == [1, 2, 3, 4]


def test_command_threads_are_reused_and_a_command_never_waits_for_one(
    api_server: ApiServer, project: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    commands = api_server.services.commands
    threads: list[threading.Thread] = []  # the objects: an ident can come back with a new thread
    monkeypatch.setattr(commands, "on_finished", lambda command: threads.append(threading.current_thread()))
    for _ in range(10):
        command = commands.submit(project, CommandRequest(kind="shell", argv=["true"]))
        assert commands.run_to_end(command["id"], threading.Event())["status"] == "succeeded"
    assert len(threads) == 10 and len(set(threads)) < 10
    blocker = commands.submit(project, CommandRequest(kind="shell", argv=["sleep", "300"]))
    quick = commands.submit(project, CommandRequest(kind="shell", argv=["true"]))
    assert commands.run_to_end(quick["id"], threading.Event())["status"] == "succeeded"
    assert commands.wait(blocker["id"], 0)["status"] in ("queued", "running")
    stop = threading.Event()
    stop.set()  # as when a work item's lease is lost: the command is cancelled
    assert commands.run_to_end(blocker["id"], stop)["status"] == "cancelled"


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                line = (Path("/proc") / entry / "cmdline").read_bytes()
            except OSError:
                continue
            if marker.encode() in line:
                found.append(int(entry))
    return found


def test_deleting_a_project_cancels_its_running_commands_first(api_server: ApiServer, project: str) -> None:
    """spec: "Delete cancels its running commands, then removes the workspace and rows"."""
    marker = "347.25"  # a sleep no other test runs
    running = [start(api_server, project, kind="shell", argv=["sleep", marker]) for _ in range(2)]
    with api_server.admin() as admin:
        deadline = time.monotonic() + 30
        while any(admin.get(f"/commands/{c['id']}").json()["status"] != "running" for c in running):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert len(_processes_with(marker)) >= 2
        finished_before: list[dict[str, Any]] = []
        api_server.services.commands.on_finished = finished_before.append
        assert admin.delete(f"/projects/{project}").status_code == 204
        assert admin.get(f"/projects/{project}").status_code == 404
    assert _processes_with(marker) == []
    assert sorted(c["status"] for c in finished_before) == ["cancelled", "cancelled"]
