"""Local processes for commands: each in its own process group, output read from stdout and
stderr as it comes and handed on in chunks of at most 64 KiB or 50 ms, a timeout or a cancel
ending the whole group (spec/rdev-api.md "Commands").

The thread that calls `wait()` does all the reading itself: both pipes and the exit (a pidfd)
in one selector, so a command starts no reader threads (two per command were a large part of
what a short one cost the server); only a command given stdin gets a writer thread."""

from __future__ import annotations

import codecs
import contextlib
import os
import selectors
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Literal

from rdev_api.domain.commands import ProcessOutcome
from sdlc.backends import group_alive, kill_group

Stream = Literal["stdout", "stderr"]
CHUNK_BYTES = 64 * 1024
CHUNK_SECONDS = 0.05
DRAIN_SECONDS = 0.5  # after the exit, for what its children still write
KILLED_DRAIN_SECONDS = 2.0  # after the group was ended, for what is left in the pipes
# a silent command is looked at this often for cancel() (and, without a pidfd, for its exit)
POLL_SECONDS = CHUNK_SECONDS / 2
OnChunk = Callable[[Stream, str], None]


class _Batcher:
    """Joins reads of one stream into chunks: flushed at 64 KiB, or 50 ms after the first
    unflushed byte; UTF-8 decoded without splitting a character. Used by one thread."""

    def __init__(self, stream: Stream, on_chunk: OnChunk) -> None:
        self.stream = stream
        self.on_chunk = on_chunk
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.pending: list[str] = []
        self.size = 0
        self.due = 0.0  # when the pending text must go out

    def add(self, data: bytes, now: float) -> None:
        if self.pending and self.size + len(data) > CHUNK_BYTES:
            self.flush()
        text = self.decoder.decode(data)
        if text:
            if not self.pending:
                self.due = now + CHUNK_SECONDS
            self.pending.append(text)
        self.size += len(data)
        if self.size >= CHUNK_BYTES:
            self.flush()

    def flush(self, final: bool = False) -> None:
        if final:
            tail = self.decoder.decode(b"", final=True)
            if tail:
                self.pending.append(tail)
        if self.pending:
            self.on_chunk(self.stream, "".join(self.pending))
        self.pending, self.size = [], 0


class Pipes:
    """A command's stdout and stderr, read when readable, and its end, seen through `watch`
    (a pidfd, or the socket its spawner reports on) when it becomes readable, all in one
    selector. `ended()` says whether the command has ended: called when `watch` is readable, or
    at each wake-up when there is no `watch`. The owner closes the fds."""

    def __init__(
        self, streams: dict[Stream, int], on_chunk: OnChunk, watch: int | None, ended: Callable[[], bool]
    ) -> None:
        self.on_chunk = on_chunk
        self.ended = ended
        self.batchers: dict[Stream, _Batcher] = {}  # made on the first output: `true` has none
        self.selector = selectors.DefaultSelector()
        self.open = 0
        for name, fd in streams.items():
            os.set_blocking(fd, False)
            self.selector.register(fd, selectors.EVENT_READ, name)
            self.open += 1
        self.watch = watch
        if watch is not None:
            self.selector.register(watch, selectors.EVENT_READ, None)
        self.exited = False

    def wait(self, timeout: float) -> None:
        """Read what becomes readable within `timeout` (noting the exit), then flush the
        chunks that are due."""
        for key, _ in self.selector.select(max(0.0, timeout)):
            if key.data is None:
                if self.ended():
                    # a pidfd stays readable once the process is gone: no more wake-ups from it
                    self.selector.unregister(key.fd)
                    self.exited = True
            else:
                self._read(key.fd, key.data)
        if self.watch is None and not self.exited:
            self.exited = self.ended()
        now = time.monotonic()
        for batcher in self.batchers.values():
            if batcher.pending and now >= batcher.due:
                batcher.flush()

    def until_due(self, now: float) -> float:
        """Seconds until the first pending chunk is due (POLL_SECONDS when none is)."""
        found = POLL_SECONDS
        for batcher in self.batchers.values():
            if batcher.pending:
                found = min(found, batcher.due - now)
        return found

    def drain(self, seconds: float) -> None:
        """Read until both pipes are closed, or for `seconds` at most."""
        end = time.monotonic() + seconds
        while self.open and (left := end - time.monotonic()) > 0:
            self.wait(min(left, self.until_due(time.monotonic())))

    def flush(self) -> None:
        """Hand on what is left, a split character at the very end included."""
        for batcher in self.batchers.values():
            batcher.flush(final=True)

    def close(self) -> None:
        self.selector.close()

    def _read(self, fd: int, name: Stream) -> None:
        try:
            data = os.read(fd, CHUNK_BYTES)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.selector.unregister(fd)
            self.open -= 1
            return
        batcher = self.batchers.get(name)
        if batcher is None:
            batcher = self.batchers[name] = _Batcher(name, self.on_chunk)
        batcher.add(data, time.monotonic())


class LocalProcess:
    """One started command; `wait()` returns how it ended. `cancel()` from any thread."""

    def __init__(
        self,
        argv: list[str],
        cwd: Path,
        env: dict[str, str],
        timeout_s: float,
        on_chunk: OnChunk,
        stdin: bytes | None = None,
    ) -> None:
        self.timeout_s = timeout_s
        self.on_chunk = on_chunk
        self._cancelled = threading.Event()
        self.started = time.monotonic()
        try:
            self.proc: subprocess.Popen[bytes] | None = subprocess.Popen(
                argv,
                cwd=cwd,
                env=env,
                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
            self.start_error: str | None = None
        except OSError as err:
            self.proc, self.start_error = None, f"could not start {argv[0]}: {err.strerror or err}"
            return
        if stdin is not None and self.proc.stdin is not None:
            # a thread: a command that does not read its stdin must not block the reading
            threading.Thread(target=write_stdin, args=(self.proc.stdin, stdin), daemon=True).start()

    @property
    def pgid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def cancel(self) -> None:
        self._cancelled.set()

    def wait(self) -> ProcessOutcome:
        if self.proc is None:
            return ProcessOutcome.not_started(self.start_error or "")
        proc = self.proc
        streams: dict[Stream, int] = {}
        if proc.stdout is not None and proc.stderr is not None:
            streams = {"stdout": proc.stdout.fileno(), "stderr": proc.stderr.fileno()}
        try:
            pidfd: int | None = os.pidfd_open(proc.pid)
        except (AttributeError, OSError):  # not Linux >= 5.3: polled at each wake-up
            pidfd = None
        pipes = Pipes(streams, self.on_chunk, pidfd, lambda: pidfd is not None or proc.poll() is not None)
        try:
            timed_out = self._supervise(pipes, self.started + self.timeout_s)
            pipes.flush()
        except BaseException:
            kill_group(proc)  # its output can no longer be handed on: nothing of it goes on
            raise
        finally:
            pipes.close()
            if pidfd is not None:
                os.close(pidfd)
            for pipe in (proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()
        return ProcessOutcome.of_exit(proc.wait(), timed_out, self._cancelled.is_set())

    def _supervise(self, pipes: Pipes, deadline: float) -> bool:
        """Until the process exits, is cancelled or times out (True); output flushed on time
        meanwhile; at the end, nothing of its group left running and the pipes read out."""
        assert self.proc is not None
        while True:
            now = time.monotonic()
            if self._cancelled.is_set() or now >= deadline:
                kill_group(self.proc)
                pipes.drain(KILLED_DRAIN_SECONDS)
                return not self._cancelled.is_set()
            pipes.wait(min(pipes.until_due(now), deadline - now))
            if pipes.exited:
                pipes.drain(DRAIN_SECONDS)  # what is left in the pipes
                # children left behind: end them too
                if group_alive(self.proc.pid, self.proc):
                    kill_group(self.proc)
                    pipes.drain(KILLED_DRAIN_SECONDS)
                return False


def write_stdin(pipe: IO[bytes], data: bytes) -> None:
    with contextlib.suppress(OSError):  # a command that exits without reading it all
        pipe.write(data)
    with contextlib.suppress(OSError):
        pipe.close()
