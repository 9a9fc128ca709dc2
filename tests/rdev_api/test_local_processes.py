"""Command processes: chunked output in order, exit codes and signals, timeout and cancel
ending the whole process group, children left behind ended too; the command request rules."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from rdev_api.adapters.local.processes import CHUNK_BYTES, LocalProcess
from rdev_api.domain.commands import CommandRequest, status_of_exit
from sdlc.backends import group_alive

ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}


def run(
    argv: list[str], tmp_path: Path, timeout: float = 30, stdin: bytes | None = None
) -> tuple[object, list[tuple[str, str]]]:
    chunks: list[tuple[str, str]] = []
    process = LocalProcess(
        argv, tmp_path, ENV, timeout, lambda stream, text: chunks.append((stream, text)), stdin
    )
    return process.wait(), chunks


def test_output_arrives_complete_in_order_and_in_bounded_chunks(tmp_path: Path) -> None:
    script = (
        "import sys\nfor i in range(20000):\n    print(f'line {i:05d} ' + 'é' * 10)\n"
        "print('to stderr', file=sys.stderr)\n"
    )
    finished, chunks = run([sys.executable, "-c", script], tmp_path)
    assert finished.exit_code == 0 and not finished.timed_out  # type: ignore[attr-defined]
    stdout = "".join(text for stream, text in chunks if stream == "stdout")
    lines = stdout.splitlines()
    assert lines == [f"line {i:05d} " + "é" * 10 for i in range(20000)]
    assert "".join(t for s, t in chunks if s == "stderr") == "to stderr\n"
    assert all(len(text.encode()) <= CHUNK_BYTES + 4 for _, text in chunks)
    assert len(chunks) > 2


def test_exit_codes_and_signals(tmp_path: Path) -> None:
    finished, _ = run(["sh", "-c", "exit 7"], tmp_path)
    assert (finished.exit_code, finished.signal) == (7, None)  # type: ignore[attr-defined]
    finished, _ = run(["sh", "-c", "kill -TERM $$"], tmp_path)
    assert (finished.exit_code, finished.signal) == (None, 15)  # type: ignore[attr-defined]
    finished, _ = run(["/no/such/program"], tmp_path)
    assert "could not start" in (finished.error or "")  # type: ignore[attr-defined]


def test_stdin_is_fed(tmp_path: Path) -> None:
    finished, chunks = run(["cat"], tmp_path, stdin=b"hello prompt")
    assert "".join(t for _, t in chunks) == "hello prompt" and finished.exit_code == 0  # type: ignore[attr-defined]


def test_timeout_kills_the_whole_group(tmp_path: Path) -> None:
    started = time.monotonic()
    chunks: list[tuple[str, str]] = []
    process = LocalProcess(
        ["sh", "-c", "echo begin; sleep 300 & sleep 300"],
        tmp_path,
        ENV,
        1,
        lambda s, t: chunks.append((s, t)),
    )
    finished = process.wait()
    assert finished.timed_out and not finished.cancelled and finished.signal is not None
    assert time.monotonic() - started < 20
    assert not group_alive(process.pgid or 0)
    assert chunks == [("stdout", "begin\n")]


def test_cancel_from_another_thread(tmp_path: Path) -> None:
    process = LocalProcess(["sh", "-c", "sleep 300"], tmp_path, ENV, 300, lambda s, t: None)
    threading.Timer(0.3, process.cancel).start()
    finished = process.wait()
    assert finished.cancelled and not finished.timed_out
    assert not group_alive(process.pgid or 0)
    assert status_of_exit(finished.exit_code, finished.timed_out, finished.cancelled) == "cancelled"


def test_children_left_behind_are_ended_without_a_timeout(tmp_path: Path) -> None:
    started = time.monotonic()
    process = LocalProcess(["sh", "-c", "sleep 300 & echo done"], tmp_path, ENV, 60, lambda s, t: None)
    finished = process.wait()
    assert finished.exit_code == 0 and not finished.timed_out
    assert time.monotonic() - started < 20 and not group_alive(process.pgid or 0)


def test_command_requests() -> None:
    assert CommandRequest(kind="shell", script="ls").argv_for() == ["sh", "-c", "ls"]
    assert CommandRequest(kind="git", argv=["status"]).argv_for() == ["git", "status"]
    assert CommandRequest(kind="claude", prompt="hi").argv_for(["claude", "-p", "hi"]) == [
        "claude",
        "-p",
        "hi",
    ]
    for bad in (
        {"kind": "git", "argv": ["config", "--global", "x"]},
        {"kind": "shell"},
        {"kind": "shell", "argv": ["ls"], "script": "ls"},
        {"kind": "claude", "script": "ls"},
        {"kind": "shell", "script": "ls", "env": {"PATH": "/evil"}},
        {"kind": "shell", "script": "ls", "env": {"lower": "x"}},
        {"kind": "shell", "script": "ls", "timeout_s": 0},
    ):
        with pytest.raises(ValidationError):
            CommandRequest.model_validate(bad)


def test_the_waiting_thread_reads_the_output_and_no_thread_is_started(tmp_path: Path) -> None:
    before = set(threading.enumerate())
    readers: set[int] = set()
    chunks: list[tuple[str, str]] = []

    def on_chunk(stream: str, text: str) -> None:
        readers.add(threading.get_ident())
        chunks.append((stream, text))

    process = LocalProcess(["sh", "-c", "echo out; echo err >&2"], tmp_path, ENV, 30, on_chunk)
    assert set(threading.enumerate()) - before == set()
    finished = process.wait()
    assert finished.exit_code == 0 and readers == {threading.get_ident()}
    assert sorted(chunks) == [("stderr", "err\n"), ("stdout", "out\n")]


def test_a_chunk_goes_out_while_the_command_runs_and_never_splits_a_character(tmp_path: Path) -> None:
    script = (
        "import sys, time\nout = sys.stdout.buffer\n"
        "out.write(b'a\\xc3'); out.flush(); time.sleep(1); out.write(b'\\xa9b'); out.flush()\n"
    )
    finished, chunks = run([sys.executable, "-c", script], tmp_path)
    assert finished.exit_code == 0  # type: ignore[attr-defined]
    assert chunks == [("stdout", "a"), ("stdout", "éb")]


def test_a_pipe_held_open_by_a_detached_child_does_not_hold_the_wait(tmp_path: Path) -> None:
    # in a session of its own, the child outlives the sweep of the group and holds stdout
    process = LocalProcess(
        ["sh", "-c", "setsid sleep 60 & echo $! > detached; echo done"], tmp_path, ENV, 60, lambda s, t: None
    )
    started = time.monotonic()
    try:
        finished = process.wait()
        assert finished.exit_code == 0 and time.monotonic() - started < 2
    finally:
        with contextlib.suppress(ProcessLookupError, ValueError, FileNotFoundError):
            os.kill(int((tmp_path / "detached").read_text()), signal.SIGKILL)


def test_a_command_writing_without_pause_is_cancelled(tmp_path: Path) -> None:
    sizes: list[int] = []
    process = LocalProcess(["yes"], tmp_path, ENV, 300, lambda s, t: sizes.append(len(t.encode())))
    threading.Timer(0.3, process.cancel).start()
    started = time.monotonic()
    finished = process.wait()
    assert finished.cancelled and not group_alive(process.pgid or 0)
    assert time.monotonic() - started < 10
    assert len(sizes) > 1 and max(sizes) <= CHUNK_BYTES


def test_output_that_cannot_be_handed_on_ends_the_command(tmp_path: Path) -> None:
    def broken(stream: str, text: str) -> None:
        raise RuntimeError("the store is gone")

    process = LocalProcess(["sh", "-c", "echo hi; sleep 300"], tmp_path, ENV, 300, broken)
    with pytest.raises(RuntimeError, match="the store is gone"):
        process.wait()
    assert not group_alive(process.pgid or 0)
