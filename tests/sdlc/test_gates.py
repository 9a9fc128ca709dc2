"""Gates (spec/sdlc.md §9): shell gates with retries and a timeout that kills the whole
process group, output tails cut on a character boundary, human gates that stop with exit 3
until `sdlc gate pass` (never by an agent), and `sdlc gate list|run|pass`."""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import InProcess, assert_schema
from fake_agents import install, read_log, wait_until_gone
from sdlc import yamlio


def set_gates(root: Path, gates: dict[str, list[dict[str, Any]]]) -> None:
    path = root / ".sdlc" / "config.yaml"
    data = yamlio.loads(path.read_bytes())
    data["gates"] = gates
    path.write_text(yamlio.dumps(data), encoding="utf-8")


def gate_run(sdlc: InProcess, *args: str) -> tuple[int, dict[str, Any]]:
    result = sdlc("gate", "run", *args, json_mode=True)
    data = result.data
    assert_schema("sdlc gate run SLUG", data)
    assert data["exit_code"] == result.code, (result.code, data)
    return result.code, data


@pytest.fixture
def login(sdlc: InProcess) -> str:
    sdlc.ok("feature", "create", "login")
    return "login"


# -- gate list ---------------------------------------------------------------------------------------


def test_gate_list_shows_configured_gates_in_our_shape_and_the_reference_shape(
    project: Path, sdlc: InProcess
) -> None:
    assert sdlc.json("gate", "list") == [] and sdlc("gate", "list").out.strip() == "No gates configured"
    reference = {"name": "think", "gate_type": {"type": "step_back", "questions": ["Why?", "Why not?"]}}
    set_gates(
        project,
        {
            "create_spec": [{"name": "lint", "type": "shell", "command": "make lint", "max_retries": 2}],
            "run_qa": [{**reference, "auto": True}],
        },
    )
    rows = sdlc.json("gate", "list")
    assert_schema("sdlc gate list [ACTION]", rows)
    assert [(r["action"], r["name"], r["type"]) for r in rows] == [
        ("create_spec", "lint", "shell"),
        ("run_qa", "think", "human"),
    ]
    assert (rows[0]["max_retries"], rows[0]["timeout_seconds"]) == (2, 60)
    assert rows[1]["prompt"] == "Why?\nWhy not?"
    assert [r["name"] for r in sdlc.json("gate", "list", "run_qa")] == ["think"]
    assert "make lint" in sdlc("gate", "list").out
    bad = sdlc("gate", "list", "bogus", json_mode=True)
    assert bad.code == 2 and bad.data["error"]["code"] == "invalid_value"


def test_a_misspelt_gate_key_is_a_config_error(project: Path, sdlc: InProcess) -> None:
    set_gates(project, {"create_spec": [{"name": "x", "type": "shell", "comand": "true"}]})
    result = sdlc("gate", "list", json_mode=True)
    assert result.code == 1 and result.data["error"]["code"] == "config_invalid"
    assert "gates.create_spec[0]" in result.data["error"]["message"]


# -- shell gates -------------------------------------------------------------------------------------

COUNTER = 'n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; echo "attempt $n"; [ $n -ge 3 ]'


def test_shell_gate_is_retried_until_it_passes(project: Path, sdlc: InProcess, login: str) -> None:
    set_gates(
        project, {"create_spec": [{"name": "flaky", "type": "shell", "command": COUNTER, "max_retries": 2}]}
    )
    code, data = gate_run(sdlc, login)  # the current action is create_spec
    assert (code, data["status"]) == (0, "ok")
    (gate,) = data["steps"][0]["gates"]
    assert (gate["status"], gate["attempts"], gate["exit_code"]) == ("passed", 3, 0)
    assert gate["output_tail"] == "attempt 3\n" and (project / "count").read_text() == "3\n"
    assert data["steps"][0]["kind"] == "gate"
    (record,) = [json.loads(p.read_text()) for p in (project / ".sdlc" / "runs").glob("*.json")]
    assert record == data["steps"][0]


def test_shell_gate_fails_with_exit_4_when_its_retries_are_spent(
    project: Path, sdlc: InProcess, login: str
) -> None:
    gates = [
        {"name": "flaky", "type": "shell", "command": COUNTER, "max_retries": 1},
        {"name": "after", "type": "shell", "command": "touch after"},
    ]
    set_gates(project, {"create_spec": gates})
    code, data = gate_run(sdlc, login, "--action", "create_spec")
    assert (code, data["status"]) == (4, "gate_failed")
    flaky, after = data["steps"][0]["gates"]
    assert (flaky["status"], flaky["attempts"], flaky["exit_code"]) == ("failed", 2, 1)
    assert after["status"] == "skipped" and not (project / "after").exists()
    (project / "count").unlink()
    text = sdlc("gate", "run", login)
    assert text.code == 4 and "gate flaky (shell): failed after 2 attempt(s)" in text.out


def test_gate_timeout_kills_a_sleeping_grandchild(project: Path, sdlc: InProcess, login: str) -> None:
    command = "echo $$ > gate.pgid; sh -c 'sleep 300 & sleep 300'"
    set_gates(
        project,
        {"create_spec": [{"name": "slow", "type": "shell", "command": command, "timeout_seconds": 3}]},
    )
    started = time.monotonic()
    code, data = gate_run(sdlc, login)
    assert time.monotonic() - started < 30
    assert (code, data["status"]) == (4, "gate_failed")
    (gate,) = data["steps"][0]["gates"]
    assert (gate["status"], gate["attempts"]) == ("timed_out", 1)
    group = int((project / "gate.pgid").read_text())
    assert wait_until_gone(group) == []  # sh, the inner sh and both sleeps


def test_gate_output_tail_is_cut_on_a_character_boundary(project: Path, sdlc: InProcess, login: str) -> None:
    (project / "emit.py").write_text("import sys\nsys.stdout.write('é' * 8000 + '\\n')\n", encoding="utf-8")
    command = f"{shlex.quote(sys.executable)} emit.py"
    set_gates(project, {"create_spec": [{"name": "loud", "type": "shell", "command": command}]})
    code, data = gate_run(sdlc, login)
    assert code == 0
    tail = data["steps"][0]["gates"][0]["output_tail"]
    # 16001 bytes of output; the last 10240 begin in the middle of an "é": that byte is dropped
    assert tail == "é" * 5119 + "\n" and len(tail.encode()) == 10239


def test_gate_run_without_gates_succeeds(sdlc: InProcess, login: str) -> None:
    code, data = gate_run(sdlc, login)
    assert (code, data["steps"]) == (0, []) and "no gates configured for create_spec" in data["message"]


# -- human gates -------------------------------------------------------------------------------------


def test_human_gate_waits_until_a_human_passes_it(
    project: Path, sdlc: InProcess, login: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_gates(project, {"create_spec": [{"name": "signoff", "type": "human", "prompt": "Read it"}]})
    code, data = gate_run(sdlc, login)
    assert (code, data["status"]) == (3, "human")
    assert [g["name"] for g in data["pending_gates"]] == ["signoff"] and "Read it" in data["message"]
    assert data["next_command"] == "sdlc gate pass login signoff --by WHO"

    monkeypatch.setenv("SDLC_AGENT", "1")
    refused = sdlc("gate", "pass", login, "signoff", "--by", "bot", json_mode=True)
    assert refused.code == 1 and refused.data["error"]["code"] == "agent_forbidden"
    monkeypatch.delenv("SDLC_AGENT")

    passed = sdlc.json("gate", "pass", login, "signoff", "--by", "bob")
    assert_schema("sdlc gate pass SLUG GATE --by WHO", passed)
    assert (passed["changed"], passed["passed_by"], passed["step_status"]) == (True, "bob", "ok")
    again = sdlc.json("gate", "pass", login, "signoff", "--by", "bob")
    assert again["changed"] is False and again["passed_at"] == passed["passed_at"]
    code, data = gate_run(sdlc, login)  # the same step: the pass counts
    assert (code, data["status"]) == (0, "ok")
    assert data["steps"][0]["gates"][0]["passed_by"] == "bob"
    history = [e["type"] for e in sdlc.json("history", "--for", login)]
    assert history.count("gate.passed") == 1 and history.count("gate.run") == 2


def test_human_gate_stops_sdlc_run_until_passed(
    project: Path, sdlc: InProcess, login: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(tmp_path / "bin", "claude")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    log = tmp_path / "agent.jsonl"
    monkeypatch.setenv("FAKE_AGENT_LOG", str(log))
    gates = [{"name": "check", "type": "shell", "command": "test -f .sdlc/features/login/spec.md"}]
    gates.append({"name": "signoff", "type": "human", "prompt": "Is the spec sane?"})
    set_gates(project, {"create_spec": gates})

    first = sdlc("run", login, "--loop", json_mode=True)
    assert_schema("sdlc run SLUG", first.data)
    assert (first.code, first.data["status"]) == (3, "human")
    (step,) = first.data["steps"]
    assert step["status"] == "waiting_human"
    assert [g["status"] for g in step["gates"]] == ["passed", "pending"]
    again = sdlc("run", login, "--loop")  # still waiting: the agent is not called again
    assert again.code == 3 and "sdlc gate pass login signoff --by WHO" in again.out
    assert "Is the spec sane?" in again.out and len(read_log(log)) == 1

    sdlc.ok("gate", "pass", login, "signoff", "--by", "bob")
    after = sdlc("run", login, "--loop", json_mode=True)
    assert (after.code, after.data["classification"]["action"]) == (3, "approve_spec")
    assert after.data["next_command"] == "sdlc artifact approve login spec" and len(read_log(log)) == 1


def test_gate_pass_needs_a_configured_gate_and_a_waiting_step(
    project: Path, sdlc: InProcess, login: str
) -> None:
    unknown = sdlc("gate", "pass", login, "nope", "--by", "bob", json_mode=True)
    assert unknown.code == 2 and unknown.data["error"]["code"] == "invalid_value"
    set_gates(project, {"create_spec": [{"name": "signoff", "type": "human"}]})
    early = sdlc("gate", "pass", login, "signoff", "--by", "bob", json_mode=True)
    assert early.code == 1 and early.data["error"]["code"] == "invalid_transition"
    missing = sdlc("gate", "pass", "ghost", "signoff", "--by", "bob", json_mode=True)
    assert missing.data["error"]["code"] == "feature_not_found"
    no_by = sdlc("gate", "pass", login, "signoff", json_mode=True)
    assert no_by.code == 2
    assert not (project / ".sdlc" / "runs").exists()
