"""`rdev server` as real subprocesses: first start (data dir, master key, bootstrap admin key
printed once, profile file, nothing secret in the log), later starts, --detach with status and
stop, admin-key, rotate-master-key, the non-loopback bind rules, and the clean-up after a server
that died (spec/rdev-api.md "Start-up and the CLI profile")."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from rdev_api import server
from rdev_api.adapters.crypto.aesgcm import AesGcmBox, SecretBoxError, decode_master_key

TOKEN = re.compile(r"rdev_[a-z0-9]{8}_[A-Za-z0-9]{32,128}")
DEADLINE_S = 30
SENTINEL = b"sentinel-credential-value-7f3a"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RDEV_")}
    return {**clean, "RDEV_CONFIG_DIR": str(tmp_path / "config")}


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "data"
    yield directory
    if directory.exists():
        server.stop(directory, grace=5)  # a failed test must not leave a server behind


def rdev(env: dict[str, str], *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rdev_cli", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=90,
        check=False,
    )


def profile(env: dict[str, str]) -> dict[str, Any]:
    data = yaml.safe_load((Path(env["RDEV_CONFIG_DIR"]) / "config.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def wait_healthy(url: str, process: subprocess.Popen[str] | None = None) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert process is None or process.poll() is None, "the server exited"
        assert time.monotonic() < deadline, f"{url} did not become healthy"
        time.sleep(0.05)


def ended(pid: int) -> bool:
    """The process is gone, or a zombie nobody reaped yet (its parent, `rdev`, has exited)."""
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat_line.rsplit(")", 1)[1].split()[0] == "Z"


def whoami(url: str, token: str) -> httpx.Response:
    return httpx.get(f"{url}/whoami", headers={"X-API-Key": token}, timeout=10)


def start_detached(env: dict[str, str], data_dir: Path, port: int, *extra: str) -> str:
    started = rdev(env, "server", "start", "--data-dir", data_dir, "--port", str(port), "--detach", *extra)
    assert started.returncode == 0, started.stderr
    return started.stdout


def test_first_start_in_the_foreground_then_a_later_start_reuses_everything(
    env: dict[str, str], data_dir: Path
) -> None:
    config = Path(env["RDEV_CONFIG_DIR"])
    config.mkdir()
    other = {"url": "https://rdev.example.com", "api_key": "rdev_otherkey_" + "x" * 32}
    (config / "config.yaml").write_text(
        yaml.safe_dump({"current_profile": "prod", "profiles": {"prod": other}, "editor": "vi"})
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    out, err = data_dir.parent / "start.out", data_dir.parent / "start.err"
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rdev_cli",
                "server",
                "start",
                "--data-dir",
                str(data_dir),
                "--port",
                f"{port}",
            ],
            stdout=stdout,
            stderr=stderr,
            text=True,
            env=env,
        )
    try:
        wait_healthy(url, process)
        tokens = TOKEN.findall(out.read_text())
        assert len(tokens) == 1, out.read_text()
        token = tokens[0]
        assert token not in err.read_text()  # the terminal's other stream: the server's log
        assert mode(data_dir) == 0o700
        assert (data_dir / "rdev.db").is_file()
        assert mode(data_dir / "master.key") == 0o600
        assert json.loads((data_dir / "server.pid").read_text())["pid"] == process.pid
        assert mode(config / "config.yaml") == 0o600
        saved = profile(env)
        assert saved["profiles"]["local"] == {"url": url, "api_key": token}
        assert saved["profiles"]["prod"] == other and saved["current_profile"] == "prod"
        assert saved["editor"] == "vi"
        assert whoami(url, token).json()["scopes"] == ["admin"]
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=DEADLINE_S) == 0
    assert not (data_dir / "server.pid").exists()
    master_key = (data_dir / "master.key").read_bytes()

    second = start_detached(env, data_dir, port)
    assert not TOKEN.search(second)
    assert (data_dir / "master.key").read_bytes() == master_key
    assert profile(env)["profiles"]["local"] == {"url": url, "api_key": token}
    assert whoami(url, token).status_code == 200
    assert len(httpx.get(f"{url}/keys", headers={"X-API-Key": token}, timeout=10).json()) == 1
    assert token not in (data_dir / "server.log").read_text()


def test_detach_status_stop_and_admin_key(env: dict[str, str], data_dir: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    started = rdev(env, "server", "start", "--data-dir", data_dir, "--port", str(port), "--detach")
    assert started.returncode == 0, started.stderr
    (token,) = TOKEN.findall(started.stdout + started.stderr)
    assert token in started.stdout
    log = (data_dir / "server.log").read_text()
    assert '"serving"' in log and token not in log

    state = rdev(env, "server", "status", "--data-dir", data_dir, "-o", "json")
    assert state.returncode == 0, state.stderr
    found = json.loads(state.stdout)
    assert found["running"] is True and found["url"] == url and found["status"] == "ok"
    assert found["version"] == httpx.get(f"{url}/version", timeout=10).json()["version"]
    pid = found["pid"]

    again = rdev(env, "server", "start", "--data-dir", data_dir, "--port", str(free_port()))
    assert again.returncode == 5 and "already runs" in again.stderr
    busy = rdev(env, "server", "rotate-master-key", "--data-dir", data_dir)
    assert busy.returncode == 5 and "rdev server stop" in busy.stderr

    minted = rdev(env, "server", "admin-key", "--data-dir", data_dir)
    assert minted.returncode == 0, minted.stderr
    (new_token,) = TOKEN.findall(minted.stdout)
    assert new_token != token
    assert whoami(url, new_token).json()["scopes"] == ["admin"]
    assert whoami(url, token).status_code == 200  # the old key keeps working
    assert profile(env)["profiles"]["local"] == {"url": url, "api_key": new_token}
    assert new_token not in (data_dir / "server.log").read_text()

    stopped = rdev(env, "server", "stop", "--data-dir", data_dir)
    assert stopped.returncode == 0, stopped.stderr
    assert f"pid {pid}" in stopped.stderr
    assert ended(pid)
    assert not (data_dir / "server.pid").exists()
    after = rdev(env, "server", "status", "--data-dir", data_dir, "-o", "json")
    assert after.returncode == 1 and json.loads(after.stdout)["running"] is False
    assert rdev(env, "server", "stop", "--data-dir", data_dir).returncode == 0


def _seed_sealed_values(data_dir: Path) -> None:
    """One credential, webhook and project, sealed directly under the current master key."""
    services = server.open_services(data_dir)
    box = AesGcmBox(decode_master_key((data_dir / "master.key").read_text(), "master.key"))
    now = datetime.now(UTC).isoformat()
    try:
        with services.db.write() as connection:
            connection.execute(
                "INSERT INTO credentials (name, ciphertext, created_at, updated_at) VALUES (?, ?, ?, ?)",
                ("github", box.seal(SENTINEL, b"credential:github"), now, now),
            )
            connection.execute(
                "INSERT INTO webhooks (id, url, events, secret, created_at, updated_at)"
                " VALUES ('wh_1', 'http://127.0.0.1:9/', '[\"*\"]', ?, ?, ?)",
                (box.seal(b"webhook-secret", b"webhook:wh_1"), now, now),
            )
            connection.execute(
                "INSERT INTO projects (id, name, template, status, workspace, callback_token,"
                " created_at, updated_at) VALUES ('shop', 'shop', 'python', 'ready', '/nowhere', ?, ?, ?)",
                (base64.b64encode(box.seal(b"callback-token", b"project:shop")).decode(), now, now),
            )
    finally:
        services.db.close()


def test_rotate_master_key_keeps_every_sealed_value_readable(env: dict[str, str], data_dir: Path) -> None:
    server.ensure_data_dir(data_dir)
    _seed_sealed_values(data_dir)
    old = AesGcmBox(decode_master_key((data_dir / "master.key").read_text(), "master.key"))

    refused = rdev(env | {"RDEV_MASTER_KEY": "A" * 43}, "server", "rotate-master-key", "--data-dir", data_dir)
    assert refused.returncode == 2 and "RDEV_MASTER_KEY" in refused.stderr

    rotated = rdev(env, "server", "rotate-master-key", "--data-dir", data_dir)
    assert rotated.returncode == 0, rotated.stderr
    assert "3 sealed value(s)" in rotated.stderr
    assert mode(data_dir / "master.key") == 0o600
    assert not (data_dir / server.PENDING_KEY_FILE).exists()
    new = AesGcmBox(decode_master_key((data_dir / "master.key").read_text(), "master.key"))
    services = server.open_services(data_dir)
    try:
        connection = services.db.connection()
        sealed = connection.execute("SELECT ciphertext FROM credentials WHERE name = 'github'").fetchone()[0]
        assert new.open(sealed, b"credential:github") == SENTINEL
        with pytest.raises(SecretBoxError):
            old.open(sealed, b"credential:github")
        secret = connection.execute("SELECT secret FROM webhooks WHERE id = 'wh_1'").fetchone()[0]
        assert new.open(secret, b"webhook:wh_1") == b"webhook-secret"
        token = connection.execute("SELECT callback_token FROM projects WHERE id = 'shop'").fetchone()[0]
        assert new.open(base64.b64decode(token), b"project:shop") == b"callback-token"
    finally:
        services.db.close()


def test_non_loopback_bind_needs_tls_or_insecure_http(env: dict[str, str], data_dir: Path) -> None:
    port = free_port()
    refused = rdev(env, "server", "start", "--host", "0.0.0.0", "--port", str(port), "--data-dir", data_dir)
    assert refused.returncode == 2
    assert "--insecure-http" in refused.stderr and "--tls-cert" in refused.stderr
    assert not data_dir.exists()
    half = rdev(env, "server", "start", "--tls-cert", data_dir, "--data-dir", data_dir)
    assert half.returncode == 2 and "go together" in half.stderr

    allowed = rdev(
        env,
        *("server", "start", "--host", "0.0.0.0", "--port", str(port)),
        *("--data-dir", data_dir, "--insecure-http", "--detach"),
    )
    assert allowed.returncode == 0, allowed.stderr
    assert "Warning: the server listens on 0.0.0.0" in allowed.stderr
    wait_healthy(f"http://127.0.0.1:{port}")
    assert rdev(env, "server", "stop", "--data-dir", data_dir).returncode == 0


def test_start_cleans_up_after_a_server_that_died(env: dict[str, str], data_dir: Path) -> None:
    server.ensure_data_dir(data_dir)
    orphan = subprocess.Popen(["sleep", "300"], start_new_session=True)  # its own process group
    now = datetime.now(UTC)
    past, future = (now - timedelta(minutes=5)).isoformat(), (now + timedelta(hours=1)).isoformat()
    services = server.open_services(data_dir)
    try:
        with services.db.write() as connection:
            connection.execute(
                "INSERT INTO projects (id, name, template, status, workspace, callback_token,"
                " created_at, updated_at) VALUES ('shop', 'shop', 'python', 'ready', '/nowhere', 'x', ?, ?)",
                (past, past),
            )
            connection.execute(
                "INSERT INTO commands (id, project_id, kind, request, status, pgid, next_seq, created_at)"
                " VALUES ('cmd_1', 'shop', 'shell', '{}', 'running', ?, 4, ?)",
                (orphan.pid, past),
            )
            for item_id, attempts, lease in (
                ("w_expired", 1, past),
                ("w_spent", 3, past),
                ("w_live", 1, future),
            ):
                connection.execute(
                    "INSERT INTO work_items (id, type, payload, status, attempts, max_attempts, run_after,"
                    " lease_expires_at, worker_id, created_at, updated_at)"
                    " VALUES (?, 'command', '{}', 'running', ?, 3, ?, ?, 'gone-worker', ?, ?)",
                    (item_id, attempts, past, lease, past, past),
                )
    finally:
        services.db.close()

    # no embedded worker may pick the requeued item up before the test reads it
    start_detached(env | {"RDEV_EMBEDDED_WORKERS": "0"}, data_dir, free_port())
    assert orphan.wait(timeout=DEADLINE_S) == -signal.SIGKILL
    assert rdev(env, "server", "stop", "--data-dir", data_dir).returncode == 0

    services = server.open_services(data_dir)
    try:
        connection = services.db.connection()
        command = connection.execute("SELECT * FROM commands WHERE id = 'cmd_1'").fetchone()
        assert (command["status"], command["reason"], command["pgid"]) == ("failed", "server_restart", None)
        end = connection.execute(
            "SELECT seq, event, data FROM command_events WHERE command_id = 'cmd_1'"
        ).fetchall()
        assert [(row["seq"], row["event"]) for row in end] == [(4, "end")]
        assert json.loads(end[0]["data"])["status"] == "failed"
        statuses = dict(connection.execute("SELECT id, status FROM work_items").fetchall())
        assert statuses == {"w_expired": "queued", "w_spent": "dead", "w_live": "running"}
        requeued = connection.execute("SELECT * FROM work_items WHERE id = 'w_expired'").fetchone()
        assert requeued["worker_id"] is None and requeued["lease_expires_at"] is None
    finally:
        services.db.close()


def test_kill_group_never_touches_our_own_group() -> None:
    assert server.kill_group(os.getpgrp()) is False
    assert server.kill_group(1) is False


def test_an_interrupted_rotation_blocks_start_and_is_finished_by_rotating_again(
    env: dict[str, str], data_dir: Path
) -> None:
    from rdev_api.adapters.crypto.aesgcm import encode_master_key
    from rdev_api.adapters.sqlite.database import Database
    from rdev_api.adapters.sqlite.maintenance import reseal

    server.ensure_data_dir(data_dir)
    _seed_sealed_values(data_dir)
    old = AesGcmBox(decode_master_key((data_dir / "master.key").read_text(), "master.key"))
    # the state a crash between the commit and the rename leaves: values under the pending key
    pending = bytes(range(32))
    (data_dir / server.PENDING_KEY_FILE).write_text(encode_master_key(pending) + "\n")
    db = Database(data_dir / "rdev.db")
    reseal(db, old, AesGcmBox(pending))
    db.close()

    blocked = rdev(env, "server", "start", "--data-dir", data_dir, "--port", str(free_port()))
    assert blocked.returncode == 5 and "rotate-master-key" in blocked.stderr

    rotated = rdev(env, "server", "rotate-master-key", "--data-dir", data_dir)
    assert rotated.returncode == 0, rotated.stderr
    assert not (data_dir / server.PENDING_KEY_FILE).exists()
    final = AesGcmBox(decode_master_key((data_dir / "master.key").read_text(), "master.key"))
    db = Database(data_dir / "rdev.db")
    sealed = db.connection().execute("SELECT ciphertext FROM credentials").fetchone()[0]
    db.close()
    assert final.open(sealed, b"credential:github") == SENTINEL
