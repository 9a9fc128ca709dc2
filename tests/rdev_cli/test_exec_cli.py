"""`rdev exec`, `git`, `agent` and `claude` against the real API: the remote exit code passed
through (0, 7, 124 for a remote timeout, 128+N for a signal), stdout and stderr kept apart,
output modes, the fake claude, --detach, Ctrl-C cancelling the remote command (exit 130), a
stream cut mid-way by a proxy and resumed complete and in order, a stream lost for good (255),
and 20,000 lines arriving complete."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import FAKE_CLAUDE, ApiServer, RdevCli


@pytest.fixture
def project(rdev: RdevCli) -> str:
    rdev.ok("projects", "create", "demo", "--wait")
    return "demo"


def assert_error(result: Any, code: int, *fragments: str) -> None:
    assert result.code == code, result
    assert result.err.startswith("Error: ") and "Hint: " in result.err and "Traceback" not in result.err
    for fragment in fragments:
        assert fragment in result.err, result.err


def commands_of(api: ApiServer, project: str) -> list[dict[str, Any]]:
    with api.admin() as admin:
        found: list[dict[str, Any]] = admin.get(f"/projects/{project}/commands").json()
    return found


def test_exit_codes_pass_through(rdev: RdevCli, project: str) -> None:
    ok = rdev("exec", project, "--", "sh", "-c", "echo out; echo err >&2")
    assert (ok.code, ok.out, ok.err) == (0, "out\n", "err\n")
    seven = rdev("exec", project, "--script", "echo before; exit 7")
    assert (seven.code, seven.out, seven.err) == (7, "before\n", "")
    timed_out = rdev("exec", project, "--timeout", "1", "--", "sleep", "30")
    assert timed_out.code == 124 and timed_out.out == "", timed_out
    killed = rdev("exec", project, "--", "sh", "-c", "kill -TERM $$")
    assert killed.code == 128 + signal.SIGTERM, killed
    env = rdev("exec", project, "-e", "GREETING=hi there", "--", "sh", "-c", 'echo "$GREETING"')
    assert (env.code, env.out) == (0, "hi there\n")
    statuses = [c["status"] for c in commands_of(rdev.server, project)]
    assert statuses == ["succeeded", "failed", "timed_out", "failed", "succeeded"]


def test_output_modes_say_what_ended(rdev: RdevCli, project: str) -> None:
    as_json = rdev("exec", project, "-o", "json", "--", "sh", "-c", "echo out; echo err >&2; exit 7")
    assert as_json.code == 7 and as_json.err == "", as_json
    document = json.loads(as_json.out)
    assert document["end"]["exit_code"] == 7 and document["end"]["status"] == "failed"
    assert document["command"]["status"] == "failed" and document["command"]["kind"] == "shell"
    assert (document["stdout"], document["stderr"], document["agent"]) == ("out\n", "err\n", [])

    as_jsonl = rdev("exec", project, "-o", "jsonl", "--", "sh", "-c", "echo out")
    assert as_jsonl.code == 0, as_jsonl
    events = [json.loads(line) for line in as_jsonl.out.splitlines()]
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert {"event": "output", "data": {"stream": "stdout", "data": "out\n"}}.items() <= {
        "event": events[1]["event"],
        "data": {k: v for k, v in events[1]["data"].items() if k != "ts"},
    }.items()
    assert events[-1]["event"] == "end" and events[-1]["data"]["exit_code"] == 0


def test_usage_errors_and_not_found(rdev: RdevCli, project: str) -> None:
    assert_error(rdev("exec", project), 2, "--script")
    assert_error(rdev("exec", project, "--script", "true", "--", "ls"), 2, "one of them")
    assert_error(rdev("exec", project, "--env", "NOEQUALS", "--", "true"), 2, "--env")
    assert_error(rdev("exec", project, "--env", "PATH=/x", "--", "true"), 2, "reserved", "rdev exec --help")
    assert_error(rdev("exec", "ghost", "--", "true"), 3, "no project ghost", "rdev projects list")
    assert_error(rdev("git", project, "--", "config", "--global", "x", "y"), 2, "not allowed")
    assert_error(rdev("agent", project, "do it", "--provider", "nope"), 2, "--provider claude")
    assert_error(rdev("agent", project, "  "), 2, "prompt is empty")
    assert commands_of(rdev.server, project) == [], "nothing was started"


def test_git_and_detach(rdev: RdevCli, project: str) -> None:
    log = rdev("git", project, "--", "log", "--format=%s")
    assert log.code == 0 and "sdlc init" in log.out.splitlines(), log
    status = rdev("git", project, "status")
    assert status.code == 0 and "nothing to commit" in status.out, status
    oneline = rdev("git", project, "log", "--oneline", "-1")  # git's options without `--`
    assert oneline.code == 0 and oneline.out.count("\n") == 1 and "sdlc init" in oneline.out, oneline

    detached = rdev("exec", project, "--detach", "--", "sh", "-c", "echo hello; exit 3")
    assert detached.code == 0 and detached.out.startswith("cmd_") and detached.out.count("\n") == 1
    command_id = detached.out.strip()
    assert f"rdev commands logs {command_id} -f" in detached.err
    followed = rdev("commands", "logs", command_id, "-f")
    assert (followed.code, followed.out) == (3, "hello\n")
    as_json = rdev.json("git", project, "--detach", "status")
    assert as_json["kind"] == "git" and as_json["request"]["argv"] == ["status"]


def test_agents_with_the_fake_claude(
    rdev: RdevCli, project: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "claude"
    fake.write_text(FAKE_CLAUDE.format(python=sys.executable))
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("RDEV_CLAUDE_BIN", str(fake))
    ran = rdev("claude", project, "write the spec")
    assert ran.code == 0, ran
    assert ran.out == "a line that is not JSON\non it: write the spec\ndone\n"
    via_agent = rdev("agent", project, "-", "--provider", "claude", "-o", "json", stdin="from stdin\n")
    assert via_agent.code == 0, via_agent
    document = json.loads(via_agent.out)
    assert [a["type"] for a in document["agent"]] == ["system", "assistant", "result"]
    assert document["agent"][1]["content"][0]["text"] == "on it: from stdin\n"
    assert document["command"]["kind"] == "claude" and document["end"]["status"] == "succeeded"


def test_twenty_thousand_lines_arrive_complete_and_in_order(rdev: RdevCli, project: str) -> None:
    ran = rdev("exec", project, "--", "seq", "1", "20000")
    assert ran.code == 0 and ran.err == "", ran.err[-500:]
    assert ran.out.splitlines() == [str(i) for i in range(1, 20001)]


def test_ctrl_c_cancels_the_remote_command(rdev: RdevCli, project: str) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "rdev_cli", "exec", project, "--", "sh", "-c", "echo ready; sleep 300"],
        env={**os.environ, **rdev.env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # a shell that ignores SIGINT for background jobs must not hide it from rdev
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "ready\n"  # rdev is following the stream now
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
        assert out == "", out
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
    assert process.returncode == 130, err
    assert "cancelled command cmd_" in err and "Traceback" not in err
    deadline = time.monotonic() + 30
    while (status := commands_of(rdev.server, project)[0]["status"]) == "running":
        assert time.monotonic() < deadline, "the remote command is still running"
        time.sleep(0.05)
    assert status == "cancelled"


# --- a proxy that cuts SSE responses ------------------------------------------------------------


class CuttingProxy:
    """Forwards TCP connections to the API. On a connection that asked for `/events`, it closes
    the client's side after `budget` bytes of the response (headers included), for the first
    `cuts` such responses (None: always); later responses pass whole."""

    def __init__(self, target: str, budget: int, cuts: int | None) -> None:
        host, port = target.removeprefix("http://").split(":")
        self.target = (host, int(port))
        self.budget = budget
        self.cuts_left = cuts
        self.cut = 0
        self.lock = threading.Lock()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self.server.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            streaming = threading.Event()
            threading.Thread(target=self._requests, args=(client, upstream, streaming), daemon=True).start()
            threading.Thread(target=self._responses, args=(upstream, client, streaming), daemon=True).start()

    def _requests(self, client: socket.socket, upstream: socket.socket, streaming: threading.Event) -> None:
        with contextlib.suppress(OSError):
            while data := client.recv(65536):
                if b"/events HTTP/1.1" in data:
                    streaming.set()
                upstream.sendall(data)
        with contextlib.suppress(OSError):
            upstream.shutdown(socket.SHUT_WR)

    def _should_cut(self) -> bool:
        with self.lock:
            if self.cuts_left is not None and self.cuts_left <= 0:
                return False
            if self.cuts_left is not None:
                self.cuts_left -= 1
            self.cut += 1
            return True

    def _responses(self, upstream: socket.socket, client: socket.socket, streaming: threading.Event) -> None:
        budget: int | None = None
        with contextlib.suppress(OSError):
            while data := upstream.recv(65536):
                if budget is None and streaming.is_set():
                    budget = self.budget if self._should_cut() else -1
                if budget is not None and budget >= 0:
                    client.sendall(data[:budget])
                    budget -= len(data[:budget])
                    if budget == 0:
                        break
                else:
                    client.sendall(data)
        for sock in (client, upstream):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


@pytest.fixture
def proxy_factory(rdev: RdevCli) -> Iterator[Any]:
    made: list[CuttingProxy] = []

    def make(budget: int, cuts: int | None) -> CuttingProxy:
        made.append(CuttingProxy(rdev.server.url, budget, cuts))
        return made[-1]

    yield make
    for proxy in made:
        proxy.close()


def test_a_cut_stream_is_resumed_complete_and_in_order(
    rdev: RdevCli, project: str, proxy_factory: Any
) -> None:
    # output in many small events, so that each cut falls mid-stream and the next part resumes
    script = (
        "i=0; while [ $i -lt 40 ]; do seq $((i*100+1)) $((i*100+100)); i=$((i+1)); sleep 0.02; done; exit 5"
    )
    # at most 6 cuts: fewer than the reconnects rdev allows without progress, should events be large
    proxy = proxy_factory(budget=6000, cuts=6)
    ran = rdev("--api-url", proxy.url, "exec", project, "--script", script)
    assert ran.code == 5, ran.err
    assert ran.out.splitlines() == [str(i) for i in range(1, 4001)]
    assert proxy.cut >= 2, "the stream was never cut: the test proves nothing"


def test_a_stream_lost_for_good_exits_255(
    rdev: RdevCli, project: str, proxy_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rdev_cli.stream

    monkeypatch.setattr(rdev_cli.stream, "RECONNECTS", 2)  # fewer reconnects: the same path, faster
    proxy = proxy_factory(budget=0, cuts=None)
    lost = rdev("--api-url", proxy.url, "exec", project, "--", "echo", "never seen")
    assert_error(lost, 255, "lost the output stream of command cmd_", "rdev commands logs cmd_")
    assert lost.out == "" and proxy.cut == 3
    command_id = lost.err.split("rdev commands logs ")[1].split()[0]
    resumed = rdev("commands", "logs", command_id, "-f")  # straight to the API: all there
    assert (resumed.code, resumed.out) == (0, "never seen\n")
