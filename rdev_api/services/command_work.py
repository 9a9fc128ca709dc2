"""The `command` work item type: its payload is a command request for a project
(`{project, kind, argv|script|prompt, timeout_s, env}`); it succeeds when the command exits 0."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from rdev_api.domain.commands import CommandRequest
from rdev_api.services.commands import CommandService
from rdev_api.services.work import PermanentFailure, WorkJob


def command_handler(commands: CommandService) -> Any:
    def handle(job: WorkJob) -> dict[str, Any]:
        payload = dict(job.item["payload"])
        project = payload.pop("project", None) or job.item.get("project")
        if not project:
            raise PermanentFailure("a command item needs a project (item project or payload.project)")
        try:
            request = CommandRequest.model_validate(payload)
        except ValidationError as err:
            raise PermanentFailure(f"invalid command payload: {err.errors()[0]['msg']}") from err
        command = commands.submit(project, request)
        done = commands.run_to_end(command["id"], job.lease_lost)
        result = {"command_id": command["id"], "status": done["status"], "exit_code": done["exit_code"]}
        if done["status"] != "succeeded":
            raise RuntimeError(f"command {command['id']} {done['status']} (exit code {done['exit_code']})")
        return result

    return handle
