"""The sandbox kept for a project's commands (adapters/local/zygote.py and spawner.py), driven
through the runner the server uses: commands of a workspace share one bwrap and each still
ends cleanly; the sandbox is replaced when idle, too old, gone, or its workspace made again;
shutdown ends what runs in it. Skipped where bwrap does not work (test_sandbox.py covers the
plain mode there)."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from test_sandbox import MARK, marked, needs_bwrap, none_marked

from rdev_api.adapters.local.sandbox import SandboxedRunner
from rdev_api.adapters.local.zygote import LOST, Zygote
from rdev_api.domain.commands import ProcessOutcome

pytestmark = needs_bwrap
ENV = {"PATH": os.environ.get("PATH", os.defpath)}


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    space = tmp_path / "data" / "workspaces" / "p"
    space.mkdir(parents=True)
    return space


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[SandboxedRunner]:
    made = SandboxedRunner(tmp_path / "data", "bwrap")
    yield made
    made.close()


def run(
    runner: SandboxedRunner, workspace: Path, argv: list[str], timeout_s: float = 30, **env: str
) -> tuple[ProcessOutcome, str]:
    out: list[str] = []
    process = runner(argv, workspace, {**ENV, **env}, timeout_s, lambda stream, text: out.append(text))
    return process.wait(), "".join(out)


def zygotes(runner: SandboxedRunner) -> list[Zygote]:
    return list(runner.pool._zygotes.values())


def test_commands_of_a_workspace_share_one_sandbox_each_in_a_session_of_its_own(
    runner: SandboxedRunner, workspace: Path
) -> None:
    session = ["sh", "-c", "read -r line < /proc/self/stat; set -- ${line##*') '}; echo $4 $$"]
    first, said_first = run(runner, workspace, session)
    (sandbox,) = zygotes(runner)
    second, said_second = run(runner, workspace, session)
    assert first.exit_code == second.exit_code == 0
    assert zygotes(runner) == [sandbox] and sandbox.process.poll() is None
    for said in (said_first, said_second):  # a session leader: its session id is its pid
        sid, pid = said.split()
        assert sid == pid
    assert said_first != said_second
    # the private /tmp is the sandbox's: shared by the commands of the project
    assert run(runner, workspace, ["sh", "-c", "echo kept > /tmp/note"])[0].exit_code == 0
    assert run(runner, workspace, ["cat", "/tmp/note"])[1] == "kept\n"


def test_a_command_starts_with_default_signal_dispositions_and_its_exit_status(
    runner: SandboxedRunner, workspace: Path
) -> None:
    outcome, said = run(runner, workspace, ["grep", "SigIgn", "/proc/self/status"])
    # no standard signal ignored (SIGPIPE and SIGXFSZ are, in Python); glibc's posix_spawn
    # leaves its two internal real-time signals ignored, which glibc programs set up again
    standard = (1 << 31) - 1  # signals 1 to 31
    assert outcome.exit_code == 0 and int(said.split()[1], 16) & standard == 0
    assert run(runner, workspace, ["sh", "-c", "exit 7"])[0].exit_code == 7
    killed, _ = run(runner, workspace, ["sh", "-c", "kill -9 $$"])
    assert killed.exit_code is None and killed.signal == signal.SIGKILL
    piped, said = run(runner, workspace, ["sh", "-c", "yes | head -n 2"])
    assert piped.exit_code == 0 and said == "y\ny\n"


def test_stdin_and_programs_that_cannot_start(runner: SandboxedRunner, workspace: Path) -> None:
    out: list[str] = []
    process = runner(["cat"], workspace, ENV, 30, lambda stream, text: out.append(text), stdin=b"given")
    assert process.wait().exit_code == 0 and out == ["given"]
    (workspace / "not-a-program").write_text("\x7fELF garbage")
    (workspace / "not-a-program").chmod(0o755)
    outcome, _ = run(runner, workspace, ["./not-a-program"])
    assert outcome.exit_code is None and outcome.error is not None
    assert outcome.error.startswith("could not start ./not-a-program: ")
    missing, _ = run(runner, workspace, ["rdev-no-such-program"])
    assert missing.error == "could not start rdev-no-such-program: not found or not executable"


def test_many_commands_at_once(runner: SandboxedRunner, workspace: Path) -> None:
    with ThreadPoolExecutor(max_workers=12) as pool:
        done = list(pool.map(lambda n: run(runner, workspace, ["sh", "-c", f"echo {n}"]), range(60)))
    assert [(outcome.exit_code, said) for outcome, said in done] == [(0, f"{n}\n") for n in range(60)]
    assert len(zygotes(runner)) == 1 and zygotes(runner)[0].running == 0


def test_a_timeout_ends_the_command_and_what_it_detached(runner: SandboxedRunner, workspace: Path) -> None:
    mark = uuid.uuid4().hex
    script = "setsid sleep 300 & sleep 300 & sleep 300"
    began = time.monotonic()
    outcome, _ = run(runner, workspace, ["sh", "-c", script], timeout_s=1, **{MARK: mark})
    assert outcome.timed_out and outcome.signal == signal.SIGTERM
    assert time.monotonic() - began < 5 and none_marked(mark), marked(mark)
    assert run(runner, workspace, ["true"])[0].exit_code == 0  # the sandbox goes on


def test_a_command_ignoring_sigterm_is_killed_after_the_grace(
    runner: SandboxedRunner, workspace: Path
) -> None:
    mark = uuid.uuid4().hex
    out: list[str] = []
    script = "trap '' TERM; echo ready; while :; do sleep 0.05; done"
    process = runner(["sh", "-c", script], workspace, {**ENV, MARK: mark}, 60, lambda s, t: out.append(t))
    waiter = threading.Thread(target=lambda: out.append(repr(process.wait())))
    waiter.start()
    deadline = time.monotonic() + 10
    while not marked(mark):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    process.cancel()
    waiter.join(30)
    assert not waiter.is_alive() and "cancelled=True" in out[-1] and "signal=9" in out[-1]
    assert none_marked(mark)


def test_an_idle_or_old_sandbox_is_replaced(runner: SandboxedRunner, workspace: Path) -> None:
    run(runner, workspace, ["true"])
    (first,) = zygotes(runner)
    first.idle_since -= runner.pool.idle_s  # idle long enough: the next command ends it
    run(runner, workspace, ["true"])
    (second,) = zygotes(runner)
    assert second is not first and first.process.poll() is not None  # ended, not left behind
    mark = uuid.uuid4().hex
    long = runner(["sleep", "300"], workspace, {**ENV, MARK: mark}, 60, lambda s, t: None)
    try:
        deadline = time.monotonic() + 10
        while not marked(mark):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        # too old: the next command goes to a new sandbox; the old one ends with its last command
        runner.pool.max_age_s = 0.0
        run(runner, workspace, ["true"])
        (third,) = zygotes(runner)
        assert third is not second and second.process.poll() is None
    finally:
        long.cancel()
        long.wait()
    assert second.process.wait(10) is not None


def test_a_workspace_made_again_gets_a_new_sandbox(runner: SandboxedRunner, workspace: Path) -> None:
    run(runner, workspace, ["true"])
    (first,) = zygotes(runner)
    os.rmdir(workspace)
    workspace.mkdir()
    outcome, _ = run(runner, workspace, ["sh", "-c", "echo here > made"])
    assert outcome.exit_code == 0 and (workspace / "made").read_text() == "here\n"
    assert zygotes(runner)[0] is not first


def test_a_sandbox_that_died_is_replaced_and_its_commands_are_reported_lost(
    runner: SandboxedRunner, workspace: Path
) -> None:
    mark = uuid.uuid4().hex
    process = runner(["sleep", "300"], workspace, {**ENV, MARK: mark}, 60, lambda s, t: None)
    deadline = time.monotonic() + 10
    while not marked(mark):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    (sandbox,) = zygotes(runner)
    os.killpg(sandbox.process.pid, signal.SIGKILL)
    outcome = process.wait()
    assert outcome.exit_code is None and outcome.error == LOST
    assert none_marked(mark)
    assert run(runner, workspace, ["sh", "-c", "echo again"]) == (
        ProcessOutcome(0, None, False, False),
        "again\n",
    )


def test_closing_ends_what_runs_in_the_sandboxes(runner: SandboxedRunner, workspace: Path) -> None:
    mark = uuid.uuid4().hex
    script = (
        "import subprocess, time\n"
        "subprocess.Popen(['sleep', '300'], start_new_session=True)\ntime.sleep(300)\n"
    )
    process = runner([sys.executable, "-c", script], workspace, {**ENV, MARK: mark}, 60, lambda s, t: None)
    deadline = time.monotonic() + 10
    while len(marked(mark)) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    runner.close()
    assert none_marked(mark), marked(mark)
    assert process.wait().error == LOST


def test_a_sandbox_that_cannot_start_fails_the_command_with_what_bwrap_said(
    runner: SandboxedRunner, tmp_path: Path
) -> None:
    missing = tmp_path / "data" / "workspaces" / "gone"  # bwrap cannot bind it
    outcome, _ = run(runner, missing, ["true"])
    assert outcome.exit_code is None and outcome.error is not None
    assert outcome.error.startswith("the sandbox did not start: bwrap: "), outcome.error
    assert zygotes(runner) == []


def test_an_idle_sandbox_ends_without_another_command(runner: SandboxedRunner, workspace: Path) -> None:
    runner.pool.idle_s = 0.0  # swept every second
    run(runner, workspace, ["true"])
    (sandbox,) = zygotes(runner)
    assert sandbox.process.wait(10) is not None and zygotes(runner) == []


def test_a_request_too_big_for_one_message_is_handed_over_whole(
    runner: SandboxedRunner, workspace: Path
) -> None:
    big = {f"BIG_{n}": "x" * 100_000 for n in range(4)}  # 400 kB: over a socket's send buffer
    prompt = "y" * 100_000
    outcome, said = run(runner, workspace, ["sh", "-c", "echo ${#BIG_3} ${#1}", "sh", prompt], **big)
    assert outcome.exit_code == 0 and said == "100000 100000\n"
