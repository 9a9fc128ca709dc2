"""The executor behind `sdlc run` and `sdlc gate run|pass` (spec/sdlc.md §9).

A step classifies the feature (the same classification `sdlc next --for` prints) and acts on
it: `done` and human actions stop; `advance` is applied here; an agent action runs its
backend with the skeleton command's prompt, then the action's gates. Each step is recorded in
`.sdlc/runs/<id>.json` (ids sort by time) and as events `run.started` / `run.finished`. The
latest record of a feature is its *current step*: while one of its human gates is pending,
`sdlc run` stops there until `sdlc gate pass` records the pass on it.

Agent timeouts are the backend's `timeout_minutes`, else the action's; the environment
variable SDLC_RUN_TIMEOUT_SECONDS overrides both (sdlc.backends)."""

from __future__ import annotations

import contextlib
import json
import shlex
from collections.abc import Callable
from typing import Any

from sdlc.actor import is_agent
from sdlc.backends import (
    PROMPT_PLACEHOLDER,
    StreamJson,
    agent_environment,
    agent_timeout_seconds,
    invocation,
    run_process,
)
from sdlc.errors import (
    EXIT_AGENT_FAILED,
    EXIT_GATE_FAILED,
    EXIT_HUMAN,
    EXIT_MAX_STEPS,
    EXIT_OK,
    AgentForbidden,
    InvalidTransition,
    InvalidValue,
    SdlcError,
)
from sdlc.gates import (
    PASSED,
    PENDING,
    STEP_OK,
    STEP_WAITING,
    Gate,
    all_gates,
    check_action,
    evaluate,
    gates_for,
    human_passes,
    step_status,
)
from sdlc.lifecycle import ACTIONS, HUMAN_ACTIONS
from sdlc.model import now
from sdlc.names import check_slug
from sdlc.runs import feature_run_lock, latest_record, new_run_id, save_record
from sdlc.store import Store
from sdlc.transaction import Transaction

Progress = Callable[[str], None]
STEP_INTERRUPTED = "interrupted"  # Ctrl-C during the agent: the record is closed, the run exits 130
DEFAULT_MAX_STEPS = 50
EXIT_CODES = {
    "done": EXIT_OK,
    "ok": EXIT_OK,
    "dry_run": EXIT_OK,
    "human": EXIT_HUMAN,
    "waiting_human": EXIT_HUMAN,
    "gate_failed": EXIT_GATE_FAILED,
    "agent_failed": EXIT_AGENT_FAILED,
    "timed_out": EXIT_AGENT_FAILED,
    "max_steps": EXIT_MAX_STEPS,
}


def _new_record(
    kind: str, classification: dict[str, Any], action: str, task_id: str | None
) -> dict[str, Any]:
    return {
        "id": new_run_id(),
        "kind": kind,
        "feature": classification["feature"],
        "action": action,
        "task_id": task_id,
        "status": STEP_OK,
        "started_at": now(),
        "finished_at": None,
        "duration_ms": 0,
        "phase_before": classification["current_phase"],
        "phase_after": classification["current_phase"],
        "backend": None,
        "argv": None,
        "argv_note": None,
        "timeout_seconds": None,
        "exit_code": None,
        "output_tail": "",
        "result": None,
        "gates": [],
        "classification": classification,
    }


def _finish(store: Store, actor: str, record: dict[str, Any], event: str) -> dict[str, Any]:
    """Write the record and its event under the project lock."""
    record["finished_at"] = now()
    with contextlib.suppress(SdlcError):  # e.g. the agent broke the manifest: record it anyway
        record["phase_after"] = store.load_feature(record["feature"]).phase
    with Transaction(store, actor) as tx:
        save_record(store, record)
        tx.event(
            event,
            record["feature"],
            run_id=record["id"],
            action=record["action"],
            task_id=record["task_id"],
            status=record["status"],
            exit_code=record["exit_code"],
            duration_ms=record["duration_ms"],
            gates={g["name"]: g["status"] for g in record["gates"]},
        )
    return record


# -- classification and prompt -------------------------------------------------------------------


def classify(store: Store, slug: str) -> dict[str, Any]:
    """What `sdlc next --for SLUG --json` prints."""
    from sdlc.ops.lookup import next_for

    data: dict[str, Any] = json.loads(next_for(store, slug))
    return data


def build_prompt(store: Store, classification: dict[str, Any]) -> str:
    """The skeleton command of the action with its arguments, the classification, VISION.md."""
    from skeletons.commands import command_prompt
    from skeletons.errors import SkeletonError

    action = classification["action"]
    skeleton = ACTIONS[action].skeleton
    assert skeleton is not None, action
    arguments = " ".join(filter(None, [classification["feature"], classification.get("task_id")]))
    try:
        body = command_prompt(skeleton, arguments)
    except SkeletonError as err:
        raise SdlcError(f"cannot build the prompt of {action} from {skeleton}: {err.message}") from err
    parts = [
        body.rstrip(),
        "## The classification (`sdlc next --for "
        + classification["feature"]
        + " --json`)\n\n```json\n"
        + json.dumps(classification, indent=2, ensure_ascii=False)
        + "\n```",
    ]
    vision = store.root / "VISION.md"
    if vision.is_file():
        parts.append("## VISION.md\n\n" + vision.read_text(encoding="utf-8", errors="replace").strip())
    return "\n\n".join(parts) + "\n"


# -- steps ---------------------------------------------------------------------------------------


def _agent_step(
    store: Store, actor: str, c: dict[str, Any], routing: Any, progress: Progress
) -> dict[str, Any]:
    action = c["action"]
    backend = routing.backend_for(action)
    gates = gates_for(store.config, action)  # a bad gate config fails before the agent runs
    prompt = build_prompt(store, c)
    call = invocation(backend, prompt)
    timeout = agent_timeout_seconds(routing.timeout_minutes(action))
    record = _new_record("run", c, action, c["task_id"])
    note = (
        f"the prompt ({len(prompt)} characters) was written to stdin"
        if call.stdin is not None
        else f"{PROMPT_PLACEHOLDER} stands for the prompt ({len(prompt)} characters)"
    )
    record.update(
        backend=backend.as_dict(), argv=call.recorded_argv(), argv_note=note, timeout_seconds=timeout
    )
    with Transaction(store, actor) as tx:
        tx.event("run.started", c["feature"], run_id=record["id"], action=action, backend=backend.type)
    progress(f"{action}: running {backend.type} (timeout {timeout:g} s)")
    stream = StreamJson() if backend.type == "claude" else None
    try:
        outcome = run_process(
            call.argv,
            cwd=store.root,
            env=agent_environment(backend, store.root),
            timeout=timeout,
            stdin=call.stdin,
            on_line=stream.feed if stream else None,
        )
    except KeyboardInterrupt:  # the agent's group is already ended: close the step, then stop
        record["status"] = STEP_INTERRUPTED
        _finish(store, actor, record, "run.finished")
        raise
    result = stream.result_event() if stream else None
    record.update(
        exit_code=outcome.exit_code,
        duration_ms=outcome.duration_ms,
        output_tail=outcome.output_tail,
        result=result,
    )
    if outcome.timed_out:
        record["status"] = "timed_out"
    elif outcome.exit_code != 0 or (result is not None and result["is_error"]):
        record["status"] = "agent_failed"
    else:
        record["gates"], record["status"] = evaluate(gates, store.root, {}, progress)
    return _finish(store, actor, record, "run.finished")


def _advance_step(store: Store, actor: str, c: dict[str, Any]) -> dict[str, Any]:
    from sdlc.ops.features import transition_feature

    record = _new_record("run", c, "advance", None)
    transition_feature(store, actor, c["feature"], c["transition_to"])
    return _finish(store, actor, record, "run.finished")


# -- sdlc run ------------------------------------------------------------------------------------


def _outcome(
    slug: str,
    status: str,
    message: str,
    steps: list[dict[str, Any]],
    classification: dict[str, Any] | None,
    next_command: str | None = None,
    pending: list[dict[str, Any]] | None = None,
    plan: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "feature": slug,
        "status": status,
        "exit_code": EXIT_CODES[status],
        "message": message,
        "next_command": next_command or None,
        "classification": classification,
        "pending_gates": pending or [],
        "steps": steps,
        "plan": plan,
    }


def _waiting(slug: str, record: dict[str, Any], steps: list[dict[str, Any]], c: Any) -> dict[str, Any]:
    pending = [g for g in record["gates"] if g["status"] == PENDING]
    names = ", ".join(g["name"] for g in pending)
    asks = "".join(f"\n  {g['name']}: {g['prompt']}" for g in pending if g.get("prompt"))
    message = f"step {record['id']} ({record['action']}) waits for a human to pass gate(s) {names}{asks}"
    command = f"sdlc gate pass {slug} {pending[0]['name']} --by WHO" if pending else None
    return _outcome(slug, "human", message, steps, c, command, pending)


def _plan(store: Store, c: dict[str, Any], routing: Any) -> dict[str, Any]:
    action = c["action"]
    gates = [g.as_dict() for g in gates_for(store.config, action)] if action != "advance" else []
    if action == "advance":
        command = f"sdlc feature transition {c['feature']} {c['transition_to']}"
        empty = {"backend": None, "argv": None, "prompt": None, "timeout_seconds": None}
        return {"action": action, **empty, "command": command, "gates": gates}
    backend = routing.backend_for(action)
    prompt = build_prompt(store, c)
    call = invocation(backend, prompt)
    argv = call.recorded_argv()
    return {
        "action": action,
        "backend": backend.as_dict(),
        "argv": argv,
        "command": shlex.join(argv) + (" < " + PROMPT_PLACEHOLDER if call.stdin is not None else ""),
        "prompt": prompt,
        "timeout_seconds": agent_timeout_seconds(routing.timeout_minutes(action)),
        "gates": gates,
    }


def run_feature(
    store: Store,
    slug: str,
    actor: str,
    *,
    loop: bool = False,
    max_steps: int = DEFAULT_MAX_STEPS,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """`sdlc run`: one step, or steps until done, a human, a failure or `max_steps`."""
    check_slug(slug)
    store.require_initialized()
    if max_steps < 1:
        raise InvalidValue("invalid value: --max-steps must be at least 1")
    say = progress or (lambda _: None)
    with contextlib.ExitStack() as held:
        return _steps(store, slug, actor, loop, max_steps, dry_run, say, held)


def _steps(
    store: Store,
    slug: str,
    actor: str,
    loop: bool,
    max_steps: int,
    dry_run: bool,
    say: Progress,
    held: contextlib.ExitStack,
) -> dict[str, Any]:
    from sdlc.agents import parse_agents

    steps: list[dict[str, Any]] = []
    locked = False  # taken before the first step: runs that only report write nothing
    while True:
        c = classify(store, slug)
        current = latest_record(store, slug)
        if current is not None and current["status"] == STEP_WAITING:
            return _waiting(slug, current, steps, c)
        action = c["action"]
        if steps and not loop:
            message = f"{steps[-1]['action']} done; next: {action}: {c['message']}"
            return _outcome(slug, "ok", message, steps, c, c["next_command"])
        if action == "done":
            return _outcome(slug, "done", c["message"], steps, c)
        if action in HUMAN_ACTIONS:
            return _outcome(slug, "human", c["message"], steps, c, c["next_command"])
        # parsed only now: a human action never needs it, whatever the config routes (§6)
        routing = parse_agents(store.config.raw.get("agents")) if action != "advance" else None
        if routing is not None and not routing.backend_for(action).is_agent:
            message = f"{action} is routed to a human (agents.actions.{action}): {c['message']}"
            return _outcome(slug, "human", message, steps, c, c["next_command"])
        if len(steps) >= max_steps:
            message = f"stopped after {len(steps)} step(s) (--max-steps {max_steps}); next: {action}"
            return _outcome(slug, "max_steps", message, steps, c, c["next_command"])
        if dry_run:
            plan = _plan(store, c, routing)
            return _outcome(slug, "dry_run", f"would run {action}: {plan['command']}", steps, c, plan=plan)
        if not locked:
            held.enter_context(feature_run_lock(store, slug))
            locked = True
            continue  # classify again under the lock: another run may have just done this step
        step = (
            _advance_step(store, actor, c) if routing is None else _agent_step(store, actor, c, routing, say)
        )
        steps.append(step)
        say(f"{action}: {step['status']}")
        if step["status"] == STEP_WAITING:
            return _waiting(slug, step, steps, c)
        if step["status"] != STEP_OK:
            message = f"{action} {step['status'].replace('_', ' ')}" + _failure_detail(step)
            return _outcome(slug, step["status"], message, steps, c)


def _failure_detail(step: dict[str, Any]) -> str:
    failed = [g for g in step["gates"] if g["status"] not in (PASSED, PENDING, "skipped")]
    if failed:
        gate = failed[0]
        return f": gate {gate['name']} {gate['status']} after {gate['attempts']} attempt(s)"
    if step["exit_code"] is None and step["status"] != "timed_out":
        return f": {step['output_tail']}"
    return f" (exit code {step['exit_code']}, see .sdlc/runs/{step['id']}.json)"


# -- sdlc gate run / pass ------------------------------------------------------------------------


def list_gates(store: Store, action: str | None) -> list[dict[str, Any]]:
    store.require_initialized()
    return [g.as_dict() for g in all_gates(store.config, action)]


def run_gates(
    store: Store, slug: str, actor: str, action: str | None = None, progress: Progress | None = None
) -> dict[str, Any]:
    """`sdlc gate run`: the gates of the current action (or `action`) as a step of their own.
    Passes recorded on the current step carry over when it is for the same action and task."""
    check_slug(slug)
    c = classify(store, slug)
    chosen = check_action(action) if action else c["action"]
    task_id = c["task_id"] if chosen == c["action"] else None
    gates: list[Gate] = gates_for(store.config, chosen)
    if not gates:
        return _outcome(slug, "ok", f"no gates configured for {chosen}", [], c)
    current = latest_record(store, slug)
    same = current is not None and (current["action"], current["task_id"]) == (chosen, task_id)
    passes = human_passes(current["gates"]) if same and current is not None else {}
    record = _new_record("gate", c, chosen, task_id)
    record["gates"], record["status"] = evaluate(gates, store.root, passes, progress)
    record["duration_ms"] = sum(g["duration_ms"] for g in record["gates"])
    _finish(store, actor, record, "gate.run")
    if record["status"] == STEP_WAITING:
        return _waiting(slug, record, [record], c)
    status = "ok" if record["status"] == STEP_OK else record["status"]
    return _outcome(slug, status, f"gates of {chosen}: {record['status'].replace('_', ' ')}", [record], c)


def pass_gate(store: Store, slug: str, name: str, by: str) -> dict[str, Any]:
    """`sdlc gate pass`: record a human's pass of gate `name` on the feature's current step."""
    if is_agent():
        raise AgentForbidden(
            "an agent may not pass a human gate (SDLC_AGENT is set)",
            hint=f"a human records this: sdlc gate pass {slug} {name} --by <name>",
        )
    check_slug(slug)
    with Transaction(store, by) as tx:
        tx.feature(slug)  # it must exist
        record = latest_record(store, slug)
        gate = next(
            (g for g in (record or {}).get("gates", []) if g["name"] == name and g["type"] == "human"), None
        )
        if record is None or gate is None:
            _no_such_pending_gate(store, slug, name)
        assert record is not None and gate is not None
        changed = gate["status"] != PASSED
        if changed:
            gate.update(status=PASSED, passed_by=by, passed_at=tx.at)
            if record["status"] == STEP_WAITING:
                record["status"] = step_status(record["gates"])
            save_record(store, record)
            tx.event("gate.passed", slug, run_id=record["id"], action=record["action"], gate=name)
    return {
        "feature": slug,
        "gate": name,
        "run_id": record["id"],
        "action": record["action"],
        "changed": changed,
        "passed_by": gate["passed_by"],
        "passed_at": gate["passed_at"],
        "step_status": record["status"],
    }


def _no_such_pending_gate(store: Store, slug: str, name: str) -> None:
    human = sorted({g.name for g in all_gates(store.config) if g.type == "human"})
    if name not in human:
        raise InvalidValue(
            f"invalid value: no human gate named '{name}' is configured",
            hint="human gates: " + (", ".join(human) or "none (see `sdlc gate list`)"),
        )
    raise InvalidTransition(
        f"no step of '{slug}' waits for gate '{name}': a pass is recorded on the step that asked for it",
        hint=f"run `sdlc run {slug}` or `sdlc gate run {slug}` first",
    )
