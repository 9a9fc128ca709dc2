"""Commands in a project's workspace (spec/rdev-api.md "Commands"): started at once in their
own process group with an allowlisted environment plus the project's bound credentials;
output stored as numbered events up to the output cap; followers replay, resume after a
sequence number and get heartbeats until the `end` event."""

from __future__ import annotations

import contextvars
import queue
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any, Literal

from rdev_api.domain.commands import AGENT_KINDS, FINISHED, CommandRequest, status_of_exit
from rdev_api.domain.errors import Conflict, NotFound
from rdev_api.ports.agents import AgentProvider
from rdev_api.ports.clock import Clock
from rdev_api.ports.processes import ProcessRunner, ProjectAccess, RunningProcess

Event = tuple[int, str, str]  # seq, event name, data as JSON text
IDLE_THREADS = 8  # command threads kept for the next commands
IDLE_THREAD_S = 30.0  # how long one is kept unused


class CommandService:
    def __init__(
        self,
        store: Any,
        projects: ProjectAccess,
        runner: ProcessRunner,
        providers: dict[str, AgentProvider],
        clock: Clock,
        base_env: dict[str, str],
        output_cap: int,
    ) -> None:
        self.store = store
        self.projects = projects
        self.runner = runner
        self.providers = providers
        self.clock = clock
        self.base_env = base_env
        self.output_cap = output_cap
        self._running: dict[str, RunningProcess] = {}
        self._runs: dict[str, _Run] = {}
        self._threads = _Threads()
        self._changed = threading.Condition()
        self._version = 0
        # told of every finished command (the app turns it into a `command.finished` webhook)
        self.on_finished: Callable[[dict[str, Any]], None] | None = None

    # -- starting and ending -------------------------------------------------------------------

    def submit(self, project_id: str, request: CommandRequest) -> dict[str, Any]:
        workspace = self.projects.workspace(project_id)
        env = {
            **self.base_env,
            "HOME": str(workspace),
            **self.projects.environment(project_id),
            **request.env,
        }
        stdin = None
        provider = self.providers.get(request.kind) if request.kind in AGENT_KINDS else None
        if request.kind in AGENT_KINDS:
            if provider is None:
                raise NotFound(f"no agent provider for {request.kind}")
            env["SDLC_AGENT"] = "1"
        argv = request.argv_for(provider.argv(request.prompt or "") if provider else None)
        command_id = "cmd_" + secrets.token_hex(8)
        queued: dict[str, Any] = self.store.insert(
            command_id, project_id, request.kind, request.model_dump(exclude={"env"}), self.clock.now()
        )
        run = _Run(project_id)
        self._runs[command_id] = run
        try:
            self._threads.start(
                f"command-{command_id}",
                partial(self._run, run, command_id, argv, workspace, env, request.timeout_s, provider, stdin),
            )
        except BaseException:
            self._runs.pop(command_id, None)
            raise
        return queued

    def cancel(self, command_id: str) -> dict[str, Any]:
        command = self.get(command_id)
        process = self._running.get(command_id)
        if command["status"] in FINISHED or process is None:
            raise Conflict(f"command {command_id} is {command['status']}: nothing to cancel")
        process.cancel()
        return command

    def cancel_project(self, project_id: str, timeout: float) -> int:
        """Cancel every running command of the project (it is being deleted) and wait up to
        `timeout` until their records are closed; how many there were."""
        runs = [(cid, run) for cid, run in list(self._runs.items()) if run.project_id == project_id]
        for command_id, run in runs:
            run.cancelled = True
            process = self._running.get(command_id)
            if process is not None:
                process.cancel()
        deadline = time.monotonic() + timeout
        for _, run in runs:
            run.done.wait(max(0.0, deadline - time.monotonic()))
        return len(runs)

    def wait(self, command_id: str, timeout: float) -> dict[str, Any]:
        """The command once it has finished (or as it is after `timeout` seconds)."""
        run = self._runs.get(command_id)
        if run is not None and run.done.wait(timeout) and run.finished is not None:
            return run.finished  # as the command's thread stored it: no read
        return self.get(command_id)

    def run_to_end(self, command_id: str, stop: threading.Event, poll_s: float = 0.2) -> dict[str, Any]:
        """Wait for a command to finish, cancelling it once `stop` is set (a work item's lease
        lost); returns the finished record."""
        while True:
            done = self.wait(command_id, poll_s)
            if done["status"] not in ("queued", "running"):
                return done
            if stop.is_set() and command_id in self._running:
                self._running[command_id].cancel()

    def shutdown(self) -> None:
        """Cancel every running command and wait for their records to close."""
        for process in list(self._running.values()):
            process.cancel()
        for run in list(self._runs.values()):
            run.done.wait(30)

    def _run(
        self,
        run: _Run,
        command_id: str,
        argv: list[str],
        workspace: Any,
        env: dict[str, str],
        timeout_s: int,
        provider: AgentProvider | None,
        stdin: bytes | None,
    ) -> None:
        try:
            output = _Output(self, command_id, provider)
            process = self.runner(argv, workspace, env, timeout_s, output.chunk, stdin)
            self._running[command_id] = process
            if run.cancelled:  # its project is being deleted
                process.cancel()
            self.store.started(
                command_id, process.pgid, self.clock.now(), [("status", {"status": "running"})]
            )
            self._notify()
            try:
                outcome = process.wait()
            finally:
                self._running.pop(command_id, None)
            output.close()
            status = (
                "failed"
                if outcome.error
                else status_of_exit(outcome.exit_code, outcome.timed_out, outcome.cancelled)
            )
            end: dict[str, Any] = {"status": status, "exit_code": outcome.exit_code}
            if outcome.signal is not None:
                end["signal"] = outcome.signal
            if outcome.error:
                end["error"] = outcome.error
            run.finished = self.store.finish(
                command_id,
                status,
                outcome.exit_code,
                outcome.signal,
                outcome.error,
                self.clock.now(),
                [("status", {"status": status}), ("end", end)],
            )
            self._notify()
            if self.on_finished is not None:
                self.on_finished(run.finished)
        finally:
            self._runs.pop(command_id, None)
            run.done.set()
            # the thread may wait long for its next command: its connection goes back meanwhile
            self.store.release()

    def _append(self, command_id: str, events: list[tuple[str, dict[str, Any]]], output_bytes: int) -> None:
        self.store.append(command_id, events, self.clock.now(), output_bytes)
        self._notify()

    def _notify(self) -> None:
        """Wake the followers: new events are stored."""
        with self._changed:
            self._version += 1
            self._changed.notify_all()

    # -- reading -------------------------------------------------------------------------------

    def get(self, command_id: str) -> dict[str, Any]:
        command: dict[str, Any] | None = self.store.get(command_id)
        if command is None:
            raise NotFound(f"no command {command_id}")
        return command

    def list(
        self, project_id: str | None, status: str | None, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        found: tuple[list[dict[str, Any]], str | None] = self.store.list(project_id, status, limit, cursor)
        return found

    def _moved_since(self, version: int) -> bool:
        return self._version != version

    def follow(self, command_id: str, after: int, heartbeat_s: float) -> Iterator[Event | None]:
        """Events after `after`, then new ones as they come; None every `heartbeat_s` of
        silence; ends after the `end` event."""
        self.get(command_id)
        while True:
            with self._changed:
                seen = self._version
            events = self.store.events_after(command_id, after)
            for event in events:
                yield event
                after = event[0]
                if event[1] == "end":
                    return
            if events:
                continue
            with self._changed:
                if not self._changed.wait_for(partial(self._moved_since, seen), timeout=heartbeat_s):
                    yield None


class _Run:
    """A running command: its project, `done` once its thread is through with it (webhook
    queued), its record as the thread stored it finished, and whether it was cancelled before
    its process started."""

    __slots__ = ("cancelled", "done", "finished", "project_id")

    def __init__(self, project_id: str) -> None:
        self.project_id = project_id
        self.done = threading.Event()
        self.finished: dict[str, Any] | None = None
        self.cancelled = False


class _Threads:
    """A thread for each running command, however many run; one that is done waits up to
    IDLE_THREAD_S for the next command (starting a thread was a tenth of the server's CPU for
    a short command)."""

    def __init__(self) -> None:
        self._idle: list[queue.SimpleQueue[tuple[str, Callable[[], None]]]] = []
        self._guard = threading.Lock()

    def start(self, name: str, job: Callable[[], None]) -> None:
        with self._guard:
            inbox = self._idle.pop() if self._idle else None
        if inbox is None:
            inbox = queue.SimpleQueue()
            threading.Thread(target=self._serve, args=(inbox,), name=name, daemon=True).start()
        inbox.put((name, job))

    def _serve(self, inbox: queue.SimpleQueue[tuple[str, Callable[[], None]]]) -> None:
        while True:
            try:
                name, job = inbox.get(timeout=IDLE_THREAD_S)
            except queue.Empty:
                with self._guard:
                    if inbox in self._idle:
                        self._idle.remove(inbox)
                        return
                name, job = inbox.get()  # start() took this thread meanwhile: its job comes
            threading.current_thread().name = name
            contextvars.Context().run(job)  # each command in a context of its own, as in a new thread
            with self._guard:
                if len(self._idle) >= IDLE_THREADS:
                    return
                self._idle.append(inbox)


class _Output:
    """Turns process output into events: agent lines parsed into `agent` events, the rest as
    `output`; everything past the cap dropped after one truncation marker."""

    def __init__(self, service: CommandService, command_id: str, provider: AgentProvider | None) -> None:
        self.service = service
        self.command_id = command_id
        self.provider = provider
        self.partial = ""
        self.total = 0
        self.truncated = False
        self.lock = threading.Lock()

    def chunk(self, stream: Literal["stdout", "stderr"], text: str) -> None:
        with self.lock:
            if self.truncated:
                return
            size = len(text.encode())
            if self.total + size > self.service.output_cap:
                self.truncated = True
                cap = self.service.output_cap
                marker = {
                    "stream": stream,
                    "data": f"\n[rdev: output truncated at {cap} bytes]\n",
                    "truncated": True,
                }
                self.service.store.mark_truncated(self.command_id)
                self.service._append(self.command_id, [("output", marker)], 0)
                return
            self.total += size
            events = (
                self._parse(text)
                if stream == "stdout" and self.provider
                else [("output", {"stream": stream, "data": text})]
            )
            if events:
                self.service._append(self.command_id, events, size)

    def _parse(self, text: str) -> list[tuple[str, dict[str, Any]]]:
        assert self.provider is not None
        lines = (self.partial + text).split("\n")
        self.partial = lines.pop()
        events: list[tuple[str, dict[str, Any]]] = []
        plain = []
        for line in lines:
            parsed = self.provider.parse(line)
            if parsed is None:
                plain.append(line + "\n")
                continue
            if plain:
                events.append(("output", {"stream": "stdout", "data": "".join(plain)}))
                plain = []
            events.append(("agent", parsed))
        if plain:
            events.append(("output", {"stream": "stdout", "data": "".join(plain)}))
        return events

    def close(self) -> None:
        with self.lock:
            if self.partial and not self.truncated:
                self.service._append(
                    self.command_id, [("output", {"stream": "stdout", "data": self.partial})], 0
                )
            self.partial = ""
