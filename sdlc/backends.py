"""Agent backends as processes (spec/sdlc.md §9): the argv of each backend type, the agent's
environment, Claude Code's stream-json output, and running a command in its own process
group with a deadline that kills the whole group (grandchildren included), keeping the last
10 KiB of its output cut on a UTF-8 character boundary."""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sdlc.agents import Backend
from sdlc.errors import InvalidValue

TAIL_BYTES = 10 * 1024
KILL_GRACE_SECONDS = 5.0  # between SIGTERM and SIGKILL of a process group
DRAIN_SECONDS = 1.0  # reading what is left in the pipe once the group is gone
POLL_SECONDS = 0.2  # how often a silent process is checked for having exited
CHUNK_BYTES = 64 * 1024
MAX_LINE_BYTES = 8 * 1024 * 1024  # longer stream-json lines are dropped, not parsed
# Overrides every agent timeout (seconds); tests use it, minutes are too coarse for them.
TIMEOUT_ENV = "SDLC_RUN_TIMEOUT_SECONDS"
PROMPT_PLACEHOLDER = "<prompt>"
CLAUDE_TOOLS = ("Read", "Write", "Edit", "Bash", "Glob", "Grep")
CLAUDE_PERMISSION_MODE = "acceptEdits"
RESULT_FIELDS = ("subtype", "is_error", "result", "duration_ms", "num_turns", "session_id", "total_cost_usd")


@dataclass(frozen=True)
class Invocation:
    """How a backend is started: its argv, and what it reads on stdin (shell: the prompt)."""

    argv: list[str]
    stdin: str | None
    prompt: str

    def recorded_argv(self) -> list[str]:
        """The argv with the prompt replaced by PROMPT_PLACEHOLDER (records stay small)."""
        return [PROMPT_PLACEHOLDER if arg == self.prompt else arg for arg in self.argv]


def invocation(backend: Backend, prompt: str) -> Invocation:
    """The command line of `backend` for `prompt` (spec §9); backend fields override defaults."""
    if backend.type == "claude":
        argv = ["claude", "-p", prompt, "--output-format", "stream-json", "--verbose"]
        argv += ["--permission-mode", backend.permission_mode or CLAUDE_PERMISSION_MODE]
        argv += ["--allowedTools", ",".join(backend.allowed_tools or CLAUDE_TOOLS)]
    elif backend.type == "opencode":
        argv = ["opencode", "run", prompt]
    elif backend.type == "codex":
        argv = ["codex", "exec", prompt]
    elif backend.type == "xadk":
        argv = [sys.executable, "-m", "xadk", str(backend.agent_id), "--prompt", prompt]
    elif backend.type == "shell":
        return Invocation(["sh", "-c", str(backend.command)], prompt, prompt)
    else:
        raise ValueError(f"backend type {backend.type!r} runs no process")
    if backend.model and backend.type != "xadk":
        argv += ["--model", backend.model]
    return Invocation(argv, None, prompt)


def agent_environment(backend: Backend, root: Path) -> dict[str, str]:
    """The caller's environment, marked as an agent's: approve, pass and waive refuse in it."""
    env = dict(os.environ)
    env["SDLC_AGENT"] = "1"
    env["SDLC_ROOT"] = str(root)
    env.setdefault("SDLC_ACTOR", f"agent:{backend.type}")
    return env


def agent_timeout_seconds(minutes: int) -> float:
    """`minutes` in seconds, unless SDLC_RUN_TIMEOUT_SECONDS overrides it."""
    given = os.environ.get(TIMEOUT_ENV)
    if not given:
        return minutes * 60.0
    try:
        seconds = float(given)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise InvalidValue(
            f"invalid value: {TIMEOUT_ENV}={given!r} must be a number of seconds > 0",
            hint=f"unset {TIMEOUT_ENV} to use the configured timeouts",
        )
    return seconds


class StreamJson:
    """Claude Code's `--output-format stream-json` lines: keeps the init and the final result
    event; lines that are not JSON objects are ignored."""

    def __init__(self) -> None:
        self.session_id: str | None = None
        self.model: str | None = None
        self.result: dict[str, Any] | None = None

    def feed(self, line: str) -> None:
        line = line.strip()
        if not line.startswith("{"):
            return
        try:
            event = json.loads(line)
        except ValueError:
            return
        if not isinstance(event, dict):
            return
        if event.get("type") == "system" and event.get("subtype") == "init":
            self.session_id = _string(event.get("session_id"))
            self.model = _string(event.get("model"))
        elif event.get("type") == "result":
            self.result = event

    def result_event(self) -> dict[str, Any] | None:
        """The result event reduced to the fields §9 names, with checked types; its text is
        cut to the last TAIL_BYTES."""
        if self.result is None:
            return None
        event = self.result
        text = _string(event.get("result"))
        return {
            "subtype": _string(event.get("subtype")),
            "is_error": event.get("is_error") is True,
            "result": tail_text(text.encode()) if text is not None else None,
            "duration_ms": _number(event.get("duration_ms")),
            "num_turns": _number(event.get("num_turns")),
            "session_id": _string(event.get("session_id")) or self.session_id,
            "total_cost_usd": _number(event.get("total_cost_usd")),
            "model": self.model,
        }


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _number(value: Any) -> float | int | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def tail_text(data: bytes, limit: int = TAIL_BYTES) -> str:
    """The last `limit` bytes of `data` as text, starting on a UTF-8 character boundary."""
    tail = data[-limit:] if len(data) > limit else data
    if len(data) > limit:
        start = 0
        while start < min(len(tail), 3) and tail[start] & 0xC0 == 0x80:  # continuation bytes
            start += 1
        tail = tail[start:]
    return tail.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class ProcessOutcome:
    exit_code: int | None  # None: it could not be started; negative: killed by that signal
    timed_out: bool
    duration_ms: int
    output_tail: str


def run_process(
    argv: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    timeout: float,
    stdin: str | None = None,
    on_line: Callable[[str], None] | None = None,
) -> ProcessOutcome:
    """Run `argv` in a new session (its own process group), stdout and stderr together.
    At the deadline the whole group gets SIGTERM, then SIGKILL after a grace; whatever of
    the group outlives its leader is ended the same way."""
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as err:
        return ProcessOutcome(None, False, _elapsed_ms(started), f"could not start {argv[0]}: {err}")
    output = _Output(on_line)
    writer = _feed_stdin(proc, stdin) if stdin is not None else None
    try:
        timed_out = _pump(proc, output, started + timeout)
    except BaseException:  # interrupted (Ctrl-C): leave nothing of the group behind
        kill_group(proc)
        raise
    finally:
        if writer is not None:
            writer.join(DRAIN_SECONDS)
    output.flush()
    code = proc.returncode
    return ProcessOutcome(code, timed_out, _elapsed_ms(started), tail_text(bytes(output.tail)))


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _feed_stdin(proc: subprocess.Popen[bytes], text: str) -> threading.Thread:
    """Write the prompt from a thread: a process that does not read it must not block us."""

    def write() -> None:
        assert proc.stdin is not None
        with contextlib.suppress(OSError):
            proc.stdin.write(text.encode())
        with contextlib.suppress(OSError):
            proc.stdin.close()

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def _pump(proc: subprocess.Popen[bytes], output: _Output, deadline: float) -> bool:
    """Read the output until every writer is gone and the group is ended; True on timeout."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    timed_out = False
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            if selector.select(min(remaining, POLL_SECONDS)):
                chunk = os.read(fd, CHUNK_BYTES)
                if not chunk:
                    break  # end of file: nobody holds the pipe any more
                output.add(chunk)
            if proc.poll() is not None:
                break  # the leader is gone: what is left in the pipe is drained below
        if not timed_out and proc.poll() is None:  # the leader closed its stdout early
            try:
                proc.wait(max(deadline - time.monotonic(), 0))
            except subprocess.TimeoutExpired:
                timed_out = True
        kill_group(proc)
        _drain(selector, fd, output)
    proc.stdout.close()
    proc.wait()
    return timed_out


def _drain(selector: selectors.BaseSelector, fd: int, output: _Output) -> None:
    end = time.monotonic() + DRAIN_SECONDS
    while (remaining := end - time.monotonic()) > 0 and selector.select(remaining):
        chunk = os.read(fd, CHUNK_BYTES)
        if not chunk:
            return
        output.add(chunk)


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """End every process of `proc`'s group: SIGTERM, then SIGKILL after KILL_GRACE_SECONDS."""
    group = proc.pid  # start_new_session: the leader's pid is the group id
    if not group_alive(group, proc):
        return
    _signal_group(group, signal.SIGTERM)
    end = time.monotonic() + KILL_GRACE_SECONDS
    while group_alive(group, proc):
        if time.monotonic() >= end:
            _signal_group(group, signal.SIGKILL)
            break
        time.sleep(0.05)
    end = time.monotonic() + KILL_GRACE_SECONDS
    while group_alive(group, proc) and time.monotonic() < end:
        time.sleep(0.05)


def _signal_group(group: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, sig)


def group_alive(group: int, proc: subprocess.Popen[bytes] | None = None) -> bool:
    """Whether any process of `group` still runs (zombies waiting to be reaped do not count)."""
    if proc is not None:
        proc.poll()  # reap the leader if it has exited
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return bool(group_members(group)) if os.path.isdir("/proc") else True


def group_members(group: int) -> list[int]:
    """Pids of the running (not zombie) processes of `group`, read from /proc (Linux)."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()  # after "pid (comm) "
        if len(fields) > 2 and fields[0] not in (b"Z", b"X") and int(fields[2]) == group:
            members.append(int(entry))
    return members


class _Output:
    """The last TAIL_BYTES of the output, and its lines for `on_line`."""

    def __init__(self, on_line: Callable[[str], None] | None) -> None:
        self.tail = bytearray()
        self.on_line = on_line
        self.partial = bytearray()
        self.overflow = False

    def add(self, chunk: bytes) -> None:
        self.tail += chunk
        keep = TAIL_BYTES + 4  # a few bytes more, so tail_text sees where a character starts
        if len(self.tail) > keep:
            del self.tail[: len(self.tail) - keep]
        if self.on_line is None:
            return
        first, *lines = chunk.split(b"\n")
        self.partial += first
        if lines:
            rest = lines.pop()
            for line in [bytes(self.partial), *lines]:
                if not self.overflow:
                    self.on_line(line.decode("utf-8", errors="replace"))
                self.overflow = False
            self.partial = bytearray(rest)
        if len(self.partial) > MAX_LINE_BYTES:
            self.partial.clear()
            self.overflow = True

    def flush(self) -> None:
        if self.on_line is not None and self.partial and not self.overflow:
            self.on_line(self.partial.decode("utf-8", errors="replace"))
        self.partial.clear()
