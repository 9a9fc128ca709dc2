"""`rdev commands` against the real API: list per project with a status filter, get, logs of
finished and running commands (--tail, --since, --timestamps, -f to the remote exit code,
output modes), cancel and wait (exit 8 while still running, --exit-code)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from conftest import RdevCli
from rdev_cli.commands import parse_since, records_of, split_lines

RFC3339 = "%Y-%m-%dT%H:%M:%S"


@pytest.fixture
def project(rdev: RdevCli) -> dict[str, Any]:
    found: dict[str, Any] = rdev.json("projects", "create", "demo", "--wait")
    return found


def detach(rdev: RdevCli, *args: str) -> str:
    started = rdev("exec", "demo", "--detach", *args)
    assert started.code == 0, started
    return str(started.out).strip()


def finished(rdev: RdevCli, command_id: str) -> dict[str, Any]:
    done: dict[str, Any] = rdev.json("commands", "wait", command_id, "--timeout", "60")
    return done


def assert_error(result: Any, code: int, *fragments: str) -> None:
    assert result.code == code, result
    assert result.err.startswith("Error: ") and "Hint: " in result.err and "Traceback" not in result.err
    for fragment in fragments:
        assert fragment in result.err, result.err


def test_list_get_and_filters(rdev: RdevCli, project: dict[str, Any]) -> None:
    assert rdev.json("commands", "list", "demo") == []
    ok = detach(rdev, "--", "true")
    failed = detach(rdev, "--", "false")
    assert finished(rdev, ok)["status"] == "succeeded" and finished(rdev, failed)["exit_code"] == 1
    listed = rdev.ok("commands", "ls", "demo")
    rows = [line.split("\t") for line in listed.out.splitlines()]
    assert [row[:5] for row in rows] == [
        [ok, "demo", "shell", "succeeded", "0"],
        [failed, "demo", "shell", "failed", "1"],
    ]
    assert rdev.ok("commands", "list", "--project", "demo", "--status", "failed", "-q").out == f"{failed}\n"
    got = rdev.json("commands", "get", ok)
    assert got["request"]["argv"] == ["true"] and got["finished_at"]

    assert_error(rdev("commands", "list"), 2, "per project", "rdev commands list PROJECT")
    assert_error(rdev("commands", "list", "demo", "--status", "done"), 2, "timed_out")
    assert_error(rdev("commands", "list", "ghost"), 3, "rdev projects list")
    assert_error(rdev("commands", "get", "cmd_nope"), 3, "no command cmd_nope", "rdev commands list")
    assert_error(rdev("commands", "logs", "cmd_nope"), 3, "rdev commands list")
    assert_error(rdev("commands", "logs", "cmd_nope", "-f"), 3)
    assert_error(rdev("commands", "wait", "cmd_nope"), 3)


def test_logs_of_a_finished_command(rdev: RdevCli, project: dict[str, Any]) -> None:
    # pauses: stdout and stderr are two pipes, only time orders them
    script = (
        "for i in 1 2 3 4 5; do echo line-$i; done; sleep 0.2; echo oops >&2; sleep 0.2;"
        " printf 'no newline'; exit 4"
    )
    command_id = detach(rdev, "--script", script)
    finished(rdev, command_id)
    lines = [f"line-{i}\n" for i in range(1, 6)]

    logs = rdev("commands", "logs", command_id)
    assert (logs.code, logs.out, logs.err) == (0, "".join(lines) + "no newline", "oops\n")
    followed = rdev("commands", "logs", command_id, "-f")
    assert (followed.code, followed.out) == (4, logs.out)

    tail = rdev("commands", "logs", command_id, "--tail", "2")  # stdout and stderr lines count
    assert (tail.code, tail.out, tail.err) == (0, "no newline", "oops\n")
    tail = rdev("commands", "logs", command_id, "--tail", "4")
    assert (tail.out, tail.err) == ("line-4\nline-5\nno newline", "oops\n")
    assert rdev("commands", "logs", command_id, "--tail", "0").out == ""

    stamped = rdev("commands", "logs", command_id, "--timestamps")
    assert stamped.code == 0
    for line in stamped.out.splitlines():
        moment, text = line.split(" ", 1)
        assert abs(datetime.fromisoformat(moment) - datetime.now(UTC)) < timedelta(minutes=5)
        assert text in ("no newline", *(x.strip() for x in lines))

    assert rdev("commands", "logs", command_id, "--since", "1h").out == logs.out
    later = (datetime.now(UTC) + timedelta(minutes=1)).strftime(RFC3339) + "Z"
    since_later = rdev("commands", "logs", command_id, "--since", later)
    assert (since_later.code, since_later.out, since_later.err) == (0, "", "")
    assert_error(rdev("commands", "logs", command_id, "--since", "yesterday"), 2, "--since 10m")

    jsonl = rdev("commands", "logs", command_id, "-o", "jsonl", "--tail", "1")
    events = [json.loads(line) for line in jsonl.out.splitlines()]
    assert [e["event"] for e in events] == ["status", "output", "status", "end"]
    assert events[1]["data"]["data"] == "no newline" and events[-1]["data"]["exit_code"] == 4
    as_json = rdev.json("commands", "logs", command_id)
    assert [e["id"] for e in as_json] == list(range(1, len(as_json) + 1))
    assert all(isinstance(e["data"]["ts"], str) for e in as_json)


def test_logs_of_a_running_command_then_follow_to_its_end(
    rdev: RdevCli, project: dict[str, Any], tmp_path: Path
) -> None:
    script = (
        "for i in 1 2 3; do echo line-$i; done; while [ ! -f go ]; do sleep 0.05; done; echo late; exit 3"
    )
    command_id = detach(rdev, "--script", script)
    deadline = time.monotonic() + 30
    while (so_far := rdev("commands", "logs", command_id)).out != "line-1\nline-2\nline-3\n":
        assert so_far.code == 0 and time.monotonic() < deadline, so_far
        time.sleep(0.05)
    assert rdev.json("commands", "get", command_id)["status"] == "running"
    still = rdev("commands", "wait", command_id, "--timeout", "0.3")
    assert_error(still, 8, "still running", f"rdev commands wait {command_id}")

    follower = subprocess.Popen(
        [sys.executable, "-m", "rdev_cli", "commands", "logs", command_id, "-f", "--tail", "2"],
        env={**os.environ, **rdev.env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert follower.stdout is not None
        assert [follower.stdout.readline(), follower.stdout.readline()] == ["line-2\n", "line-3\n"]
        (Path(project["workspace"]) / "go").write_text("")
        out, err = follower.communicate(timeout=30)
    finally:
        with contextlib.suppress(ProcessLookupError):
            follower.kill()
    assert (follower.returncode, out) == (3, "late\n"), err
    done = rdev("commands", "wait", command_id, "--exit-code", "-o", "json")
    assert done.code == 3 and json.loads(done.out)["exit_code"] == 3


def test_cancel_and_wait(rdev: RdevCli, project: dict[str, Any]) -> None:
    command_id = detach(rdev, "--script", "echo started; sleep 300")
    deadline = time.monotonic() + 30
    while rdev("commands", "logs", command_id).out != "started\n":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    cancelled = rdev("commands", "cancel", command_id)
    assert cancelled.code == 0 and cancelled.out.startswith(command_id), cancelled
    assert f"rdev commands wait {command_id}" in cancelled.err
    waited = rdev("commands", "wait", command_id, "--timeout", "30")
    assert waited.code == 0 and waited.out.split("\t")[3] == "cancelled", waited
    by_signal = rdev("commands", "wait", command_id, "--exit-code")  # ended by cancel's signal
    assert by_signal.code == 128 + rdev.json("commands", "get", command_id)["signal"]
    assert_error(rdev("commands", "cancel", command_id), 5, "nothing to cancel")


def test_line_assembly_and_since_parsing() -> None:
    assert (
        split_lines("a\nb\n") == ["a\n", "b\n"]
        and split_lines("a\nb") == ["a\n", "b"]
        and split_lines("") == []
    )
    events: list[tuple[int, str, dict[str, Any]]] = [
        (1, "output", {"stream": "stdout", "data": "one\ntw", "ts": "t1"}),
        (2, "output", {"stream": "stderr", "data": "err\n", "ts": "t2"}),
        (3, "output", {"stream": "stdout", "data": "o\nthree", "ts": "t3"}),
        (4, "agent", {"type": "assistant", "content": [{"type": "text", "text": "hi"}], "ts": "t4"}),
    ]
    assert [(r.stream, r.text, r.ts) for r in records_of(events)] == [
        ("stdout", "one\n", "t1"),
        ("stderr", "err\n", "t2"),
        ("stdout", "two\n", "t1"),
        ("stdout", "hi\n", "t4"),
        ("stdout", "three", "t3"),
    ]
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert parse_since("90s", now) == now - timedelta(seconds=90)
    assert parse_since("2h", now) == now - timedelta(hours=2)
    assert parse_since("2024-05-01T10:00:00Z") == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert parse_since("2024-05-01T10:00:00") == datetime(2024, 5, 1, 10, tzinfo=UTC)
