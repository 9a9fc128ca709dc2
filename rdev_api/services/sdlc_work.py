"""The `sdlc` work item type: its payload is {feature, max_steps}; it runs `sdlc run <feature>
--loop --max-steps N --json` in the project's workspace as a command, and succeeds when that
exits 0 (done, or the steps ran) or 3 (a human must act: the result says so)."""

from __future__ import annotations

import sys
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rdev_api.domain.commands import CommandRequest
from rdev_api.domain.projects import CALLBACK_TOKEN_ENV
from rdev_api.services.commands import CommandService
from rdev_api.services.projects import ProjectService
from rdev_api.services.work import PermanentFailure, WorkJob

EXIT_HUMAN: Final = 3  # sdlc.errors.EXIT_HUMAN
MAX_STEPS: Final = 1000
RUN_TIMEOUT_S: Final = 24 * 3600


class SdlcRun(BaseModel):
    model_config = ConfigDict(extra="forbid")

    feature: str = Field(min_length=1, max_length=200)
    max_steps: int = Field(50, ge=1, le=MAX_STEPS)


def sdlc_handler(commands: CommandService, projects: ProjectService) -> Any:
    def handle(job: WorkJob) -> dict[str, Any]:
        project = job.item.get("project")
        if not project:
            raise PermanentFailure("an sdlc item needs a project")
        try:
            run = SdlcRun.model_validate(job.item["payload"])
        except ValidationError as err:
            raise PermanentFailure(f"invalid sdlc payload: {err.errors()[0]['msg']}") from err
        argv = [sys.executable, "-m", "sdlc", "run", run.feature, "--loop"]
        argv += ["--max-steps", str(run.max_steps), "--json"]
        # the token lets the run's `sdlc` post its events back to this server
        env = {CALLBACK_TOKEN_ENV: projects.callback_token(project)}
        request = CommandRequest(kind="shell", argv=argv, timeout_s=RUN_TIMEOUT_S, env=env)
        command = commands.submit(project, request)
        done = commands.run_to_end(command["id"], job.lease_lost)
        code = done["exit_code"]
        result = {
            "command_id": command["id"],
            "feature": run.feature,
            "exit_code": code,
            "human_action_required": code == EXIT_HUMAN,
        }
        if code not in (0, EXIT_HUMAN):
            raise RuntimeError(
                f"sdlc run {run.feature}: command {command['id']} {done['status']} (exit code {code})"
            )
        return result

    return handle
