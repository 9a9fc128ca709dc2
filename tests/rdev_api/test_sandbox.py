"""Commands in the bubblewrap sandbox (spec/rdev-api.md "Local threat model"), through the real
API: the workspace the one writable path, the data dir invisible, cancel and timeout leaving no
process, `sdlc` working inside; RDEV_SANDBOX=off (and auto without bwrap) logging the warning;
RDEV_SANDBOX=bwrap refusing to start where bwrap does not work. The bwrap-only tests skip on a
machine where bwrap does not work; the plain-mode ones run everywhere."""

from __future__ import annotations

import io
import itertools
import json
import logging
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import ApiServer
from rdev_api.adapters.crypto.aesgcm import MASTER_KEY_FILE
from rdev_api.adapters.local.sandbox import (
    NOT_ISOLATED,
    SandboxUnavailable,
    bwrap_argv,
    bwrap_problem,
    choose_executor,
)
from rdev_api.adapters.sqlite.database import DATABASE_FILE
from rdev_api.envutil import EnvError, get_env_choice
from rdev_api.logging import setup_logging

MARK = "RDEV_SANDBOX_TEST_MARK"
needs_bwrap = pytest.mark.skipif(
    bwrap_problem() is not None,
    reason=f"bwrap does not work on this machine ({bwrap_problem()}); the plain mode is tested instead",
)


# --- helpers ---------------------------------------------------------------------------------


def run_command(api: ApiServer, project: str, **body: Any) -> dict[str, Any]:
    """Start a command and wait for its record to close."""
    with api.admin() as admin:
        started = admin.post(f"/projects/{project}/commands", json=body)
        assert started.status_code == 202, started.text
        return wait_status(admin, started.json()["id"], lambda s: s not in ("queued", "running"))


def wait_status(admin: Any, command_id: str, done: Any, within: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        command: dict[str, Any] = admin.get(f"/commands/{command_id}").json()
        if done(command["status"]):
            return command
        assert time.monotonic() < deadline, command
        time.sleep(0.05)


def output_of(api: ApiServer, command_id: str) -> tuple[str, str]:
    """(stdout, stderr) of a finished command, from its SSE stream."""
    streams = {"stdout": "", "stderr": ""}
    with (
        api.admin() as admin,
        admin.stream("GET", f"/commands/{command_id}/events") as response,
    ):
        event = ""
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "output":
                data = json.loads(line[6:])
                streams[data["stream"]] += data["data"]
            elif line.startswith("data: ") and event == "end":
                break
    return streams["stdout"], streams["stderr"]


def marked(mark: str) -> list[int]:
    """Pids of the live processes whose environment carries `mark` (read from /proc)."""
    found = []
    needle = f"{MARK}={mark}".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as handle:
                if needle in handle.read().split(b"\0"):
                    found.append(int(entry))
        except OSError:  # gone, or a zombie
            continue
    return found


def none_marked(mark: str, within: float = 10) -> bool:
    deadline = time.monotonic() + within
    while marked(mark):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def create_project(api: ApiServer, name: str = "boxed") -> tuple[str, Path]:
    with api.admin() as admin:
        created = admin.post("/projects", json={"name": name})
    assert created.status_code == 201, created.text
    return created.json()["id"], Path(created.json()["workspace"])


@pytest.fixture
def captured_log() -> Iterator[io.StringIO]:
    rdev = logging.getLogger("rdev")
    saved = (list(rdev.handlers), rdev.propagate, rdev.level)
    stream = io.StringIO()
    setup_logging(stream, "json", "info", "")
    yield stream
    rdev.handlers[:], rdev.propagate = saved[0], saved[1]
    rdev.setLevel(saved[2])


def executor_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    return [line for line in lines if line["component"] == "executor"]


@pytest.fixture
def sandboxed(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> ApiServer:
    """The API with RDEV_SANDBOX=bwrap: a start-up that would fall back to plain fails instead."""
    monkeypatch.setenv("RDEV_SANDBOX", "bwrap")
    api: ApiServer = request.getfixturevalue("api_server")
    return api


@pytest.fixture
def under_tmp() -> Iterator[Path]:
    """A directory under /tmp itself (tmp_path need not be: TMPDIR may point elsewhere)."""
    path = Path(tempfile.mkdtemp(prefix="rdev-sandbox-test-", dir="/tmp")).resolve()
    yield path
    shutil.rmtree(path, ignore_errors=True)


# --- the argument set --------------------------------------------------------------------------


def test_bwrap_argv_for_a_data_dir_and_a_venv_under_tmp(under_tmp: Path) -> None:
    venv, repo, data = under_tmp / "venv", under_tmp / "repo", under_tmp / "data"
    workspace = data / "workspaces" / "demo"
    for path in (venv / "bin", repo / "sdlc", workspace, under_tmp / "elsewhere"):
        path.mkdir(parents=True)
    keep = [
        venv / "bin",  # inside venv: covered by it
        venv,
        repo,
        data / "workspaces",  # inside the data dir: stays hidden
        Path("/usr/bin"),  # not under /tmp: the read-only / has it
        under_tmp / "missing",
        Path("/tmp"),  # binding /tmp back would undo the private /tmp
        Path("relative/bin"),
    ]
    argv = bwrap_argv(["sh", "-c", "true"], workspace, data, keep, "/usr/bin/bwrap")
    assert argv[0] == "/usr/bin/bwrap" and argv[-4:] == ["--", "sh", "-c", "true"]
    options = argv[1 : argv.index("--")]
    pairs = list(itertools.pairwise(options))
    assert [value for flag, value in pairs if flag == "--ro-bind"] == ["/", str(repo), str(venv)]
    # the private /tmp, what is needed from it, the data dir hidden, the workspace, the data
    # dir's tmpfs made read-only: in that order
    steps = [
        ("--tmpfs", "/tmp"),
        ("--ro-bind", str(repo)),
        ("--ro-bind", str(venv)),
        ("--tmpfs", str(data)),
        ("--bind", str(workspace)),
        ("--remount-ro", str(data)),
        ("--chdir", str(workspace)),
    ]
    assert [pairs.index(step) for step in steps] == sorted(pairs.index(step) for step in steps)
    assert options[options.index("--bind") + 2] == str(workspace)
    assert {"--unshare-pid", "--die-with-parent", "--dev", "--proc"} <= set(options)
    assert ("--cap-drop", "ALL") in pairs  # as root, a command could otherwise remount / rw
    assert "--new-session" not in options  # the server ends a command with killpg on its group
    assert "--unshare-net" not in options and "--unshare-all" not in options  # loopback callbacks


@needs_bwrap
def test_what_is_bound_back_under_tmp_is_what_the_command_sees(under_tmp: Path) -> None:
    import subprocess

    tool, data, other = under_tmp / "tool", under_tmp / "data", under_tmp / "other"
    workspace = data / "workspaces" / "demo"
    for path in (tool, workspace, other):
        path.mkdir(parents=True)
    (tool / "hello").write_text("#!/bin/sh\necho hello from tool\n")
    (tool / "hello").chmod(0o755)
    (other / "secret").write_text("not for commands\n")
    (data / DATABASE_FILE).write_text("db\n")
    script = 'hello; ls -A "$1"; ls -A "$2"; cat "$3" || echo hidden'
    argv = bwrap_argv(
        ["sh", "-c", script, "sh", str(other), str(data), str(data / DATABASE_FILE)], workspace, data, [tool]
    )
    done = subprocess.run(
        argv, env={"PATH": f"{tool}:/usr/bin:/bin"}, capture_output=True, text=True, timeout=30, check=False
    )
    assert done.stdout.splitlines() == ["hello from tool", "workspaces", "hidden"], done


def test_the_setting_is_checked() -> None:
    assert get_env_choice("RDEV_SANDBOX", ("auto", "bwrap", "off"), environ={}) == "auto"
    assert get_env_choice("RDEV_SANDBOX", ("auto", "bwrap", "off"), environ={"RDEV_SANDBOX": "Off"}) == "off"
    with pytest.raises(EnvError, match="RDEV_SANDBOX must be one of auto, bwrap, off, got 'maybe'"):
        get_env_choice("RDEV_SANDBOX", ("auto", "bwrap", "off"), environ={"RDEV_SANDBOX": "maybe"})


# --- through the API, sandboxed ------------------------------------------------------------------


@needs_bwrap
def test_the_workspace_is_the_one_writable_path_and_the_data_dir_is_invisible(sandboxed: ApiServer) -> None:
    project, workspace = create_project(sandboxed)
    data = workspace.parent.parent
    assert (data / MASTER_KEY_FILE).is_file() and (data / DATABASE_FILE).is_file()  # there to hide
    private = f"/tmp/rdev-sandbox-{uuid.uuid4().hex}"
    escapes = [f"{workspace}/../escape", f"{data}/escape", "/etc/rdev-escape", "/usr/rdev-escape"]
    script = f"""
        echo made > made-here && cat made-here
        for target in {" ".join(escapes)}; do touch "$target" 2>/dev/null && echo "wrote $target"; done
        mount -o remount,rw / 2>/dev/null && touch /usr/rdev-escape 2>/dev/null && echo "remounted /"
        echo "data: $(ls -A {data})"
        cat {data}/{MASTER_KEY_FILE} {data}/{DATABASE_FILE} 2>/dev/null || echo "no key, no db"
        touch {private} && echo "private tmp"
    """
    done = run_command(sandboxed, project, kind="shell", script=script)
    stdout, stderr = output_of(sandboxed, done["id"])
    assert stdout.splitlines() == ["made", "data: workspaces", "no key, no db", "private tmp"], stderr
    assert done["status"] == "succeeded" and (workspace / "made-here").read_text() == "made\n"
    assert not any(os.path.exists(path) for path in [*escapes, private])
    with sandboxed.client() as client:
        assert client.get("/health").json()["checks"]["executor"] == "bwrap"


@needs_bwrap
def test_cancel_and_timeout_leave_no_process(sandboxed: ApiServer) -> None:
    project, workspace = create_project(sandboxed)
    mark = uuid.uuid4().hex
    timed = run_command(
        sandboxed,
        project,
        kind="shell",
        script="touch started; setsid sleep 300 & sleep 300 & sleep 300",  # detached ends too
        timeout_s=1,
        env={MARK: mark},
    )
    assert timed["status"] == "timed_out" and (workspace / "started").is_file()
    assert none_marked(mark), f"left running after the timeout: {marked(mark)}"
    mark = uuid.uuid4().hex
    with sandboxed.admin() as admin:
        started = admin.post(
            f"/projects/{project}/commands",
            json={"kind": "shell", "script": "sleep 300 & sleep 300", "env": {MARK: mark}},
        )
        command_id = started.json()["id"]
        deadline = time.monotonic() + 30
        while len(marked(mark)) < 3:  # sh and the two sleeps
            assert time.monotonic() < deadline, marked(mark)
            time.sleep(0.05)
        assert admin.post(f"/commands/{command_id}/cancel").status_code == 200
        assert wait_status(admin, command_id, lambda s: s != "running")["status"] == "cancelled"
    assert none_marked(mark), f"left running after the cancel: {marked(mark)}"


@needs_bwrap
def test_detached_processes_may_finish_and_leftovers_end(sandboxed: ApiServer) -> None:
    """A process the command detached (like sdlc's callback flusher) gets to finish before the
    sandbox ends; one left in the command's group ends with it, as in a plain run."""
    project, workspace = create_project(sandboxed)
    mark = uuid.uuid4().hex
    # as sdlc starts its flusher: Popen returns once the child has its own session
    code = (
        "import subprocess\n"
        "subprocess.Popen(['sh', '-c', 'sleep 0.5; echo late > detached.txt'], start_new_session=True)\n"
        "subprocess.Popen(['sleep', '300'])\n"
    )
    began = time.monotonic()
    done = run_command(sandboxed, project, kind="shell", argv=[sys.executable, "-c", code], env={MARK: mark})
    assert done["status"] == "succeeded" and (workspace / "detached.txt").read_text() == "late\n"
    assert time.monotonic() - began < 30 and none_marked(mark), marked(mark)


@needs_bwrap
def test_sdlc_works_in_the_sandbox(sandboxed: ApiServer) -> None:
    project, workspace = create_project(sandboxed)
    # the `sdlc` console script of this install (PATH itself is not a command's to set)
    script = 'PATH="$VENV_BIN:$PATH"; sdlc feature create login --title Login && sdlc --json state'
    env = {"VENV_BIN": str(Path(sys.executable).parent)}
    done = run_command(sandboxed, project, kind="shell", script=script, env=env)
    stdout, stderr = output_of(sandboxed, done["id"])
    assert done["status"] == "succeeded", stderr
    assert "login" in stdout and (workspace / ".sdlc" / "features" / "login").is_dir()
    module = run_command(
        sandboxed, project, kind="shell", argv=[sys.executable, "-m", "sdlc", "--json", "state"]
    )
    assert module["status"] == "succeeded" and "login" in output_of(sandboxed, module["id"])[0]


@needs_bwrap
def test_a_missing_program_is_reported_as_not_started(sandboxed: ApiServer) -> None:
    project, _ = create_project(sandboxed)
    done = run_command(sandboxed, project, kind="shell", argv=["rdev-no-such-program"])
    assert done["status"] == "failed" and done["exit_code"] is None
    assert done["reason"].startswith("could not start rdev-no-such-program")


# --- without the sandbox -----------------------------------------------------------------------


def test_off_logs_the_warning_and_commands_see_the_data_dir(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, captured_log: io.StringIO
) -> None:
    monkeypatch.setenv("RDEV_SANDBOX", "off")
    api: ApiServer = request.getfixturevalue("api_server")
    [line] = executor_lines(captured_log)
    assert line["level"] == "warning" and line["msg"].startswith(NOT_ISOLATED) and line["sandbox"] == "plain"
    with api.client() as client:
        health = client.get("/health").json()
    assert health["status"] == "ok" and health["checks"]["executor"] == "plain"
    project, workspace = create_project(api)
    done = run_command(api, project, kind="shell", script=f"ls -A {workspace.parent.parent}")
    assert DATABASE_FILE in output_of(api, done["id"])[0].split()  # the documented exposure


def test_without_bwrap_auto_warns_and_bwrap_refuses_to_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, captured_log: io.StringIO
) -> None:
    from rdev_api.server import ServerError, open_services

    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap on it
    monkeypatch.setenv("RDEV_SANDBOX", "auto")
    assert choose_executor(tmp_path).mode == "plain"
    [line] = executor_lines(captured_log)
    assert line["level"] == "warning" and "bwrap is not installed" in line["msg"]
    assert "apt-get install bubblewrap" in line["msg"]
    monkeypatch.setenv("RDEV_SANDBOX", "bwrap")
    with pytest.raises(SandboxUnavailable, match="RDEV_SANDBOX=bwrap but bwrap does not work here"):
        choose_executor(tmp_path)
    data_dir = tmp_path / "rdev-data"
    data_dir.mkdir(mode=0o700)
    with pytest.raises(ServerError, match="bwrap is not installed") as refused:
        open_services(data_dir)
    assert refused.value.kind == "usage" and "RDEV_SANDBOX=auto" in refused.value.message
    monkeypatch.setenv("RDEV_SANDBOX", "maybe")
    with pytest.raises(ServerError, match="RDEV_SANDBOX must be one of auto, bwrap, off"):
        open_services(data_dir)
