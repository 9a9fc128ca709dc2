"""Local processes for commands: each in its own process group, output read from stdout and
stderr as it comes and handed on in chunks of at most 64 KiB or 50 ms, a timeout or a cancel
ending the whole group (spec/rdev-api.md "Commands")."""

from __future__ import annotations

import codecs
import os
import select
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from rdev_api.domain.commands import ProcessOutcome
from sdlc.backends import group_alive, kill_group

Stream = Literal["stdout", "stderr"]
CHUNK_BYTES = 64 * 1024
CHUNK_SECONDS = 0.05
DRAIN_SECONDS = 0.5
OnChunk = Callable[[Stream, str], None]


class _Batcher:
    """Joins reads of one stream into chunks: flushed at 64 KiB, or 50 ms after the first
    unflushed byte; UTF-8 decoded without splitting a character."""

    def __init__(self, stream: Stream, on_chunk: OnChunk) -> None:
        self.stream = stream
        self.on_chunk = on_chunk
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.pending = ""
        self.size = 0
        self.since = 0.0
        self.lock = threading.Lock()

    def add(self, data: bytes) -> None:
        with self.lock:
            if self.pending and self.size + len(data) > CHUNK_BYTES:
                self._flush()
            text = self.decoder.decode(data)
            if text and not self.pending:
                self.since = time.monotonic()
            self.pending += text
            self.size += len(data)
            if self.size >= CHUNK_BYTES:
                self._flush()

    def tick(self, final: bool = False) -> None:
        with self.lock:
            if final:
                self.pending += self.decoder.decode(b"", final=True)
            if self.pending and (final or time.monotonic() - self.since >= CHUNK_SECONDS):
                self._flush()

    def _flush(self) -> None:
        if self.pending:
            self.on_chunk(self.stream, self.pending)
        self.pending, self.size = "", 0


class _ExitWatch:
    """Waits for `proc` to exit, woken by the exit itself through a pidfd (Linux); elsewhere
    Popen.wait(timeout), which polls with growing sleeps (a 5 ms command noticed after 8)."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        try:
            self.pidfd: int | None = os.pidfd_open(proc.pid)
        except (AttributeError, OSError):
            self.pidfd = None

    def exited(self, timeout: float) -> bool:
        if self.pidfd is None:
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                return False
            return True
        ready, _, _ = select.select([self.pidfd], [], [], timeout)
        return bool(ready) and self.proc.poll() is not None

    def close(self) -> None:
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None


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
        contained: bool = False,
    ) -> None:
        self.timeout_s = timeout_s
        # contained: nothing of the group outlives the leader (a pid namespace ends with it), so
        # no sweep of /proc after the exit (zombies of the namespace can keep the group id in
        # use for a while, which would make every exit pay for a scan)
        self.contained = contained
        self._cancelled = threading.Event()
        self._batchers = {name: _Batcher(name, on_chunk) for name in ("stdout", "stderr")}
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
        self._readers = [
            threading.Thread(target=self._read, args=(pipe, self._batchers[name]), daemon=True)
            for name, pipe in (("stdout", self.proc.stdout), ("stderr", self.proc.stderr))
        ]
        for reader in self._readers:
            reader.start()
        if stdin is not None and self.proc.stdin is not None:
            threading.Thread(target=self._write, args=(self.proc.stdin, stdin), daemon=True).start()

    @property
    def pgid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def cancel(self) -> None:
        self._cancelled.set()

    def wait(self) -> ProcessOutcome:
        if self.proc is None:
            return ProcessOutcome(None, None, False, False, self.start_error)
        watch = _ExitWatch(self.proc)
        try:
            timed_out = self._supervise(watch, self.started + self.timeout_s)
        finally:
            watch.close()
        for reader in self._readers:
            reader.join(timeout=2)
        for batcher in self._batchers.values():
            batcher.tick(final=True)
        code = self.proc.wait()
        signal_number = -code if code < 0 else None
        return ProcessOutcome(
            None if signal_number else code,
            signal_number,
            timed_out,
            self._cancelled.is_set() and not timed_out,
        )

    def _supervise(self, watch: _ExitWatch, deadline: float) -> bool:
        """Until the process exits, is cancelled or times out (True); output flushed on time
        meanwhile; at the end, nothing of its group left running."""
        assert self.proc is not None
        while True:
            for batcher in self._batchers.values():
                batcher.tick()
            if self._cancelled.is_set() or time.monotonic() >= deadline:
                kill_group(self.proc)
                return not self._cancelled.is_set()
            if watch.exited(min(CHUNK_SECONDS / 2, max(0.0, deadline - time.monotonic()))):
                for reader in self._readers:  # what is left in the pipes
                    reader.join(timeout=DRAIN_SECONDS)
                # children left behind: end them too
                if not self.contained and group_alive(self.proc.pid, self.proc):
                    kill_group(self.proc)
                return False

    @staticmethod
    def _read(pipe: object, batcher: _Batcher) -> None:
        fd = pipe.fileno()  # type: ignore[attr-defined]
        while True:
            try:
                data = os.read(fd, CHUNK_BYTES)
            except OSError:
                break
            if not data:
                break
            batcher.add(data)

    @staticmethod
    def _write(pipe: object, data: bytes) -> None:
        try:
            pipe.write(data)  # type: ignore[attr-defined]
            pipe.close()  # type: ignore[attr-defined]
        except OSError:
            pass
