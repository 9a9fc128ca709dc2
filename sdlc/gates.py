"""Gates (spec/sdlc.md §6 `gates`, §9): the checks run after an action. A shell gate runs
`sh -c COMMAND` in the project root, retried up to `max_retries` times, each attempt bounded
by `timeout_seconds` (the whole process group is killed); a human gate waits until someone
records a pass with `sdlc gate pass`.

Every gate of a step is evaluated in the configured order: once a shell gate fails, the
shell gates after it are skipped; a human gate without a pass is `pending` and does not stop
the others. The step is `gate_failed` when a shell gate failed, else `waiting_human` when a
human gate is pending, else `ok`."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sdlc.backends import run_process
from sdlc.config import Config
from sdlc.errors import ConfigInvalid, InvalidValue
from sdlc.lifecycle import ACTIONS

GATE_FIELDS = ("name", "type", "command", "prompt", "max_retries", "timeout_seconds", "questions")
PASSED, FAILED, TIMED_OUT, PENDING, SKIPPED = "passed", "failed", "timed_out", "pending", "skipped"
STEP_OK, STEP_GATE_FAILED, STEP_WAITING = "ok", "gate_failed", "waiting_human"


@dataclass(frozen=True)
class Gate:
    """One configured gate, checked."""

    action: str
    name: str
    type: str  # shell | human
    command: str | None
    prompt: str | None
    max_retries: int
    timeout_seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "name": self.name,
            "type": self.type,
            "command": self.command,
            "prompt": self.prompt,
            "max_retries": self.max_retries,
            "timeout_seconds": self.timeout_seconds,
        }


def _gate(action: str, index: int, entry: dict[str, Any]) -> Gate:
    path = f"gates.{action}[{index}]"
    unknown = sorted(set(entry) - set(GATE_FIELDS))
    if unknown:
        raise ConfigInvalid(
            f"invalid config: unknown key {path}.{unknown[0]} (known: {', '.join(GATE_FIELDS)})"
        )
    name, command, prompt = entry.get("name"), entry.get("command"), entry.get("prompt")
    if not isinstance(name, str) or not name:
        raise ConfigInvalid(f"invalid config: {path}.name must be a non-empty string")
    if entry["type"] == "shell" and (not isinstance(command, str) or not command.strip()):
        raise ConfigInvalid(f"invalid config: {path}.command is required for a shell gate")
    if prompt is not None and not isinstance(prompt, str):
        raise ConfigInvalid(f"invalid config: {path}.prompt must be a string")
    questions = entry.get("questions")  # the reference's step_back gate: its questions ask the human
    if prompt is None and isinstance(questions, list):
        prompt = "\n".join(str(q) for q in questions) or None
    retries, timeout = entry["max_retries"], entry["timeout_seconds"]
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ConfigInvalid(f"invalid config: {path}.max_retries must be a whole number >= 0")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise ConfigInvalid(f"invalid config: {path}.timeout_seconds must be a number > 0")
    return Gate(action, name, entry["type"], command, prompt, retries, float(timeout))


def check_action(action: str) -> str:
    if action not in ACTIONS:
        raise InvalidValue(f"invalid value: unknown action '{action}'", hint="actions: " + ", ".join(ACTIONS))
    return action


def gates_for(config: Config, action: str) -> list[Gate]:
    """The gates configured for `action`, in order."""
    return [_gate(action, i, entry) for i, entry in enumerate(config.gates.get(action, []))]


def all_gates(config: Config, action: str | None = None) -> list[Gate]:
    """Every configured gate (of `action` when given), by action then order."""
    actions = [check_action(action)] if action else list(config.gates)
    return [gate for name in actions for gate in gates_for(config, name)]


def _result(gate: Gate, status: str, **fields: Any) -> dict[str, Any]:
    result: dict[str, Any] = {
        "name": gate.name,
        "type": gate.type,
        "status": status,
        "command": gate.command,
        "prompt": gate.prompt,
        "attempts": 0,
        "exit_code": None,
        "duration_ms": 0,
        "output_tail": "",
        "passed_by": None,
        "passed_at": None,
    }
    result.update(fields)
    return result


def run_shell_gate(gate: Gate, root: Path) -> dict[str, Any]:
    """Run a shell gate until it passes or its retries are spent; the last attempt's output."""
    env = {**os.environ, "SDLC_ROOT": str(root)}
    total = 0
    for attempt in range(1, gate.max_retries + 2):
        outcome = run_process(
            ["sh", "-c", str(gate.command)], cwd=root, env=env, timeout=gate.timeout_seconds
        )
        total += outcome.duration_ms
        passed = outcome.exit_code == 0 and not outcome.timed_out
        if passed or attempt == gate.max_retries + 1:
            status = PASSED if passed else TIMED_OUT if outcome.timed_out else FAILED
            return _result(
                gate,
                status,
                attempts=attempt,
                exit_code=outcome.exit_code,
                duration_ms=total,
                output_tail=outcome.output_tail,
            )
    raise AssertionError("unreachable: the last attempt returns")


def evaluate(
    gates: list[Gate],
    root: Path,
    passes: dict[str, dict[str, Any]],
    progress: Callable[[str], None] | None = None,
) -> tuple[list[dict[str, Any]], str]:
    """Results of `gates` and the step status they give. `passes` maps a human gate's name to
    its recorded pass ({passed_by, passed_at}) for this step."""
    results: list[dict[str, Any]] = []
    failed = False
    for gate in gates:
        if gate.type == "human":
            recorded = passes.get(gate.name)
            if recorded:
                results.append(_result(gate, PASSED, **recorded))
            else:
                results.append(_result(gate, PENDING))
        elif failed:
            results.append(_result(gate, SKIPPED))
        else:
            if progress:
                progress(f"gate {gate.name}: sh -c {gate.command!r}")
            results.append(run_shell_gate(gate, root))
            failed = results[-1]["status"] != PASSED
    return results, step_status(results)


def step_status(results: list[dict[str, Any]]) -> str:
    statuses = {r["status"] for r in results}
    if statuses & {FAILED, TIMED_OUT}:
        return STEP_GATE_FAILED
    if PENDING in statuses:
        return STEP_WAITING
    return STEP_OK


def human_passes(results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The passes recorded in a step's gate results, by gate name."""
    return {
        r["name"]: {"passed_by": r["passed_by"], "passed_at": r["passed_at"]}
        for r in results
        if r["type"] == "human" and r["status"] == PASSED
    }
