"""A fake Claude Code for the executor tests: `claude -p PROMPT --output-format stream-json ...`.

It prints Claude Code's stream-json shapes (system/init, assistant, user, result), reads the
classification JSON from the prompt, writes what the action asks for and records it with real
`sdlc` commands, as the skeleton commands tell an agent to. Every invocation appends one JSON
line to $FAKE_AGENT_LOG. $FAKE_AGENT_MODE: `work` (default), `fail` (an error result, exit 1),
`sleep` (starts a grandchild `sleep 300`, then sleeps: for the timeout test).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

LENSES = ("product_fit", "research_grounding", "implementation")
SESSION = "fake-session"
WRITES = {
    "create_spec",
    "create_design",
    "create_tasks",
    "create_qa_plan",
    "create_review",
    "create_audit",
    "run_qa",
}


def emit(event: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def log(entry: dict[str, Any]) -> None:
    if not os.environ.get("FAKE_AGENT_LOG"):  # e.g. under the rdev API's allowlisted environment
        return
    with open(os.environ["FAKE_AGENT_LOG"], "a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry) + "\n")


def sdlc(*args: str, allow_failure: bool = False) -> dict[str, Any]:
    """Run a real `sdlc` command (JSON mode); a failure ends the fake with exit 3."""
    done = subprocess.run(
        [sys.executable, "-m", "sdlc", "--json", *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0 and not allow_failure:
        emit({"type": "result", "subtype": "error", "is_error": True, "result": done.stdout + done.stderr})
        sys.exit(3)
    data = json.loads(done.stdout) if done.stdout.strip() else None
    return {"code": done.returncode, "data": data}


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def work(root: Path, c: dict[str, Any], entry: dict[str, Any]) -> None:
    """Do what the action asks, as its skeleton command says."""
    slug, action, artifact = c["feature"], c["action"], c["artifact"]
    if action == "implement_task":
        write(root, f"src/{c['task_id']}.txt", f"code for {c['task_id']}\n")
        sdlc("task", "complete", slug, c["task_id"])
        return
    if action == "merge":
        sdlc("merge", slug)
        return
    if action not in WRITES:
        raise SystemExit(f"fake claude does not know action {action}")
    write(root, c["output_path"], f"# {artifact} of {slug}\n\nWritten by the fake agent.\n")
    if action == "create_tasks":
        sdlc("task", "add", slug, "Build", "it")
        sdlc("task", "add", slug, "Test", "it")
        sdlc("task", "edit", slug, "T2", "--depends", "T1")
    if action == "create_review":
        for lens in LENSES:
            sdlc("score", "set", slug, "--lens", lens, "--value", "90", "--evaluator", "fake-claude")
    sdlc("artifact", "draft", slug, artifact)
    # An agent must not approve its own work: sdlc refuses it under SDLC_AGENT=1.
    attempt = sdlc("artifact", "approve", slug, artifact, allow_failure=True)
    entry["self_approve"] = {"code": attempt["code"], "error": (attempt["data"] or {}).get("error")}


def main() -> int:
    args = sys.argv[1:]
    prompt = args[args.index("-p") + 1]
    blocks = re.findall(r"```json\n(.*?)\n```", prompt, re.S)
    if not blocks:  # a free-form prompt (`rdev agent P "..."`): answer it, touch nothing
        return chat(prompt)
    c = json.loads(blocks[-1])
    root = Path(os.environ.get("SDLC_ROOT") or os.getcwd())
    entry: dict[str, Any] = {
        "action": c["action"],
        "feature": c["feature"],
        "task_id": c["task_id"],
        "options": [a for a in args if a != prompt],
        "cwd": os.getcwd(),
        "agent": os.environ.get("SDLC_AGENT"),
        "actor": os.environ.get("SDLC_ACTOR"),
        "pid": os.getpid(),
        "pgid": os.getpgid(0),
        "vision": "## VISION.md" in prompt,
    }
    init = {
        "type": "system",
        "subtype": "init",
        "session_id": SESSION,
        "model": "fake-model",
        "tools": ["Read"],
    }
    emit(init)
    sys.stdout.write("a line that is not JSON\n")
    mode = os.environ.get("FAKE_AGENT_MODE", "work")
    if mode == "sleep":
        child = subprocess.Popen(["sleep", "300"])
        entry["grandchild"] = child.pid
        log(entry)
        time.sleep(300)
        return 0
    if mode == "fail":
        log(entry)
        emit({"type": "result", "subtype": "error_during_execution", "is_error": True, "result": "it broke"})
        return 1
    emit({"type": "assistant", "message": {"content": [{"type": "text", "text": f"Doing {c['action']}"}]}})
    work(root, c, entry)
    emit({"type": "user", "message": {"content": [{"type": "tool_result", "content": "ok"}]}})
    log(entry)
    emit(
        {
            "type": "result",
            "subtype": "success",
            "is_error": False,
            "result": f"{c['action']} done",
            "duration_ms": 12,
            "num_turns": 3,
            "session_id": SESSION,
            "total_cost_usd": 0.01,
            "usage": {"input_tokens": 1, "output_tokens": 2},
        }
    )
    return 0


def chat(prompt: str) -> int:
    emit({"type": "system", "subtype": "init", "session_id": SESSION, "model": "fake-model", "tools": []})
    emit({"type": "assistant", "message": {"content": [{"type": "text", "text": f"You asked: {prompt}"}]}})
    emit(
        {
            "type": "result",
            "subtype": "success",
            "is_error": False,
            "result": "answered",
            "session_id": SESSION,
        }
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
