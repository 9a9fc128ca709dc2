"""`sdlc run` (spec/sdlc.md §9): a fake Claude Code on PATH does the agent's work with real
`sdlc` commands while a human approves between steps; timeouts kill the agent's whole
process group; --dry-run changes nothing; --max-steps stops a loop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import InProcess, assert_schema, run_process, tree_snapshot, write_artifact
from fake_agents import install, read_log, wait_until_gone
from sdlc import yamlio
from sdlc.agents import Backend, parse_agents
from sdlc.backends import StreamJson, invocation, tail_text
from sdlc.errors import ConfigInvalid

AGENT_STEPS = [
    ("create_spec", None),
    ("create_design", None),
    ("create_tasks", None),
    ("create_qa_plan", None),
    ("implement_task", "T1"),
    ("implement_task", "T2"),
    ("create_review", None),
    ("create_audit", None),
    ("run_qa", None),
    ("merge", None),
]
CLAUDE_OPTIONS = ["--output-format", "stream-json", "--verbose", "--permission-mode", "acceptEdits"]
CLAUDE_OPTIONS += ["--allowedTools", "Read,Write,Edit,Bash,Glob,Grep"]


@pytest.fixture
def agent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fake `claude` first on PATH; returns the log it appends one line to per invocation."""
    bin_dir = tmp_path / "bin"
    install(bin_dir, "claude")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    log = tmp_path / "agent.jsonl"
    monkeypatch.setenv("FAKE_AGENT_LOG", str(log))
    return log


def edit_config(root: Path, **sections: Any) -> None:
    path = root / ".sdlc" / "config.yaml"
    data = yamlio.loads(path.read_bytes())
    data.update(sections)
    path.write_text(yamlio.dumps(data), encoding="utf-8")


def records(root: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted((root / ".sdlc" / "runs").glob("*.json"))]


def run_json(sdlc: InProcess, *args: str) -> tuple[int, dict[str, Any]]:
    result = sdlc("run", *args, json_mode=True)
    data = result.data
    assert_schema("sdlc run SLUG", data)
    assert data["exit_code"] == result.code, (result.code, data)
    return result.code, data


# -- (1) the whole lifecycle, agent and human taking turns -----------------------------------------


def test_loop_takes_a_feature_to_released_with_a_human_approving_between_steps(
    project: Path, sdlc: InProcess, agent: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SDLC_ACTOR")  # the agent is then named after its backend
    (project / "VISION.md").write_text("Logging in must take one step.\n")
    sdlc.ok("feature", "create", "login")
    approved = []
    for _ in range(len(AGENT_STEPS) + 8):
        code, data = run_json(sdlc, "login", "--loop")
        if data["status"] == "done":
            break
        assert (code, data["status"]) == (3, "human"), data
        c = data["classification"]
        assert c["action"].startswith("approve_") and data["next_command"] == c["next_command"], c
        approved.append(c["artifact"])
        sdlc.ok("artifact", "approve", "login", c["artifact"], "--by", "alice")
    assert code == 0 and data["classification"]["action"] == "done"
    assert approved == ["spec", "design", "tasks", "qa_plan", "review", "audit", "qa_results"]

    log = read_log(agent)
    assert [(e["action"], e["task_id"]) for e in log] == AGENT_STEPS
    for entry in log:
        assert (entry["agent"], entry["actor"], entry["cwd"]) == ("1", "agent:claude", str(project))
        assert entry["options"] == ["-p", *CLAUDE_OPTIONS] and entry["vision"] is True
        assert entry["pgid"] == entry["pid"]  # its own process group
    feature = sdlc.json("feature", "show", "login")
    assert feature["phase"] == "released"
    assert [t["status"] for t in feature["tasks"]] == ["completed", "completed"]
    for artifact in feature["artifacts"]:
        assert (artifact["status"], artifact["approved_by"]) == ("approved", "alice"), artifact
        assert artifact["drafted_by"] == "agent:claude"
    assert {s["lens"] for s in feature["scores"]} == {"product_fit", "research_grounding", "implementation"}
    assert (project / "src" / "T2.txt").is_file()

    steps = records(project)
    assert [(s["action"], s["task_id"]) for s in steps] == AGENT_STEPS
    for step in steps:
        assert step["status"] == "ok" and step["exit_code"] == 0 and step["kind"] == "run"
        assert step["argv"] == ["claude", "-p", "<prompt>", *CLAUDE_OPTIONS]
        assert step["result"]["session_id"] == "fake-session" and step["result"]["is_error"] is False
        assert step["result"]["model"] == "fake-model"
        assert "a line that is not JSON" in step["output_tail"]
    assert (steps[0]["phase_before"], steps[-1]["phase_after"]) == ("draft", "released")
    events = [e["type"] for e in sdlc.json("history", "--for", "login", "--limit", "500")]
    assert events.count("run.started") == events.count("run.finished") == len(AGENT_STEPS)


# -- (2) no self-approval ----------------------------------------------------------------------------


def test_the_agent_cannot_approve_its_own_artifact(project: Path, sdlc: InProcess, agent: Path) -> None:
    sdlc.ok("feature", "create", "login")
    code, data = run_json(sdlc, "login")
    assert (code, data["status"]) == (0, "ok")
    assert data["classification"]["action"] == "approve_spec"  # what comes next: a human
    (entry,) = read_log(agent)
    assert entry["self_approve"]["code"] == 1
    assert entry["self_approve"]["error"]["code"] == "agent_forbidden"
    spec = sdlc.json("artifact", "status", "login")[0]
    assert (spec["artifact_type"], spec["status"]) == ("spec", "draft")


# -- (3) human actions never go to an agent -------------------------------------------------------


def test_a_config_routing_a_human_action_to_an_agent_is_refused() -> None:
    with pytest.raises(ConfigInvalid, match=r"approve_spec.*human action"):
        parse_agents({"actions": {"approve_spec": {"type": "claude"}}})


def test_run_prints_the_human_instruction_even_if_the_config_routes_it_to_an_agent(
    project: Path, sdlc: InProcess, agent: Path
) -> None:
    sdlc.ok("feature", "create", "login")
    write_artifact(project, "login", "spec.md", "# spec\n")
    sdlc.ok("artifact", "draft", "login", "spec")
    edit_config(
        project, agents={"default": {"type": "claude"}, "actions": {"approve_spec": {"type": "claude"}}}
    )
    text = sdlc("run", "login", "--loop")
    assert text.code == 3, text
    assert "awaiting approval" in text.out and "next: sdlc artifact approve login spec" in text.out
    code, data = run_json(sdlc, "login", "--loop")
    assert (code, data["status"], data["steps"]) == (3, "human", [])
    assert read_log(agent) == [] and not (project / ".sdlc" / "runs").exists()


def test_an_agent_action_routed_to_a_human_is_left_to_the_human(
    project: Path, sdlc: InProcess, agent: Path
) -> None:
    sdlc.ok("feature", "create", "login")
    edit_config(project, agents={"actions": {"create_spec": {"type": "human"}}})
    code, data = run_json(sdlc, "login")
    assert (code, data["status"]) == (3, "human")
    assert "routed to a human" in data["message"] and data["next_command"] == "/sdlc-spec login"
    assert read_log(agent) == []


# -- (5) failures and timeouts -----------------------------------------------------------------------


def test_agent_timeout_kills_its_whole_process_group(
    project: Path, sdlc: InProcess, agent: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sdlc.ok("feature", "create", "login")
    monkeypatch.setenv("FAKE_AGENT_MODE", "sleep")
    monkeypatch.setenv("SDLC_RUN_TIMEOUT_SECONDS", "3")
    started = time.monotonic()
    code, data = run_json(sdlc, "login", "--loop")
    assert time.monotonic() - started < 30
    assert (code, data["status"]) == (5, "timed_out")
    (step,) = data["steps"]
    assert (step["status"], step["timeout_seconds"], step["gates"]) == ("timed_out", 3.0, [])
    assert step["exit_code"] is not None and step["exit_code"] < 0  # killed by a signal
    (entry,) = read_log(agent)
    assert wait_until_gone(entry["pgid"]) == []  # the agent and its grandchild `sleep 300`
    assert records(project)[0]["status"] == "timed_out"


def test_a_failing_agent_stops_with_exit_5_and_its_own_code_in_the_record(
    project: Path, sdlc: InProcess, agent: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sdlc.ok("feature", "create", "login")
    monkeypatch.setenv("FAKE_AGENT_MODE", "fail")
    code, data = run_json(sdlc, "login", "--loop")
    assert (code, data["status"]) == (5, "agent_failed")
    (step,) = records(project)
    assert (step["exit_code"], step["result"]["is_error"], step["result"]["result"]) == (1, True, "it broke")


def test_an_agent_that_cannot_start_is_a_failed_step(project: Path, sdlc: InProcess) -> None:
    sdlc.ok("feature", "create", "login")
    edit_config(project, agents={"default": {"type": "codex"}})
    code, data = run_json(sdlc, "login")
    assert (code, data["status"]) == (5, "agent_failed")
    assert data["steps"][0]["exit_code"] is None and "could not start codex" in data["message"]


def test_an_invalid_timeout_override_is_a_usage_error(
    project: Path, sdlc: InProcess, agent: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sdlc.ok("feature", "create", "login")
    monkeypatch.setenv("SDLC_RUN_TIMEOUT_SECONDS", "soon")
    result = sdlc("run", "login", json_mode=True)
    assert result.code == 2 and result.data["error"]["code"] == "invalid_value"
    assert read_log(agent) == []


# -- (6) --dry-run -----------------------------------------------------------------------------------


def test_dry_run_prints_the_command_and_gates_and_changes_no_file(
    project: Path, sdlc: InProcess, agent: Path
) -> None:
    sdlc.ok("feature", "create", "login")
    gates = [{"name": "lint", "type": "shell", "command": "make lint"}, {"name": "ok", "type": "human"}]
    edit_config(project, gates={"create_spec": gates})
    before = dict(tree_snapshot(project))
    code, data = run_json(sdlc, "login", "--dry-run", "--loop")
    assert (code, data["status"], data["steps"]) == (0, "dry_run", [])
    plan = data["plan"]
    assert plan["argv"] == ["claude", "-p", "<prompt>", *CLAUDE_OPTIONS]
    assert plan["command"].startswith("claude -p '<prompt>' --output-format stream-json")
    assert "# Write the specification" in plan["prompt"] and '"action": "create_spec"' in plan["prompt"]
    assert [g["name"] for g in plan["gates"]] == ["lint", "ok"] and plan["timeout_seconds"] == 600
    text = sdlc("run", "login", "--dry-run")
    assert text.code == 0 and "would run: claude -p '<prompt>'" in text.out
    assert "then gate lint (shell): make lint" in text.out
    process = run_process(["--json", "run", "login", "--dry-run"], project)  # the real entry point
    assert process.returncode == 0 and json.loads(process.stdout)["plan"]["argv"][0] == "claude"
    assert dict(tree_snapshot(project)) == before and read_log(agent) == []


def test_dry_run_of_a_human_action_says_so(project: Path, sdlc: InProcess) -> None:
    sdlc.ok("feature", "create", "login")
    write_artifact(project, "login", "spec.md")
    sdlc.ok("artifact", "draft", "login", "spec")
    before = dict(tree_snapshot(project))
    code, data = run_json(sdlc, "login", "--dry-run")
    assert (code, data["status"], data["plan"]) == (3, "human", None)
    assert dict(tree_snapshot(project)) == before


# -- (7) --max-steps, the shell backend, advance -----------------------------------------------------


def test_loop_stops_with_exit_6_at_max_steps(project: Path, sdlc: InProcess) -> None:
    """A shell backend that does nothing: the action stays create_spec, step after step."""
    command = 'printf "%s %s\\n" "$SDLC_AGENT" "$SDLC_ACTOR" >> env.log; cat >> prompts.log'
    edit_config(project, agents={"default": {"type": "shell", "command": command}})
    sdlc.ok("feature", "create", "login")
    code, data = run_json(sdlc, "login", "--loop", "--max-steps", "2")
    assert (code, data["status"], len(data["steps"])) == (6, "max_steps", 2)
    assert data["classification"]["action"] == "create_spec"
    step = data["steps"][0]
    assert step["argv"] == ["sh", "-c", command] and "stdin" in step["argv_note"]
    prompts = (project / "prompts.log").read_text()
    assert prompts.count("# Write the specification") == 2 and prompts.count('"action": "create_spec"') == 2
    assert (project / "env.log").read_text() == "1 tester\n1 tester\n"
    code, data = run_json(sdlc, "login")  # without --loop: one step
    assert (code, data["status"], len(data["steps"])) == (0, "ok", 1)


def test_advance_is_applied_without_an_agent(project: Path, sdlc: InProcess, agent: Path) -> None:
    edit_config(project, lifecycle={"auto_advance": False})
    sdlc.ok("feature", "create", "login")
    write_artifact(project, "login", "spec.md")
    sdlc.ok("artifact", "draft", "login", "spec")
    sdlc.ok("artifact", "approve", "login", "spec", "--by", "alice")
    code, data = run_json(sdlc, "login")
    assert (code, data["status"]) == (0, "ok")
    (step,) = data["steps"]
    assert (step["action"], step["backend"], step["phase_after"]) == ("advance", None, "specified")
    assert data["classification"]["action"] == "create_design" and read_log(agent) == []


def test_run_of_a_released_feature_is_done_and_writes_nothing(project: Path, sdlc: InProcess) -> None:
    sdlc.ok("feature", "create", "login")
    sdlc.ok("feature", "archive", "login")
    result = sdlc("run", "login")
    assert result.code == 0 and "archived" in result.out.lower()
    assert not (project / ".sdlc" / "runs").exists()
    assert sdlc("run", "nope", json_mode=True).data["error"]["code"] == "feature_not_found"


# -- backends: argv, stream-json, output tail --------------------------------------------------------


def test_argv_of_each_backend_type_with_overrides() -> None:
    claude = invocation(Backend("claude", model="opus", allowed_tools=("Read",), permission_mode="plan"), "P")
    assert claude.argv == [
        *["claude", "-p", "P", "--output-format", "stream-json", "--verbose"],
        *["--permission-mode", "plan", "--allowedTools", "Read", "--model", "opus"],
    ]
    assert invocation(Backend("opencode"), "P").argv == ["opencode", "run", "P"]
    assert invocation(Backend("codex", model="o3"), "P").argv == ["codex", "exec", "P", "--model", "o3"]
    xadk = invocation(Backend("xadk", agent_id="coder"), "P")
    assert (
        xadk.argv[1:] == ["-m", "xadk", "coder", "--prompt", "P"] and xadk.recorded_argv()[-1] == "<prompt>"
    )
    shell = invocation(Backend("shell", command="./agent.sh"), "P")
    assert (shell.argv, shell.stdin) == (["sh", "-c", "./agent.sh"], "P")


def test_stream_json_keeps_the_result_and_ignores_other_lines() -> None:
    stream = StreamJson()
    for line in ["garbage", "[1]", '{"type": "system", "subtype": "init", "session_id": "s", "model": "m"}']:
        stream.feed(line)
    assert stream.result_event() is None
    stream.feed('{"type": "result", "subtype": "success", "is_error": false, "result": "ok", "num_turns": 2}')
    event = stream.result_event()
    assert event is not None
    assert (event["session_id"], event["model"], event["num_turns"], event["is_error"]) == (
        "s",
        "m",
        2,
        False,
    )


def test_tail_text_starts_on_a_character_boundary() -> None:
    data = ("é" * 8000 + "\n").encode()  # 16001 bytes: the last 10240 start inside a character
    tail = tail_text(data)
    assert tail == "é" * 5119 + "\n" and data.endswith(tail.encode())
    assert tail_text(b"short") == "short"


def test_one_run_per_feature_at_a_time(project: Path, sdlc: InProcess) -> None:
    """A second `sdlc run` of a feature whose run is in progress is refused; other features
    and dry runs are not held up, and the feature is free again when the first run ends."""
    edit_config(
        project, agents={"default": {"type": "shell", "command": "touch started; sleep 3; cat > /dev/null"}}
    )
    sdlc.ok("feature", "create", "login")
    sdlc.ok("feature", "create", "signup")
    first = subprocess.Popen(
        [sys.executable, "-m", "sdlc", "run", "login"],
        cwd=project,
        env={**os.environ, "SDLC_ROOT": str(project)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not (project / "started").exists():
            assert first.poll() is None and time.monotonic() < deadline, (
                "the first run did not start its agent"
            )
            time.sleep(0.05)
        refused = sdlc("run", "login", json_mode=True)
        assert refused.code == 1 and refused.data["error"]["code"] == "run_in_progress"
        assert "already in progress" in refused.data["error"]["message"]
        assert_schema("sdlc ... (any error)", refused.data)
        assert sdlc("run", "login", "--dry-run", json_mode=True).code == 0
        (project / "started").unlink()
        assert run_json(sdlc, "signup")[0] == 0
    finally:
        assert first.wait(timeout=60) == 0
    assert run_json(sdlc, "login")[0] == 0


def test_ctrl_c_ends_the_agent_closes_the_step_and_exits_130(project: Path, sdlc: InProcess) -> None:
    edit_config(project, agents={"default": {"type": "shell", "command": "echo $$ > agent.pid; sleep 300"}})
    sdlc.ok("feature", "create", "login")
    run = subprocess.Popen(
        [sys.executable, "-m", "sdlc", "run", "login"],
        cwd=project,
        env={**os.environ, "SDLC_ROOT": str(project)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not (project / "agent.pid").exists() or not (project / "agent.pid").read_text().strip():
        assert run.poll() is None and time.monotonic() < deadline, "the agent did not start"
        time.sleep(0.05)
    run.send_signal(signal.SIGINT)
    assert run.wait(timeout=30) == 130
    group = int((project / "agent.pid").read_text())
    assert wait_until_gone(group) == []
    (step,) = records(project)
    assert step["status"] == "interrupted" and step["finished_at"] is not None
    events = [e["type"] for e in sdlc.json("history", "--for", "login")]
    assert events.count("run.started") == events.count("run.finished") == 1
    assert run_json(sdlc, "login", "--dry-run")[0] == 0  # the feature is free again
