"""`rdev worker run`: an external worker over the worker protocol (spec/rdev-api.md "Work
items"). It registers, claims `command` items, runs each payload's command in its own process
group in a local checkout (`--workdir`), heartbeats the lease every lease/3 (a lost lease ends
the group), and completes or fails the item. SIGTERM/SIGINT: stop claiming, let running items
finish (up to --drain-timeout), exit 0; a second Ctrl-C kills the commands and exits 130.

Talks to the API through worker_http (http.client; never imports rdev_api): URL and
key from the flags, else RDEV_API_URL / RDEV_API_KEY, else the current profile."""

from __future__ import annotations

import contextlib
import os
import random
import select
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Final

import typer

from rdev_cli.errors import EXIT_AUTH, EXIT_INTERRUPTED, EXIT_NETWORK, EXIT_USAGE, CliError
from rdev_cli.output import info
from rdev_cli.worker_http import REQUEST_TIMEOUT_S, Api, ApiError

HELP = "Run work items of the API's queue on this machine (rdev worker run)."
app = typer.Typer(no_args_is_help=True)

SUPPORTED_TYPES: Final = ("command",)
CLAIM_WAIT_S: Final = 10.0  # how long the server may hold a claim when nothing is claimable
OPTIONAL_FIELDS: Final = ("claim", "wait_s")  # newer than the worker protocol's first version
IDLE_MIN_S: Final = 0.05  # the idle backoff after a 204, doubled up to IDLE_MAX_S
IDLE_MAX_S: Final = 1.0
DEFAULT_LEASE_S: Final = 60.0
DEFAULT_DRAIN_S: Final = 600.0
DEFAULT_TIMEOUT_S: Final = 600
OUTPUT_TAIL_BYTES: Final = 4096
ERROR_TAIL_CHARS: Final = 2000
GIT_ALLOWED: Final = frozenset(
    {"status", "log", "diff", "show", "add", "commit", "branch", "checkout", "switch", "merge"}
    | {"rev-parse", "fetch", "pull", "push"}
)
AGENT_KINDS: Final = frozenset({"claude", "opencode"})
RESERVED_ENV: Final = frozenset({"PATH", "HOME", "SDLC_AGENT", "SDLC_ROOT"})
PAYLOAD_KEYS: Final = frozenset({"project", "kind", "argv", "script", "prompt", "timeout_s", "env"})


class PermanentFailure(Exception):
    """A payload no retry can fix: the item fails with retryable=false."""


# --- the command of a payload ----------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    argv: list[str]
    timeout_s: int
    env: dict[str, str]


def parse_payload(payload: Any) -> Command:
    """The process a `command` item asks for; PermanentFailure when it cannot run here."""
    if not isinstance(payload, dict):
        raise PermanentFailure("the payload is not an object")
    unknown = sorted(set(payload) - PAYLOAD_KEYS)
    if unknown:
        raise PermanentFailure(f"unknown payload fields: {unknown}")
    kind = payload.get("kind")
    if kind in AGENT_KINDS:
        raise PermanentFailure(f"{kind} commands run on the server only, not on an external worker")
    argv, script = payload.get("argv"), payload.get("script")
    if kind == "shell" and script is not None and argv is None and isinstance(script, str) and script:
        command = ["sh", "-c", script]
    elif kind in ("shell", "git") and script is None and _strings(argv) and argv:
        if kind == "git" and argv[0] not in GIT_ALLOWED:
            raise PermanentFailure(f"git {argv[0]!r} is not allowed")
        command = ["git", *argv] if kind == "git" else list(argv)
    else:
        raise PermanentFailure("the payload needs kind shell (argv or script) or git (argv)")
    timeout = payload.get("timeout_s", DEFAULT_TIMEOUT_S)
    if not isinstance(timeout, int) or isinstance(timeout, bool) or timeout < 1:
        raise PermanentFailure("timeout_s must be a positive integer")
    env = payload.get("env") or {}
    if not isinstance(env, dict) or not _strings(list(env.values())) or not _strings(list(env)):
        raise PermanentFailure("env must map names to strings")
    reserved = sorted(set(env) & RESERVED_ENV)
    if reserved:
        raise PermanentFailure(f"env may not set {reserved}")
    return Command(command, timeout, env)


def _strings(values: Any) -> bool:
    return isinstance(values, list) and all(isinstance(v, str) for v in values)


def _environment(workdir: Path, extra: dict[str, str]) -> dict[str, str]:
    """An allowlist, never the worker's own environment (its API key stays here)."""
    return {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "TERM": "dumb",
        "HOME": str(workdir),
        **extra,
    }


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _exit_code(process: subprocess.Popen[bytes], pidfd: int | None, timeout: float) -> int | None:
    """The exit code once the process ends within `timeout`, else None. A pidfd wakes us at
    the exit itself; Popen.wait(timeout) polls with doubling sleeps (a 2 ms command is seen
    after up to 4, which counts when a worker runs hundreds of items a second)."""
    if pidfd is None:
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
    ready, _, _ = select.select([pidfd], [], [], timeout)
    return process.wait() if ready else None


def _tail(handle: Any) -> str:
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    handle.seek(max(0, size - OUTPUT_TAIL_BYTES))
    return str(handle.read().decode("utf-8", errors="replace"))


# --- the worker ------------------------------------------------------------------------------


@dataclass
class Worker:
    api: Api
    worker_id: str
    types: list[str]
    workdir: Path
    lease_s: float
    stopping: threading.Event = field(default_factory=threading.Event)
    running: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    guard: threading.Lock = field(default_factory=threading.Lock)
    # request fields a server older than this worker refuses (422 naming them): not sent again
    unsupported: set[str] = field(default_factory=set)

    def _call(self, path: str, body: dict[str, Any], timeout: float = REQUEST_TIMEOUT_S) -> Any:
        """POST `body` without the fields the server does not know; a 422 naming fields this
        worker added (claim, wait_s) is retried without them once they are known."""
        while True:
            sent = {k: v for k, v in body.items() if k not in self.unsupported}
            try:
                return self.api.call("POST", path, sent, timeout)
            except ApiError as err:
                newer = err.fields & set(OPTIONAL_FIELDS) - self.unsupported if err.status == 422 else set()
                if not newer:
                    raise
                info(f"the server does not know {', '.join(sorted(newer))}: not sent from now on")
                self.unsupported |= newer

    def loop(self) -> None:
        """Claim and run until stopping. The server holds a claim up to CLAIM_WAIT_S for an
        item; a 204 sooner than that (a draining worker, an older server) backs off up to
        IDLE_MAX_S. Each outcome posted also claims the next item (one request per item while
        the queue has work); an item in hand when stopping is still run."""
        idle = IDLE_MIN_S
        body = {"worker_id": self.worker_id, "types": self.types, "lease_s": self.lease_s}
        item: dict[str, Any] | None = None
        while item is not None or not self.stopping.is_set():
            if item is None:
                asked = time.monotonic()
                try:
                    item = self._call(
                        "/work/claim", {**body, "wait_s": CLAIM_WAIT_S}, CLAIM_WAIT_S + REQUEST_TIMEOUT_S
                    )
                except ApiError as err:
                    info(f"claim failed: {err}")
                    self.stopping.wait(IDLE_MAX_S)
                    continue
                if item is None:
                    if time.monotonic() - asked < CLAIM_WAIT_S / 2:
                        self.stopping.wait(random.uniform(idle / 2, idle))
                        idle = min(IDLE_MAX_S, idle * 2)
                    continue
                idle = IDLE_MIN_S
            held = item["id"]
            try:
                item = self.settle(item)
            except ApiError as err:  # the lease expires and the item runs again
                info(f"{held}: could not record the outcome: {err}")
                item = None

    def settle(self, item: dict[str, Any]) -> dict[str, Any] | None:
        """Run the item and post its outcome; the next item claimed with it, if any."""
        item_id = item["id"]
        try:
            command = parse_payload(item.get("payload"))
        except PermanentFailure as err:
            info(f"{item_id}: refused: {err}")
            return self._report(item_id, "fail", {"error": str(err), "retryable": False})
        outcome = self.execute(item_id, command)
        if outcome is None:
            info(f"{item_id}: lease lost; the command was ended")
            return None
        exit_code, tail = outcome
        if exit_code == 0:
            following = self._report(item_id, "complete", {"result": {"exit_code": 0, "output_tail": tail}})
            info(f"{item_id}: succeeded")
        else:
            error = f"exit code {exit_code}: {tail[-ERROR_TAIL_CHARS:]}"
            following = self._report(item_id, "fail", {"error": error, "retryable": True})
            info(f"{item_id}: failed with exit code {exit_code}")
        return following

    def _report(self, item_id: str, verb: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """Post the outcome, claiming the next item with it unless stopping."""
        if not self.stopping.is_set():
            body = {**body, "claim": {"types": self.types, "lease_s": self.lease_s}}
        try:
            answer = self._call(f"/work/{item_id}/{verb}", {"worker_id": self.worker_id, **body})
        except ApiError as err:
            if err.status not in (404, 409):
                raise
            info(f"{item_id}: the lease was lost; the outcome is dropped")
            return None
        following: dict[str, Any] | None = answer.get("next") if isinstance(answer, dict) else None
        return following

    def execute(self, item_id: str, command: Command) -> tuple[int, str] | None:
        """Run the command, heartbeating every lease/3: (exit code, output tail), or None when
        the lease was lost (the group is killed). A timeout kills the group: exit code 124."""
        with tempfile.TemporaryFile() as output:
            try:
                process = subprocess.Popen(
                    command.argv,
                    cwd=self.workdir,
                    env=_environment(self.workdir, command.env),
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            except OSError as err:
                return 127, f"cannot start {command.argv[0]}: {err}"
            with self.guard:
                self.running[item_id] = process
            try:
                code = self._supervise(item_id, process, command.timeout_s)
            finally:
                _kill_group(process)  # leftovers of the group end with the command
                with self.guard:
                    self.running.pop(item_id, None)
            return None if code is None else (code, _tail(output))

    def _supervise(self, item_id: str, process: subprocess.Popen[bytes], timeout_s: int) -> int | None:
        try:
            pidfd: int | None = os.pidfd_open(process.pid)
        except (AttributeError, OSError):  # not Linux >= 5.3: Popen.wait's polling
            pidfd = None
        try:
            return self._watch(item_id, process, timeout_s, pidfd)
        finally:
            if pidfd is not None:
                os.close(pidfd)

    def _watch(
        self, item_id: str, process: subprocess.Popen[bytes], timeout_s: int, pidfd: int | None
    ) -> int | None:
        deadline = time.monotonic() + timeout_s
        beat = self.lease_s / 3
        next_beat = time.monotonic() + beat
        while True:
            code = _exit_code(process, pidfd, max(0.0, min(next_beat, deadline) - time.monotonic()))
            if code is not None:
                return code if code >= 0 else 128 - code
            if time.monotonic() >= deadline:
                _kill_group(process)
                process.wait()
                return 124
            try:
                self.api.call(
                    "POST",
                    f"/work/{item_id}/heartbeat",
                    {"worker_id": self.worker_id, "lease_s": self.lease_s},
                )
            except ApiError as err:
                if err.status in (404, 409):
                    _kill_group(process)
                    process.wait()
                    return None
                info(f"{item_id}: heartbeat failed: {err}")  # the next beat is still within the lease
            next_beat = time.monotonic() + beat

    def kill_all(self) -> None:
        with self.guard:
            for process in self.running.values():
                _kill_group(process)


# --- the command -----------------------------------------------------------------------------


def resolve_target(url: str | None, key: str | None) -> tuple[str, str]:
    """Flags, else RDEV_API_URL / RDEV_API_KEY, else the current profile."""
    url = url or os.environ.get("RDEV_API_URL") or None
    key = key or os.environ.get("RDEV_API_KEY") or None
    if url is None or key is None:
        from rdev_cli.profile import config_path, read_config

        data = read_config()
        profile = data.get("profiles", {}).get(data.get("current_profile") or "", {})
        profile = profile if isinstance(profile, dict) else {}
        url = url or profile.get("url")
        key = key or profile.get("api_key")
        if not url or not key:
            raise CliError(
                f"no API {'URL' if not url else 'key'}: none given and no profile in {config_path()} has one",
                hint="pass --url and --api-key, set RDEV_API_URL and RDEV_API_KEY, or `rdev server start`",
                exit_code=EXIT_USAGE,
            )
    return str(url), str(key)


def _register(api: Api, worker_id: str, types: list[str]) -> dict[str, Any]:
    try:
        found: dict[str, Any] = api.call(
            "POST", "/workers", {"id": worker_id, "name": "rdev worker", "types": types}
        )
    except ApiError as err:
        code = EXIT_AUTH if err.status in (401, 403) else EXIT_USAGE
        if err.status is None or err.status == 429 or err.status >= 500:
            code = EXIT_NETWORK
        raise CliError(f"cannot register the worker: {err}", exit_code=code) from err
    return found


@app.command("run")
def run(
    types: Annotated[
        list[str] | None, typer.Option("--types", help="Item types to claim (repeat); only `command`.")
    ] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, max=64, help="Items run at once.")] = 1,
    workdir: Annotated[
        Path,
        typer.Option("--workdir", help="The local checkout commands run in.", show_default="the current dir"),
    ] = Path("."),
    url: Annotated[
        str | None, typer.Option("--url", help="The API (default RDEV_API_URL, else the profile).")
    ] = None,
    api_key: Annotated[
        str | None, typer.Option("--api-key", help="Its key (default RDEV_API_KEY, else the profile).")
    ] = None,
    worker_id: Annotated[
        str | None,
        typer.Option("--worker-id", help="How the server knows this worker.", show_default="HOST-PID"),
    ] = None,
    lease: Annotated[
        float, typer.Option("--lease", min=3, max=86400, help="Lease length, seconds.")
    ] = DEFAULT_LEASE_S,
    drain_timeout: Annotated[
        float,
        typer.Option("--drain-timeout", min=0, help="On SIGTERM/SIGINT: wait this long for running items."),
    ] = DEFAULT_DRAIN_S,
) -> None:
    """Claim and run work items until SIGTERM or Ctrl-C (then finish what runs, exit 0)."""
    wanted = sorted(set(types or ["command"]))
    unsupported = [t for t in wanted if t not in SUPPORTED_TYPES]
    if unsupported:
        raise CliError(
            f"this worker cannot run {', '.join(unsupported)}",
            hint=f"types it runs: {', '.join(SUPPORTED_TYPES)}",
            exit_code=EXIT_USAGE,
        )
    directory = workdir.expanduser().absolute()
    if not directory.is_dir():
        raise CliError(f"--workdir {directory} is not a directory", exit_code=EXIT_USAGE)
    api = Api(*resolve_target(url, api_key))
    chosen = worker_id or f"{socket.gethostname()}-{os.getpid()}"
    try:
        _register(api, chosen, wanted)
        worker = Worker(api, chosen, wanted, directory, lease)
        _serve(worker, concurrency, drain_timeout)
    finally:
        api.close()


def _serve(worker: Worker, concurrency: int, drain_timeout: float) -> None:
    signals: list[int] = []

    def on_signal(signum: int, frame: Any) -> None:
        signals.append(signum)
        worker.stopping.set()
        if len(signals) > 1 and signum == signal.SIGINT:
            worker.kill_all()
            info("interrupted twice: commands killed")
            os._exit(EXIT_INTERRUPTED)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    threads = [
        threading.Thread(target=worker.loop, name=f"worker-{n}", daemon=True)
        for n in range(1, concurrency + 1)
    ]
    for thread in threads:
        thread.start()
    info(f"worker {worker.worker_id} claiming {', '.join(worker.types)} into {worker.workdir}")
    while not worker.stopping.wait(worker.lease_s / 3):
        with contextlib.suppress(ApiError):  # a sign of life; the claims carry the work
            worker.api.call("POST", f"/workers/{worker.worker_id}/heartbeat")
    info(f"stopping: finishing {len(worker.running)} running item(s) (up to {drain_timeout:.0f}s)")
    with contextlib.suppress(ApiError):
        worker.api.call("POST", f"/workers/{worker.worker_id}/drain")
    deadline = time.monotonic() + drain_timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    if any(thread.is_alive() for thread in threads):
        worker.kill_all()  # their leases expire and the items run again elsewhere
        info("drain timeout: the commands still running were killed")
    info("stopped")
