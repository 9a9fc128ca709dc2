"""Running the API on one machine (spec/rdev-api.md "Start-up and the CLI profile"): the data
dir, the master key, the bootstrap admin key of a first start, serving with uvicorn (in the
foreground or detached with a pid file and a log file), status and stop, minting an admin key
from the data dir, and the clean-up after a server that died (rotating the master key:
rdev_api/master_key.py).

`rdev server ...` (rdev_cli/server.py) calls these functions; a detached server is this module
run as `python -m rdev_api.server serve ...`, so that the admin key never reaches its log."""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rdev_api.envutil import EnvError, get_env
from rdev_api.timeouts import TIMEOUT_FAST_LOOKUP, TIMEOUT_STANDARD

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8484
PID_FILE = "server.pid"
LOG_FILE = "server.log"
LOCK_FILE = "server.lock"
PENDING_KEY_FILE = "master.key.new"  # a rotation in progress (see rotate_master_key)
BOOTSTRAP_KEY_NAME = "bootstrap admin"
RECOVERY_KEY_NAME = "admin (rdev server admin-key)"
STOP_GRACE_S = TIMEOUT_STANDARD  # SIGTERM, then SIGKILL after this long
READY_WITHIN_S = TIMEOUT_STANDARD  # a detached server must answer /health within this
POLL_S = 0.05

ErrorKind = Literal["usage", "not_found", "conflict", "error"]


class ServerError(Exception):
    """A refusal or failure of a server operation; `kind` chooses the CLI's exit code."""

    def __init__(self, message: str, kind: ErrorKind = "error", hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.hint = hint


# --- data dir and bind address -----------------------------------------------------------


def resolve_data_dir(given: Path | None) -> Path:
    """`--data-dir`, else RDEV_DATA_DIR, else the platform's user data dir for rdev."""
    if given is not None:
        return given.expanduser().absolute()
    from_env = get_env("RDEV_DATA_DIR")
    if from_env:
        return Path(from_env).expanduser().absolute()
    import platformdirs

    return Path(platformdirs.user_data_dir("rdev"))


def ensure_data_dir(data_dir: Path) -> None:
    """Create the data dir, readable by its owner only."""
    if not data_dir.exists():
        data_dir.mkdir(parents=True, mode=0o700)
        data_dir.chmod(0o700)  # mkdir's mode is filtered by the umask
    elif not data_dir.is_dir():
        raise ServerError(f"the data dir {data_dir} is not a directory", "usage")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Bind:
    """Where a server listens and how."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    tls_cert: Path | None = None
    tls_key: Path | None = None

    @property
    def url(self) -> str:
        """The URL clients on this machine use (a wildcard bind is reached over loopback)."""
        host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        if ":" in host:
            host = f"[{host}]"
        return f"{'https' if self.tls_cert else 'http'}://{host}:{self.port}"

    def args(self) -> list[str]:
        tls = ["--tls-cert", str(self.tls_cert), "--tls-key", str(self.tls_key)] if self.tls_cert else []
        return ["--host", self.host, "--port", str(self.port), *tls]


def check_bind(bind: Bind, insecure_http: bool) -> str | None:
    """Refuse a bind the spec forbids; returns the warning to show for a non-loopback bind."""
    if (bind.tls_cert is None) != (bind.tls_key is None):
        raise ServerError("--tls-cert and --tls-key go together", "usage")
    for path in (bind.tls_cert, bind.tls_key):
        if path is not None and not path.is_file():
            raise ServerError(f"no such file: {path}", "usage")
    if is_loopback(bind.host):
        return None
    if bind.tls_cert is None and not insecure_http:
        raise ServerError(
            f"refusing to serve plain HTTP on {bind.host}, which is reachable beyond this machine",
            "usage",
            hint="pass --tls-cert FILE --tls-key FILE, or --insecure-http on a network you trust",
        )
    plain = " over plain HTTP: API keys cross the network in clear" if bind.tls_cert is None else ""
    return f"the server listens on {bind.host}, beyond this machine{plain}"


# --- opening a data dir ------------------------------------------------------------------


def open_services(data_dir: Path, loopback_bind: bool = True, public_url: str | None = None) -> Any:
    """The Services of a data dir: the master key (created on a first start unless
    RDEV_MASTER_KEY is set) and the database (migrated). `loopback_bind`, `public_url`: see
    build_services."""
    from rdev_api.adapters.crypto.aesgcm import load_or_create_master_key
    from rdev_api.app import build_services

    if (data_dir / PENDING_KEY_FILE).exists():
        raise ServerError(
            f"{data_dir / PENDING_KEY_FILE} exists: a master key rotation was interrupted",
            "conflict",
            hint=f"rdev server rotate-master-key --data-dir {data_dir}",
        )
    try:
        load_or_create_master_key(data_dir, get_env("RDEV_MASTER_KEY") or None)
    except ValueError as err:
        raise ServerError(str(err), "usage") from err
    try:
        return build_services(data_dir, loopback_bind=loopback_bind, public_url=public_url)
    except EnvError as err:  # a knob set wrong, or RDEV_SANDBOX=bwrap where bwrap fails
        raise ServerError(str(err), "usage") from err


def bootstrap(services: Any) -> str | None:
    """On a first start (no key at all yet), the bootstrap admin key, returned once."""
    existing, _ = services.keys.list(1, None)
    if existing:
        return None
    key, token = services.keys.bootstrap_admin(BOOTSTRAP_KEY_NAME)
    services.audit.record(None, "key.create", key.id, None, None)
    return str(token)


def mint_admin_key(data_dir: Path) -> str:
    """A new admin key for a data dir whose keys were lost: access to the data dir is the proof."""
    from rdev_api.adapters.sqlite.database import DATABASE_FILE

    if not (data_dir / DATABASE_FILE).exists():
        raise ServerError(
            f"no rdev server data in {data_dir}", "not_found", hint="rdev server start (creates it)"
        )
    services = open_services(data_dir)
    try:
        key, token = services.keys.bootstrap_admin(RECOVERY_KEY_NAME)
        services.audit.record(None, "key.create", key.id, None, None)
        return str(token)
    finally:
        services.db.close()


# --- the running server: lock, pid file, status, stop --------------------------------------


@contextlib.contextmanager
def data_dir_lock(data_dir: Path) -> Iterator[None]:
    """Held by the serving process and by a rotation: one owner of a data dir at a time."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(data_dir / LOCK_FILE))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise ServerError(
            f"another rdev server holds {data_dir}",
            "conflict",
            hint=f"rdev server status --data-dir {data_dir}",
        ) from None
    try:
        yield
    finally:
        lock.release()


@dataclass(frozen=True)
class Running:
    pid: int
    url: str


def _alive(pid: int) -> bool:
    """The process exists and is not a zombie (on Linux, also: it is an rdev server). One in
    the middle of exiting still counts: its memory is gone (an empty command line), but not
    yet its files, such as the listening socket."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if not Path("/proc/self").exists():
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    if stat[stat.rfind(b")") + 2 :][:1] in (b"Z", b"X"):
        return False
    return not cmdline or b"rdev" in cmdline  # another program after pid reuse: not ours


def running(data_dir: Path) -> Running | None:
    """The server serving this data dir, from its pid file; None when there is none."""
    try:
        recorded = json.loads((data_dir / PID_FILE).read_text(encoding="utf-8"))
        found = Running(int(recorded["pid"]), str(recorded["url"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return found if _alive(found.pid) else None


def _write_pid_file(data_dir: Path, url: str) -> None:
    path = data_dir / PID_FILE
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"pid": os.getpid(), "url": url}) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def _remove_pid_file(data_dir: Path, pid: int) -> None:
    """Remove the pid file if it still names `pid` (a newer server may have replaced it)."""
    path = data_dir / PID_FILE
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        if int(json.loads(path.read_text(encoding="utf-8"))["pid"]) == pid:
            path.unlink()


def _health(url: str) -> dict[str, Any] | None:
    import httpx

    try:
        response = httpx.get(f"{url}/health", timeout=TIMEOUT_FAST_LOOKUP, verify=False)
        response.raise_for_status()
        found: dict[str, Any] = response.json()
        return found
    except (httpx.HTTPError, ValueError):
        return None


def status(data_dir: Path) -> dict[str, Any]:
    """Whether a server serves the data dir, and its pid, URL, version and health."""
    found = running(data_dir)
    if found is None:
        return {"running": False, "data_dir": str(data_dir)}
    health = _health(found.url) or {}
    return {
        "running": True,
        "pid": found.pid,
        "url": found.url,
        "version": health.get("version"),
        "status": health.get("status", "unreachable"),
        "data_dir": str(data_dir),
    }


def _wait_gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while _alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_S)
    return True


def stop(data_dir: Path, grace: float = STOP_GRACE_S) -> Running | None:
    """SIGTERM the server, SIGKILL it if it is still there after `grace`; the pid file goes
    either way. Returns what was stopped, None when nothing ran."""
    found = running(data_dir)
    if found is None:
        with contextlib.suppress(FileNotFoundError):
            (data_dir / PID_FILE).unlink()
        return None
    with contextlib.suppress(ProcessLookupError):
        os.kill(found.pid, signal.SIGTERM)
    if not _wait_gone(found.pid, grace):
        with contextlib.suppress(ProcessLookupError):
            os.kill(found.pid, signal.SIGKILL)
        if not _wait_gone(found.pid, TIMEOUT_FAST_LOOKUP):
            raise ServerError(f"the server (pid {found.pid}) did not end after SIGKILL")
    _remove_pid_file(data_dir, found.pid)
    return found


# --- serving -----------------------------------------------------------------------------


def recover_after_crash(services: Any) -> Any:
    """Before serving: kill the process groups of commands a dead server left running, mark
    those commands failed (reason server_restart), put expired work leases back."""
    from rdev_api.adapters.clock import SystemClock
    from rdev_api.adapters.sqlite.maintenance import recover

    return recover(services.db, SystemClock().now(), kill_group)


def kill_group(pgid: int) -> bool:
    """SIGKILL a process group left behind; whether it still existed. Never our own group."""
    if pgid <= 1 or pgid == os.getpgrp():
        return False
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's group that reused the number: not ours
        return False
    return True


def configure_logging() -> None:
    """The server's log on stderr (RDEV_LOG_FORMAT, RDEV_LOG_LEVEL, RDEV_LOG_LEVELS), uvicorn's
    own lines included."""
    import logging

    from rdev_api.logging import setup_logging

    handler = setup_logging(
        fmt=get_env("RDEV_LOG_FORMAT"), level=get_env("RDEV_LOG_LEVEL"), levels=get_env("RDEV_LOG_LEVELS")
    )
    uvicorn_logger = logging.getLogger("uvicorn")
    uvicorn_logger.handlers[:] = [handler]
    uvicorn_logger.propagate = False


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(0)


def serve(services: Any, data_dir: Path, bind: Bind) -> None:
    """Serve in this process until SIGTERM/SIGINT: lock the data dir, write the pid file,
    clean up after a dead predecessor, run uvicorn (call configure_logging first)."""
    import uvicorn

    from rdev_api.app import create_app
    from rdev_api.logging import get_logger

    log = get_logger("server")
    with data_dir_lock(data_dir):
        _write_pid_file(data_dir, bind.url)
        try:
            done = recover_after_crash(services)
            if done.requeued or done.dead or done.commands_failed:
                log.warning(
                    "cleaned up after a server that died",
                    extra={
                        "requeued": done.requeued,
                        "dead": done.dead,
                        "commands_failed": done.commands_failed,
                        "groups_killed": done.groups_killed,
                    },
                )
            config = uvicorn.Config(
                create_app(services),
                host=bind.host,
                port=bind.port,
                ssl_certfile=str(bind.tls_cert) if bind.tls_cert else None,
                ssl_keyfile=str(bind.tls_key) if bind.tls_key else None,
                log_config=None,
                access_log=False,
            )
            log.info("serving", extra={"url": bind.url, "data_dir": str(data_dir), "pid": os.getpid()})
            # uvicorn re-raises the signal that stopped it once it is done: SIGTERM must then
            # unwind through this function (pid file, database) rather than end the process.
            signal.signal(signal.SIGTERM, _exit_on_sigterm)

            class Server(uvicorn.Server):
                def handle_exit(self, sig: int, frame: Any) -> None:
                    services.work.stop_waiting()  # long-polling claims must not hold the stop
                    super().handle_exit(sig, frame)

            Server(config).run()
        finally:
            log.info("stopped")
            _remove_pid_file(data_dir, os.getpid())
            services.db.close()


def spawn_detached(data_dir: Path, bind: Bind) -> Running:
    """Start `python -m rdev_api.server serve` in its own session, output to the log file in
    the data dir; return once it answers /health (ServerError with the log's tail if not)."""
    log_path = data_dir / LOG_FILE
    descriptor = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(descriptor, "ab") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "rdev_api.server", "serve", "--data-dir", str(data_dir), *bind.args()],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=data_dir,
        )
    deadline = time.monotonic() + READY_WITHIN_S
    while True:
        found = running(data_dir)
        if found is not None and found.pid == child.pid and _health(found.url) is not None:
            return found
        if child.poll() is not None or time.monotonic() >= deadline:
            if child.poll() is None:
                child.kill()
            tail = log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-5:]
            raise ServerError(
                "the detached server did not start: " + (" | ".join(tail) or "no output"),
                hint=f"see {log_path}",
            )
        time.sleep(POLL_S)


# --- `python -m rdev_api.server serve`: the detached server --------------------------------


def main(argv: list[str]) -> int:
    from rdev_api.logging import FIELD_ERROR, get_logger

    parser = argparse.ArgumentParser(prog="python -m rdev_api.server")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_command = commands.add_parser("serve", help="serve a data dir (checks done by `rdev server start`)")
    serve_command.add_argument("--data-dir", type=Path, required=True)
    serve_command.add_argument("--host", default=DEFAULT_HOST)
    serve_command.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve_command.add_argument("--tls-cert", type=Path)
    serve_command.add_argument("--tls-key", type=Path)
    args = parser.parse_args(argv)
    bind = Bind(args.host, args.port, args.tls_cert, args.tls_key)
    configure_logging()
    try:
        serve(open_services(args.data_dir, is_loopback(bind.host), bind.url), args.data_dir, bind)
    except ServerError as err:
        get_logger("server").error("cannot serve", extra={FIELD_ERROR: err.message})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
