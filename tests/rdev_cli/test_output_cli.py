"""Output modes against the real API: a table on a terminal (through a pseudo-terminal), TSV
when piped, `-o json` equal to the API's objects, `[]` for an empty list, colour only on a
terminal and never with NO_COLOR, nothing but data on stdout."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time

import pytest

from conftest import RdevCli

ANSI = "\x1b["


@pytest.fixture
def project(rdev: RdevCli) -> str:
    created = rdev.json("projects", "create", "shop", "--wait")
    return str(created["id"])


def on_terminal(rdev: RdevCli, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """`rdev ARGS` with stdin, stdout and stderr on a pseudo-terminal: exit code, what it showed."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "rdev_cli", *args],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env={**os.environ, **rdev.env, "COLUMNS": "200", **(env or {})},
        close_fds=True,
    )
    os.close(follower)
    chunks = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.1)
        if ready:
            try:
                data = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's other side is closed
                break
            if not data:
                break
            chunks.append(data)
        elif process.poll() is not None:
            break
    os.close(leader)
    return process.wait(timeout=30), b"".join(chunks).decode()


def test_a_table_on_a_terminal_with_colour_unless_no_color(rdev: RdevCli, project: str) -> None:
    code, shown = on_terminal(rdev, "projects", "list")
    assert code == 0, shown
    lines = [line for line in shown.splitlines() if line.strip()]
    header = lines[0].replace(ANSI + "1m", "").replace(ANSI + "0m", "")
    assert header.split() == ["ID", "NAME", "TEMPLATE", "STATUS", "CREATED_AT"]
    assert ANSI in shown, "a terminal gets a bold header"
    assert lines[1].split()[:4] == [project, "shop", "default", "ready"]

    code, plain = on_terminal(rdev, "projects", "list", env={"NO_COLOR": "1"})
    assert code == 0 and ANSI not in plain and "CREATED_AT" in plain
    code, flagged = on_terminal(rdev, "--no-color", "projects", "list")
    assert code == 0 and ANSI not in flagged


def test_piped_output_is_tab_separated_data_only(rdev: RdevCli, project: str) -> None:
    done = rdev.process("projects", "list")
    assert done.returncode == 0, done.stderr
    assert ANSI not in done.stdout and "ID" not in done.stdout.split("\t")[0]
    [row] = done.stdout.splitlines()
    fields = row.split("\t")
    assert fields[:4] == [project, "shop", "default", "ready"]
    assert fields[4].endswith("Z") and "T" in fields[4], "full ISO timestamps"
    forced = rdev.process("projects", "list", env={"FORCE_COLOR": "1"})
    assert forced.stdout == done.stdout, "piped output is data, colour or not"
    quiet = rdev.process("-q", "projects", "list")
    assert quiet.stdout == project + "\n"


def test_json_is_the_api_objects_and_empty_lists_are_brackets(rdev: RdevCli, project: str) -> None:
    with rdev.server.admin() as admin:
        from_api = admin.get("/projects").json()
        one = admin.get(f"/projects/{project}").json()
    assert rdev.json("projects", "list") == from_api
    assert rdev.ok("projects", "list", "--json").data == from_api
    assert rdev.json("projects", "get", project) == one
    lines = rdev.ok("projects", "list", "-o", "jsonl").out.splitlines()
    assert [json.loads(line) for line in lines] == from_api
    import yaml

    assert yaml.safe_load(rdev.ok("projects", "list", "-o", "yaml").out) == from_api
    for args in (("work", "list"), ("webhooks", "list"), ("credentials", "list")):
        result = rdev(*args, "-o", "json")
        assert result.code == 0 and result.out == "[]\n", (args, result)
    assert rdev("work", "list").out == "", "an empty list prints nothing in text mode"


def test_stdout_holds_only_data(rdev: RdevCli) -> None:
    created = rdev.process("-q", "projects", "create", "quiet-one", "--wait")
    assert created.returncode == 0, created.stderr
    assert created.stdout == "quiet-one\n"
    bad = rdev.process("projects", "get", "nope")
    assert bad.returncode == 3 and bad.stdout == ""
    assert bad.stderr.startswith("Error: ") and "Traceback" not in bad.stderr


def test_without_the_cli_extra_rdev_names_it() -> None:
    """httpx missing (as without `pip install 'rdev[cli]'`): the extra is named, no traceback."""
    code = "import sys; sys.modules['httpx'] = None; from rdev_cli.main import main; main()"
    done = subprocess.run(
        [sys.executable, "-c", code, "projects", "list"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "RDEV_API_KEY": "rdev_x_y", "RDEV_API_URL": "http://127.0.0.1:9"},
        check=False,
    )
    assert done.returncode == 1
    assert "needs the cli extra (httpx is missing)" in done.stderr
    assert "pip install 'rdev[cli]'" in done.stderr and "Traceback" not in done.stderr
