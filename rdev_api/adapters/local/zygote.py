"""Sandboxes kept for a project's commands ("zygotes"): one bwrap per project, with the spawner
(spawner.py) inside, starting each command with a posix_spawn. A command started this way costs
the server a few file descriptors and one message instead of a fork of the server and a new
bwrap (a sandboxed `true` took ~9 ms of CPU, most of it namespaces built and torn down).

Commands of one project share the sandbox's private /tmp; each still gets its own process group
and session, and the spawner ends what it left behind (spawner.py). A zygote with no command
for IDLE_S ends; one older than MAX_AGE_S takes no new command and ends with its last one. The
spawner exits when its socket closes, which the kernel does when the server dies: the sandbox's
pid namespace ends with it, and with that every process in it (no process groups are left
behind for the next start-up to kill)."""

from __future__ import annotations

import array
import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, Final

from rdev_api.adapters.local.processes import (
    DRAIN_SECONDS,
    KILLED_DRAIN_SECONDS,
    POLL_SECONDS,
    OnChunk,
    Pipes,
    write_stdin,
)
from rdev_api.domain.commands import ProcessOutcome
from rdev_api.logging import FIELD_ERROR, get_logger
from rdev_api.timeouts import TIMEOUT_LOOKUP, TIMEOUT_STANDARD
from sdlc.backends import KILL_GRACE_SECONDS

SPAWNER: Final = Path(__file__).with_name("spawner.py")
IDLE_S: Final = 30.0
MAX_AGE_S: Final = 600.0
SWEEP_MIN_S: Final = 1.0
# a kill is answered by the spawner within its grace; past this, the sandbox is given up on
KILL_ANSWER_S: Final = 2 * KILL_GRACE_SECONDS + TIMEOUT_LOOKUP
LOST: Final = "the sandbox ended before the command did"
MAX_MESSAGE: Final = 65536
INLINE_REQUEST_BYTES: Final = 32 * 1024  # under a socket's send buffer, whatever the machine's
log = get_logger("executor")


class SandboxFailed(Exception):
    """A sandbox could not be started, or took no command."""


class Zygote:
    """One bwrap with the spawner in it, for the commands of one workspace."""

    def __init__(self, prefix: Sequence[str], workspace: Path, detached_grace_s: float) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        spawner = [sys.executable, "-I", "-S", str(SPAWNER), str(theirs.fileno())]
        spawner += [f"{detached_grace_s:g}", f"{KILL_GRACE_SECONDS:g}"]
        try:
            self.process = subprocess.Popen(
                [*prefix, *spawner],
                cwd="/",  # bwrap's --chdir is the workspace
                env={"PATH": os.environ.get("PATH", os.defpath)},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                pass_fds=[theirs.fileno()],
                start_new_session=True,
            )
        except OSError as err:
            ours.close()
            raise SandboxFailed(f"could not start bwrap: {err.strerror or err}") from err
        finally:
            theirs.close()
        self.control = ours
        self.workspace = workspace
        self.identity = _identity(workspace)
        self.started = time.monotonic()
        self.idle_since = self.started
        self.running = 0
        self.retired = False
        self.said = ""
        ours.settimeout(TIMEOUT_STANDARD)
        try:
            ready = ours.recv(MAX_MESSAGE)
        except OSError:
            ready = b""
        ours.settimeout(None)
        if ready != b'{"ready": true}':
            self.close()
            raise SandboxFailed(f"the sandbox did not start: {self.said or 'no output'}")

    def send(self, request: dict[str, Any], fds: list[int]) -> None:
        """One message; a request too big for one (a long prompt, a large environment) goes
        in a memfd passed with it."""
        data = json.dumps(request).encode()
        if len(data) <= INLINE_REQUEST_BYTES:
            self._sendmsg(data, fds)
            return
        memfd = os.memfd_create("rdev-command", os.MFD_CLOEXEC)
        try:
            os.write(memfd, data)  # a memfd takes it all at once
            os.lseek(memfd, 0, os.SEEK_SET)  # the offset travels with the descriptor
            self._sendmsg(b"{}", [*fds, memfd])
        finally:
            os.close(memfd)

    def _sendmsg(self, data: bytes, fds: list[int]) -> None:
        rights = array.array("i", fds)
        self.control.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, rights)])

    def fits(self, workspace: Path, born_after: float, busy_since: float) -> bool:
        """Whether the next command of `workspace` may run here: not too old, not idle too long
        (the sweeper's to end), alive, and the workspace the same directory (a project deleted
        and made again gets a new one)."""
        return (
            self.started > born_after
            and (self.running > 0 or self.idle_since > busy_since)
            and self.process.poll() is None
            and self.identity == _identity(workspace)
        )

    def close(self) -> None:
        """The spawner exits on the closed socket; its namespace ends, and all in it. What
        bwrap or the spawner said on stderr is kept (its last line) in `said`."""
        self.control.close()
        try:
            self.process.wait(TIMEOUT_LOOKUP)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        stderr: IO[bytes] | None = self.process.stderr
        if stderr is not None:
            lines = stderr.read().decode(errors="replace").strip().splitlines()
            self.said = lines[-1] if lines else ""
            stderr.close()


def _identity(workspace: Path) -> tuple[int, int] | None:
    try:
        stat = os.stat(workspace)
    except OSError:
        return None
    return (stat.st_dev, stat.st_ino)


class ZygotePool:
    """The zygotes, one per bwrap argument set (a project's workspace, mostly)."""

    def __init__(self, detached_grace_s: float, idle_s: float = IDLE_S, max_age_s: float = MAX_AGE_S) -> None:
        self.detached_grace_s = detached_grace_s
        self.idle_s = idle_s
        self.max_age_s = max_age_s
        self._zygotes: dict[tuple[str, ...], Zygote] = {}
        self._retired: list[Zygote] = []
        self._guard = threading.Lock()
        self._closing = threading.Event()
        self._sweeper: threading.Thread | None = None  # started with the first zygote

    def send(
        self, prefix: tuple[str, ...], workspace: Path, request: dict[str, Any], fds: list[int]
    ) -> Zygote:
        """Hand a command to the zygote of `prefix` (started when needed); the zygote it went
        to, to `release` once the command has ended. Raises SandboxFailed."""
        for attempt in range(2):
            zygote = self._acquire(prefix, workspace)
            try:
                zygote.send(request, fds)
                return zygote
            except ConnectionError as err:  # it has ended meanwhile: once more with a new one
                self.release(zygote, broken=True)
                if attempt:
                    raise SandboxFailed(f"the sandbox took no command: {err.strerror or err}") from err
            except OSError as err:  # the request's doing, not the sandbox's
                self.release(zygote)
                raise SandboxFailed(f"the command could not be handed over: {err.strerror or err}") from err
        raise AssertionError("unreachable")

    def _acquire(self, prefix: tuple[str, ...], workspace: Path) -> Zygote:
        with self._guard:
            now = time.monotonic()
            zygote = self._zygotes.get(prefix)
            if zygote is not None and not zygote.fits(workspace, now - self.max_age_s, now - self.idle_s):
                self._retire(prefix, zygote)
                zygote = None
            if zygote is None:
                zygote = self._zygotes[prefix] = Zygote(prefix, workspace, self.detached_grace_s)
                if self._sweeper is None:
                    self._sweeper = threading.Thread(target=self._sweep, name="sandbox-sweeper", daemon=True)
                    self._sweeper.start()
            zygote.running += 1
            return zygote

    def _sweep(self) -> None:
        """Idle sandboxes end even when no command comes to notice them (each holds a bwrap and
        a Python process)."""
        while not self._closing.wait(max(SWEEP_MIN_S, self.idle_s / 2)):
            with self._guard:
                self._close_idle(time.monotonic())

    def release(self, zygote: Zygote, broken: bool = False) -> None:
        with self._guard:
            zygote.running -= 1
            zygote.idle_since = time.monotonic()
            if broken and not zygote.retired:
                for prefix, known in list(self._zygotes.items()):
                    if known is zygote:
                        self._retire(prefix, zygote)
            if zygote.retired and zygote.running == 0 and zygote in self._retired:
                self._retired.remove(zygote)
                zygote.close()

    def _retire(self, prefix: tuple[str, ...], zygote: Zygote) -> None:
        del self._zygotes[prefix]
        zygote.retired = True
        if zygote.running:
            self._retired.append(zygote)
        else:
            zygote.close()

    def _close_idle(self, now: float) -> None:
        for prefix, zygote in list(self._zygotes.items()):
            if zygote.running == 0 and now - zygote.idle_since >= self.idle_s:
                self._retire(prefix, zygote)

    def close(self) -> None:
        """At shutdown: every sandbox ends, with what still runs in it."""
        self._closing.set()
        with self._guard:
            zygotes = [*self._zygotes.values(), *self._retired]
            self._zygotes, self._retired = {}, []
        for zygote in zygotes:
            zygote.close()


class SandboxedProcess:
    """One command started by a zygote's spawner; `wait()` returns how it ended, `cancel()`
    from any thread."""

    def __init__(
        self,
        pool: ZygotePool,
        prefix: tuple[str, ...],
        workspace: Path,
        request: dict[str, Any],
        timeout_s: float,
        on_chunk: OnChunk,
        stdin: bytes | None,
    ) -> None:
        self.timeout_s = timeout_s
        self.on_chunk = on_chunk
        self.pool = pool
        self._cancelled = threading.Event()
        self.started = time.monotonic()
        self.status: int | None = None  # the wait status, once the spawner has reported it
        self.error: str | None = None
        self.stdout, out_w = os.pipe()
        self.stderr, err_w = os.pipe()
        in_r, in_w = os.pipe() if stdin is not None else (os.open(os.devnull, os.O_RDONLY), -1)
        self.reply, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.zygote: Zygote | None = None
        try:
            self.zygote = pool.send(prefix, workspace, request, [in_r, out_w, err_w, theirs.fileno()])
        except SandboxFailed as err:
            self.error = str(err)
            log.warning(f"a command could not start: {err}", extra={FIELD_ERROR: str(err)})
        finally:
            for fd in (in_r, out_w, err_w):
                os.close(fd)
            theirs.close()
        if in_w >= 0:
            if self.zygote is None:
                os.close(in_w)
            else:  # a thread: a command that does not read its stdin must not block the reading
                pipe = os.fdopen(in_w, "wb")
                threading.Thread(target=write_stdin, args=(pipe, stdin), daemon=True).start()

    @property
    def pgid(self) -> int | None:
        return None  # inside the sandbox's pid namespace, which ends with the server

    def cancel(self) -> None:
        self._cancelled.set()

    def wait(self) -> ProcessOutcome:
        try:
            if self.zygote is None:
                return ProcessOutcome.not_started(self.error or "")
            pipes = Pipes(
                {"stdout": self.stdout, "stderr": self.stderr},
                self.on_chunk,
                self.reply.fileno(),
                self._ended,
            )
            try:
                timed_out = self._supervise(pipes, self.started + self.timeout_s)
                pipes.flush()
            finally:
                pipes.close()
        finally:
            self._close()
        if self.status is None:
            return ProcessOutcome(None, None, timed_out, False, self.error or LOST)
        return ProcessOutcome.of_exit(
            os.waitstatus_to_exitcode(self.status), timed_out, self._cancelled.is_set()
        )

    def _supervise(self, pipes: Pipes, deadline: float) -> bool:
        """Until the spawner reports the end (True: the command timed out); output flushed on
        time meanwhile, the pipes read out at the end."""
        killed_at: float | None = None
        timed_out = False
        while True:
            now = time.monotonic()
            if killed_at is None and (self._cancelled.is_set() or now >= deadline):
                timed_out = not self._cancelled.is_set()
                killed_at = now
                with contextlib.suppress(OSError):  # it ended meanwhile
                    self.reply.send(b'{"kill": true}')
            if pipes.exited:
                pipes.drain(KILLED_DRAIN_SECONDS if killed_at is not None else DRAIN_SECONDS)
                return timed_out
            if killed_at is not None and now - killed_at > KILL_ANSWER_S:
                return timed_out  # the spawner does not answer: reported as lost
            limit = deadline - now if killed_at is None else POLL_SECONDS
            pipes.wait(min(pipes.until_due(now), max(0.0, limit)))

    def _ended(self) -> bool:
        """Read what the spawner said; True once the command has ended (or the sandbox)."""
        try:
            data = self.reply.recv(MAX_MESSAGE)
        except OSError:
            data = b""
        if not data:
            return True
        said = json.loads(data)
        if "failed" in said:
            self.error = str(said["failed"])
            return True
        if "exited" in said:
            self.status = int(said["exited"])
            return True
        return False  # started

    def _close(self) -> None:
        for fd in (self.stdout, self.stderr):
            os.close(fd)
        self.reply.close()
        if self.zygote is not None:
            self.pool.release(self.zygote)
            self.zygote = None
