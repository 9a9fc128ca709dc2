"""`sdlc config agent show|set-default|set-action|reset` (spec/sdlc.md §5, §6): routing changes
rewrite .sdlc/config.yaml under the lock, with their event, keeping every other key."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from conftest import InProcess, assert_schema, config_path, read_config, run_process, write_config
from sdlc.lifecycle import HUMAN_ACTIONS

REFERENCE_CONFIG = Path(__file__).parent / "data" / "reference_project" / ".sdlc" / "config.yaml"
ERROR = "sdlc ... (any error)"


def events(root: Path) -> list[dict[str, Any]]:
    path = root / ".sdlc" / "events.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    return [json.loads(line) for line in lines if line.strip()]


def validate(sdlc: InProcess) -> dict[str, Any]:
    result = sdlc("config", "validate", json_mode=True)
    data: dict[str, Any] = result.data
    assert_schema("sdlc config validate", data)
    assert result.code == (0 if data["valid"] else 1), result
    return data


# -- agent routing --------------------------------------------------------------------------------


def agent(sdlc: InProcess, *args: str) -> dict[str, Any]:
    data: dict[str, Any] = sdlc.json("config", "agent", *args)
    assert_schema("sdlc config agent show" if args == ("show",) else f"sdlc config agent {_key(args)}", data)
    return data


def _key(args: tuple[str, ...]) -> str:
    return {
        "set-default": "set-default TYPE",
        "set-action": "set-action ACTION TYPE",
        "reset": "reset [ACTION]",
    }[args[0]]


def test_agent_show_routes_every_action(sdlc: InProcess) -> None:
    shown = agent(sdlc, "show")
    assert shown["default"] == {"type": "claude"} and shown["actions"] == {}
    routes = {r["action"]: r for r in shown["routes"]}
    assert "advance" not in routes and "done" not in routes
    assert routes["implement_task"] == {
        "action": "implement_task",
        "by": "agent",
        "backend": {"type": "claude"},
        "source": "default",
        "timeout_minutes": 45,
    }
    for action in HUMAN_ACTIONS:
        assert routes[action]["by"] == "human" and routes[action]["backend"] == {"type": "human"}
        assert routes[action]["source"] == "human" and routes[action]["timeout_minutes"] is None
    text = sdlc.ok("config", "agent", "show").out.splitlines()
    assert text[0] == "default: claude"
    assert any(line.split() == ["approve_spec", "human", "human", "-"] for line in text)


def test_set_and_reset_round_trip_keeping_every_other_key(project: Path, sdlc: InProcess) -> None:
    before = read_config(project)
    before["quality"]["min_score_to_advance"] = 75
    before["platform"] = {"commands": {"hello": {"description": "Say hi", "script": "echo hi"}}}
    before["custom_note"] = {"kept": ["a", 1, None]}  # unknown to sdlc, still kept
    write_config(project, before)
    others = {k: v for k, v in before.items() if k != "agents"}
    first_event = len(events(project))

    changed = agent(sdlc, "set-default", "codex", "--model", "o4", "--timeout-minutes", "30")
    assert changed["changed"] is True and changed["key"] == "agents.default"
    assert changed["default"] == {"type": "codex", "model": "o4", "timeout_minutes": 30}
    routed = agent(sdlc, "set-action", "create_spec", "xadk", "--agent-id", "spec-writer")
    assert routed["actions"] == {"create_spec": {"type": "xadk", "agent_id": "spec-writer"}}
    agent(sdlc, "set-action", "implement_task", "shell", "--command", "make impl", "--timeout-minutes", "90")
    agent(
        sdlc,
        "set-action",
        "create_design",
        "claude",
        "--allowed-tools",
        "Read, Write",
        "--permission-mode",
        "plan",
    )
    agent(sdlc, "set-action", "approve_spec", "human")  # a human action may be routed to a human

    after = read_config(project)
    assert {k: v for k, v in after.items() if k != "agents"} == others
    assert after["agents"] == {
        "default": {"type": "codex", "model": "o4", "timeout_minutes": 30},
        "actions": {
            "create_spec": {"type": "xadk", "agent_id": "spec-writer"},
            "implement_task": {"type": "shell", "command": "make impl", "timeout_minutes": 90},
            "create_design": {
                "type": "claude",
                "allowed_tools": ["Read", "Write"],
                "permission_mode": "plan",
            },
            "approve_spec": {"type": "human"},
        },
    }
    assert [p["path"] for p in validate(sdlc)["problems"]] == ["custom_note"]  # only the unknown key
    routes = {r["action"]: r for r in agent(sdlc, "show")["routes"]}
    assert (
        routes["implement_task"]["timeout_minutes"] == 90 and routes["create_tasks"]["timeout_minutes"] == 30
    )
    assert (
        routes["create_tasks"]["backend"]["type"] == "codex" and routes["approve_spec"]["source"] == "action"
    )
    assert sdlc.json("config", "show")["agents"]["actions"]["create_spec"]["agent_id"] == "spec-writer"

    changes = [e for e in events(project)[first_event:] if e["type"] == "config.changed"]
    assert [e["data"]["key"] for e in changes] == [
        "agents.default",
        "agents.actions.create_spec",
        "agents.actions.implement_task",
        "agents.actions.create_design",
        "agents.actions.approve_spec",
    ]
    assert changes[1]["data"]["value"] == {"type": "xadk", "agent_id": "spec-writer"}
    assert all(e["actor"] == "tester" for e in changes)

    # the same setting again changes nothing and records nothing
    raw = config_path(project).read_bytes()
    again = agent(sdlc, "set-action", "create_spec", "xadk", "--agent-id", "spec-writer")
    assert again["changed"] is False and again["key"] is None
    assert config_path(project).read_bytes() == raw and len(events(project)) == first_event + 5
    assert sdlc.ok(
        "config", "agent", "set-action", "create_spec", "xadk", "--agent-id", "spec-writer"
    ).out == ("No change\n")

    removed = agent(sdlc, "reset", "create_spec")
    assert removed["changed"] is True and removed["key"] == "agents.actions.create_spec"
    assert "create_spec" not in read_config(project)["agents"]["actions"]
    assert agent(sdlc, "reset", "create_spec")["changed"] is False
    assert events(project)[-1]["data"] == {"key": "agents.actions.create_spec", "value": None}
    assert sdlc.ok("config", "agent", "reset").out == "Reset agents to the default (claude)\n"
    after = read_config(project)
    assert after["agents"] == {"default": {"type": "claude"}}
    assert {k: v for k, v in after.items() if k != "agents"} == others
    assert agent(sdlc, "reset")["changed"] is False


def test_backend_aliases_are_written_in_our_shape(project: Path, sdlc: InProcess) -> None:
    result = agent(sdlc, "set-default", "claude_agent_sdk", "--model", "claude-sonnet")
    assert result["default"] == {"type": "claude", "model": "claude-sonnet"}
    assert read_config(project)["agents"]["default"] == {"type": "claude", "model": "claude-sonnet"}
    assert sdlc.ok("config", "agent", "set-default", "opencode").out == "agents.default = opencode\n"


@pytest.mark.parametrize("action", sorted(HUMAN_ACTIONS))
def test_human_actions_are_never_routed_to_an_agent(project: Path, sdlc: InProcess, action: str) -> None:
    raw = config_path(project).read_bytes()
    refused = sdlc("config", "agent", "set-action", action, "claude", json_mode=True)
    assert refused.code == 1
    assert_schema(ERROR, refused.data)
    error = refused.data["error"]
    assert error["code"] == "config_invalid"
    assert f"'{action}' is a human action and cannot be routed to an agent (claude)" in error["message"]
    assert config_path(project).read_bytes() == raw


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["set-action", "frobnicate", "claude"],
            "invalid_value",
            "unknown action 'frobnicate' (known: create_spec,",
        ),
        (
            ["set-action", "advance", "claude"],
            "invalid_value",
            "'advance' is not run by a backend (routable:",
        ),
        (["reset", "frobnicate"], "invalid_value", "unknown action 'frobnicate'"),
        (["set-default", "robot"], "invalid_value", "unknown backend type 'robot'"),
        (["set-action", "create_spec", "robot"], "invalid_value", "unknown backend type 'robot'"),
        (["set-default", "shell"], "usage_error", "missing required argument: --command"),
        (["set-action", "create_spec", "xadk"], "usage_error", "missing required argument: --agent-id"),
        (["set-default", "claude", "--timeout-minutes", "0"], "invalid_value", "invalid value"),
    ],
)
def test_bad_routing_commands_are_refused(
    project: Path, sdlc: InProcess, args: list[str], code: str, message: str
) -> None:
    raw = config_path(project).read_bytes()
    refused = sdlc("config", "agent", *args, json_mode=True)
    assert refused.code == 2, refused
    assert_schema(ERROR, refused.data)
    assert refused.data["error"]["code"] == code
    assert message in refused.data["error"]["message"] + (refused.data["error"]["hint"] or "")
    if "robot" in args:
        assert refused.data["error"]["hint"] == "backend types: claude, opencode, codex, xadk, shell, human"
    assert config_path(project).read_bytes() == raw


def test_a_broken_routing_entry_blocks_other_changes_until_fixed(project: Path, sdlc: InProcess) -> None:
    data = read_config(project)
    data["agents"]["actions"] = {"create_design": {"type": "claude", "modle": "x"}}
    write_config(project, data)
    raw = config_path(project).read_bytes()
    refused = sdlc("config", "agent", "set-action", "create_spec", "codex", json_mode=True)
    assert refused.code == 1 and "agents.actions.create_design.modle" in refused.data["error"]["message"]
    assert config_path(project).read_bytes() == raw
    fixed = agent(sdlc, "set-action", "create_design", "claude", "--model", "x")
    assert fixed["actions"] == {"create_design": {"type": "claude", "model": "x"}}


def test_comments_are_not_kept_but_every_value_is(project: Path, sdlc: InProcess) -> None:
    shutil.copyfile(REFERENCE_CONFIG, config_path(project))
    path = config_path(project)
    path.write_text("# my notes\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    before = read_config(project)
    agent(sdlc, "set-action", "run_qa", "opencode")
    after = read_config(project)
    assert "# my notes" not in path.read_text(encoding="utf-8")  # documented: comments do not survive
    before["agents"]["actions"]["run_qa"] = {"type": "opencode"}
    assert after == before
    assert validate(sdlc)["valid"] is True


# -- lock -----------------------------------------------------------------------------------------


def test_a_change_waits_for_the_lock_and_gives_up_cleanly(
    project: Path, sdlc: InProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from filelock import FileLock; lock = FileLock(sys.argv[1]); lock.acquire();"
            " print('held', flush=True); sys.stdin.read()",
            str(project / ".sdlc" / ".lock"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        raw = config_path(project).read_bytes()
        monkeypatch.setenv("SDLC_LOCK_TIMEOUT", "0.2")
        refused = sdlc("config", "agent", "set-default", "codex", json_mode=True)
        assert refused.code == 1 and refused.data["error"]["code"] == "lock_timeout"
        assert config_path(project).read_bytes() == raw
    finally:
        holder.communicate("", timeout=10)


def test_parallel_changes_are_never_lost(project: Path) -> None:
    actions = ["create_spec", "create_design", "create_tasks", "create_qa_plan", "create_review", "run_qa"]
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sdlc",
                "config",
                "agent",
                "set-action",
                action,
                "codex",
                "--model",
                action,
            ],
            cwd=project,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for action in actions
    ]
    deadline = time.monotonic() + 60
    for process in processes:
        _, err = process.communicate(timeout=max(1.0, deadline - time.monotonic()))
        assert process.returncode == 0, err
    routed = read_config(project)["agents"]["actions"]
    assert routed == {a: {"type": "codex", "model": a} for a in actions}
    changes = [e for e in events(project) if e["type"] == "config.changed"]
    assert sorted(e["data"]["key"] for e in changes) == sorted(f"agents.actions.{a}" for a in actions)
    ids = [e["id"] for e in events(project)]
    assert ids == list(range(1, len(ids) + 1))


def test_config_commands_as_a_process(project: Path) -> None:
    done = run_process(["config", "agent", "set-action", "approve_merge", "codex"], project)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("error: refused: 'approve_merge' is a human action")
    done = run_process(["--json", "config", "validate"], project)
    assert done.returncode == 0 and json.loads(done.stdout) == {"valid": True, "problems": []}


def test_a_routing_change_reaches_the_callback_receiver(project: Path) -> None:
    """config.changed is an event like any other: the mutation starts the detached delivery."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.extend(json.loads(self.rfile.read(int(self.headers["Content-Length"])))["events"])
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/api/events"
        env = {"RDEV_CALLBACK_URL": url, "RDEV_CALLBACK_TOKEN": "key"}
        done = run_process(["config", "agent", "set-action", "run_qa", "codex"], project, env=env)
        assert done.returncode == 0, done.stderr
        deadline = time.monotonic() + 30
        while not any(e["type"] == "config.changed" for e in list(received)):
            assert time.monotonic() < deadline, f"no config.changed event delivered: {received}"
            time.sleep(0.05)
        [event] = [e for e in received if e["type"] == "config.changed"]
        assert event["data"] == {"key": "agents.actions.run_qa", "value": {"type": "codex"}}
    finally:
        server.shutdown()
        server.server_close()
