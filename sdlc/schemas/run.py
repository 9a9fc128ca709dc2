"""Output models of `sdlc run; sdlc gate list|run|pass` (spec/sdlc.md §8-9)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from sdlc.schemas.models import Action, Classification, Out, Phase, Timestamp

GateType = Literal["shell", "human"]
GateStatus = Literal["passed", "failed", "timed_out", "pending", "skipped"]
StepStatus = Literal["ok", "agent_failed", "timed_out", "gate_failed", "waiting_human"]
RunStatus = Literal["done", "ok", "human", "gate_failed", "agent_failed", "timed_out", "max_steps", "dry_run"]


class Backend(Out):
    """The backend that ran the action (`agents` in the config); unset fields are omitted."""

    type: Literal["claude", "opencode", "codex", "xadk", "shell"]
    model: str | SkipJsonSchema[None] = None
    command: str | SkipJsonSchema[None] = None
    agent_id: str | SkipJsonSchema[None] = None
    allowed_tools: list[str] | SkipJsonSchema[None] = None
    permission_mode: str | SkipJsonSchema[None] = None
    timeout_minutes: int | SkipJsonSchema[None] = None


class GateConfig(Out):
    """A configured gate (`gates.<action>[]`, normalized)."""

    action: Action
    name: str
    type: GateType
    command: str | None = Field(description="The shell command; null for a human gate.")
    prompt: str | None = Field(description="What the human checks; null when not configured.")
    max_retries: int = Field(ge=0)
    timeout_seconds: float = Field(gt=0, description="Per attempt; the process group is killed after it.")


class GateResult(Out):
    """One gate of a step."""

    name: str
    type: GateType
    status: GateStatus = Field(
        description="pending: a human gate with no pass yet; skipped: a shell gate after a failed one."
    )
    command: str | None
    prompt: str | None
    attempts: int = Field(ge=0, description="Shell attempts run (1 + retries used); 0 for human gates.")
    exit_code: int | None = Field(description="Of the last attempt; negative: killed by that signal.")
    duration_ms: int = Field(ge=0)
    output_tail: str = Field(description="The last 10 KiB of the last attempt's output (UTF-8 boundary).")
    passed_by: str | None
    passed_at: Timestamp | None


class AgentResult(Out):
    """The final `result` event of Claude Code's stream-json output, reduced to its fields."""

    subtype: str | None
    is_error: bool
    result: str | None = Field(description="The agent's final text, its last 10 KiB.")
    duration_ms: float | None
    num_turns: float | None
    session_id: str | None
    total_cost_usd: float | None
    model: str | None = Field(description="From the `system`/`init` event.")


class RunStep(Out):
    """One step: the content of `.sdlc/runs/<id>.json`."""

    id: str = Field(description="Sorts by time: UTC timestamp to the microsecond, then random hex.")
    kind: Literal["run", "gate"] = Field(description="run: a `sdlc run` step; gate: `sdlc gate run`.")
    feature: str
    action: Action
    task_id: str | None
    status: StepStatus
    started_at: Timestamp
    finished_at: Timestamp | None
    duration_ms: int = Field(ge=0)
    phase_before: Phase
    phase_after: Phase
    backend: Backend | None = Field(description="null for advance and gate steps.")
    argv: list[str] | None = Field(description="The agent's command line; the prompt shows as <prompt>.")
    argv_note: str | None = Field(description="How the prompt was passed, and its length.")
    timeout_seconds: float | None
    exit_code: int | None = Field(
        description="The agent's own exit code; null when it did not run or could not start."
    )
    output_tail: str = Field(description="The last 10 KiB of the agent's output (UTF-8 boundary).")
    result: AgentResult | None = Field(description="claude only: its final result event.")
    gates: list[GateResult]
    classification: Classification = Field(description="What the step acted on.")


class RunPlan(Out):
    """--dry-run: what the next step would run."""

    action: Action
    backend: Backend | None
    argv: list[str] | None = Field(description="The prompt shows as <prompt>.")
    command: str = Field(description="The command line, shell-quoted.")
    prompt: str | None = Field(description="The full prompt.")
    timeout_seconds: float | None
    gates: list[GateConfig]


class RunResult(Out):
    """`sdlc run` and `sdlc gate run`: the steps taken and why it stopped."""

    feature: str
    status: RunStatus
    exit_code: Literal[0, 3, 4, 5, 6] = Field(description="The command's exit code.")
    message: str
    next_command: str | None = Field(description="What to run next, when something is to be run.")
    classification: Classification | None = Field(description="The last classification.")
    pending_gates: list[GateResult] = Field(description="Human gates waiting for `sdlc gate pass`.")
    steps: list[RunStep]
    plan: RunPlan | None = Field(description="--dry-run only.")


class GatePassResult(Out):
    """`sdlc gate pass`."""

    feature: str
    gate: str
    run_id: str = Field(description="The step the pass is recorded on.")
    action: Action
    changed: bool = Field(description="false when the gate was already passed.")
    passed_by: str
    passed_at: Timestamp
    step_status: StepStatus


# file stem → (type of the document, title, description); see generate.SCHEMAS
SCHEMAS: dict[str, tuple[Any, str, str]] = {
    "run-result": (RunResult, "Run result", "sdlc run SLUG; sdlc gate run SLUG"),
    "gate-list": (list[GateConfig], "Gates", "sdlc gate list [ACTION]"),
    "gate-pass": (GatePassResult, "Gate pass", "sdlc gate pass SLUG GATE --by WHO"),
}
# command (as a user types it) → schema stem; see generate.COMMANDS
COMMANDS: dict[str, str] = {
    "sdlc run SLUG": "run-result",
    "sdlc gate list [ACTION]": "gate-list",
    "sdlc gate run SLUG": "run-result",
    "sdlc gate pass SLUG GATE --by WHO": "gate-pass",
}
