"""Running a command's process (local subprocesses now; pod exec later)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal, Protocol

from rdev_api.domain.commands import ProcessOutcome

OnChunk = Callable[[Literal["stdout", "stderr"], str], None]


class RunningProcess(Protocol):
    @property
    def pgid(self) -> int | None: ...

    def cancel(self) -> None: ...

    def wait(self) -> ProcessOutcome: ...


class ProcessRunner(Protocol):
    def __call__(
        self,
        argv: list[str],
        cwd: Path,
        env: dict[str, str],
        timeout_s: float,
        on_chunk: OnChunk,
        stdin: bytes | None = None,
    ) -> RunningProcess: ...


class ProjectAccess(Protocol):
    """What commands need of a project."""

    def workspace(self, project_id: str) -> Path:
        """The project's workspace; NotFound when there is no such project."""
        ...

    def environment(self, project_id: str) -> dict[str, str]:
        """The bound credentials' values by the env names they are bound to."""
        ...
