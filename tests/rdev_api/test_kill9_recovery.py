"""At-least-once work execution across a `kill -9` of a real `rdev server start` process
(spec/rdev-api.md "Must hold", "Start-up and the CLI profile"): after the restart every item
succeeds, no item ever runs twice at the same time, the orphaned command processes are killed
before anything is served, and no item stays `running` past its lease."""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from test_server import ended, free_port, wait_healthy

LEASE_S = 3.0
REAPER_S = 0.3
WORKERS = 3
ITEMS = 6
DEADLINE_S = 30.0
# Each run logs its start, a tick every 50 ms while `hold` exists (so the first wave still runs
# when the server dies, and its orphans outlive the restart unless killed), then its end.
SCRIPT = """# {marker}
run="$$-$(date +%s%N)"
echo "start $ITEM $run $(date +%s%N)" >> runs.log
n=0
while [ -e hold ] && [ $n -lt 400 ]; do
  echo "tick $ITEM $run $(date +%s%N)" >> runs.log; sleep 0.05; n=$((n+1))
done
sleep 0.3
echo "end $ITEM $run $(date +%s%N)" >> runs.log
"""


@dataclass
class RealServer:
    """`rdev server start` in the foreground as a child in its own session, its stderr (the
    server's log) appended to `log_path`, its stdout (the one-time admin key) to `out_path`."""

    data_dir: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / "server.stderr"

    @property
    def out_path(self) -> Path:
        return self.data_dir.parent / "server.stdout"

    def start(self) -> None:
        argv = [sys.executable, "-m", "rdev_cli", "server", "start"]
        argv += ["--data-dir", str(self.data_dir), "--port", str(self.port)]
        with self.out_path.open("ab") as out, self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                argv, stdout=out, stderr=log, stdin=subprocess.DEVNULL, env=self.env, start_new_session=True
            )
        wait_healthy(self.url, self.process)  # type: ignore[arg-type]

    def kill9(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        assert self.process.wait(timeout=DEADLINE_S) == -signal.SIGKILL

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=DEADLINE_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def admin_token(self) -> str:
        saved = yaml.safe_load((Path(self.env["RDEV_CONFIG_DIR"]) / "config.yaml").read_text())
        token: str = saved["profiles"]["local"]["api_key"]
        return token

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"X-API-Key": token or self.admin_token()}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


def server_env(tmp_path: Path, **knobs: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RDEV_")}
    return {**clean, "RDEV_CONFIG_DIR": str(tmp_path / "config"), **knobs}


def wait_for(check: Any, what: str, timeout: float = DEADLINE_S) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        if found := check():
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def create_project(client: httpx.Client, name: str, **body: Any) -> dict[str, Any]:
    created = client.post("/projects", json={"name": name, "template": "default", **body})
    assert created.status_code == 201, created.text
    project_id = created.json()["id"]

    def ready() -> dict[str, Any] | None:
        project: dict[str, Any] = client.get(f"/projects/{project_id}").json()
        assert project["status"] != "failed", project
        return project if project["status"] == "ready" else None

    found: dict[str, Any] = wait_for(ready, f"project {project_id} ready")
    return found


def processes_with(marker: str) -> dict[int, str]:
    """Live (non-zombie) processes whose command line carries `marker` (the command runs),
    with the ITEM of their environment."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
                environ = (entry / "environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if marker.encode() in cmdline and not ended(int(entry.name)):
                items = [v[5:].decode() for v in environ if v.startswith(b"ITEM=")]
                found[int(entry.name)] = items[0] if items else "?"
    return found


@dataclass
class Run:
    """One run of an item's command, from runs.log (wall-clock nanoseconds)."""

    item: str
    run: str  # unique per run (a pid alone may repeat inside a sandbox's pid namespace)
    start: int
    last: int  # its last sign of life: its end, else its last tick
    end: int | None = None


def runs_in(log: Path) -> list[Run]:
    runs: dict[tuple[str, str], Run] = {}
    for line in log.read_text().splitlines() if log.exists() else []:
        what, item, run, ns = line.split()
        if what == "start":
            runs[(item, run)] = Run(item, run, int(ns), int(ns))
        else:
            runs[(item, run)].last = int(ns)
            if what == "end":
                runs[(item, run)].end = int(ns)
    return list(runs.values())


@pytest.fixture
def marker() -> Iterator[str]:
    mark = f"kill9-run-{uuid.uuid4().hex}"
    yield mark
    for pid in processes_with(mark):  # a failed test must not leave its commands running
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[RealServer]]:
    """Servers a test starts (append them); stopped at the end whatever happened."""
    started: list[RealServer] = []
    yield started
    for found in started:
        found.stop()


def work_items(client: httpx.Client) -> dict[str, dict[str, Any]]:
    listed = client.get("/work", params={"type": "command", "limit": 1000})
    assert listed.status_code == 200, listed.text
    return {item["payload"]["env"]["ITEM"]: item for item in listed.json()}


def assert_no_expired_lease(items: dict[str, dict[str, Any]]) -> None:
    """A `running` item whose lease expired is put back by the reaper within its interval."""
    now = time.time()
    for name, item in items.items():
        if item["status"] == "running":
            expires = datetime.fromisoformat(item["lease_expires_at"]).timestamp()
            assert now < expires + REAPER_S + 2.0, f"{name} still running {now - expires:.1f}s past its lease"


@pytest.mark.parametrize("sandbox", ["off", "auto"])
def test_work_survives_a_kill_9_of_the_server(
    tmp_path: Path, servers: list[RealServer], marker: str, sandbox: str
) -> None:
    """RDEV_SANDBOX=off: the commands outlive the server, the restart kills them. auto: in
    bwrap (when it works here) they die with the server (--die-with-parent)."""
    env = server_env(
        tmp_path,
        RDEV_LEASE=f"{LEASE_S}s",
        RDEV_REAPER_INTERVAL=f"{REAPER_S}s",
        RDEV_EMBEDDED_WORKERS=str(WORKERS),
        RDEV_SANDBOX=sandbox,
    )
    real_server = RealServer(tmp_path / "data", env)
    servers.append(real_server)
    real_server.start()
    executor = httpx.get(f"{real_server.url}/health", timeout=10).json()["checks"].get("executor", "plain")
    assert sandbox == "auto" or executor == "plain"
    with real_server.client() as client:
        project = create_project(client, "crashy")
        workspace = Path(project["workspace"])
        (workspace / "hold").touch()
        script = SCRIPT.format(marker=marker)
        for n in range(ITEMS):
            payload = {"kind": "shell", "script": script, "env": {"ITEM": f"i{n}"}, "timeout_s": 120}
            submitted = client.post(
                "/work", json={"type": "command", "project": project["id"], "payload": payload}
            )
            assert submitted.status_code == 201, submitted.text

        def first_wave() -> dict[str, dict[str, Any]] | None:
            items = work_items(client)
            running = {name: item for name, item in items.items() if item["status"] == "running"}
            started = runs_in(workspace / "runs.log")
            return running if len(running) == WORKERS and len(started) == WORKERS else None

        interrupted = set(wait_for(first_wave, f"{WORKERS} items running"))

    in_flight = processes_with(marker)
    assert set(in_flight.values()) == interrupted
    real_server.kill9()
    if executor == "bwrap":
        wait_for(
            lambda: all(ended(pid) for pid in in_flight), "the sandboxed commands to die with the server"
        )
    orphans = processes_with(marker)
    assert set(orphans.values()) == (interrupted if executor == "plain" else set())

    restart_ns = time.time_ns()
    real_server.start()  # the clean-up runs before the server answers /health
    assert [pid for pid in orphans if not ended(pid)] == []
    (workspace / "hold").unlink()  # from now on every run ends by itself

    with real_server.client() as client:

        def all_succeeded() -> dict[str, dict[str, Any]] | None:
            items = work_items(client)
            assert_no_expired_lease(items)
            assert not {i["status"] for i in items.values()} & {"failed", "dead", "cancelled"}, items
            return items if all(i["status"] == "succeeded" for i in items.values()) else None

        items = wait_for(all_succeeded, "every item to succeed")
        commands = client.get(f"/projects/{project['id']}/commands", params={"limit": 1000}).json()

    for name, item in items.items():
        assert item["attempts"] == (2 if name in interrupted else 1), (name, item)
    restart_failures = [c for c in commands if c["reason"] == "server_restart"]
    assert len(restart_failures) == WORKERS and all(c["status"] == "failed" for c in restart_failures)

    runs = runs_in(workspace / "runs.log")
    for n in range(ITEMS):
        name = f"i{n}"
        mine = sorted((r for r in runs if r.item == name), key=lambda r: r.start)
        assert mine[-1].end is not None, f"{name} never finished a run"
        if name in interrupted:
            killed, rerun = mine  # the orphan never reached its end: it was killed
            assert killed.end is None and killed.start < restart_ns < rerun.start
        else:
            assert len(mine) == 1, mine
        for earlier, later in itertools.pairwise(mine):
            assert earlier.last < later.start, f"{name} ran twice at once: {earlier} and {later}"
