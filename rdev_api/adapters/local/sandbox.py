"""Commands inside bubblewrap (spec/rdev-api.md "Local threat model"): the filesystem read-only,
a private /tmp, the data dir hidden under an empty read-only tmpfs, the workspace the one
writable path, a pid namespace of its own, no capabilities (as root, a sandboxed command could
otherwise remount / read-write). The network stays shared: `sdlc` posts its callbacks to the
server over loopback. Each project's commands are started inside one sandbox kept for it
(zygote.py), by a spawner that ends each command's processes on a cancel, a timeout or its
exit."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import rdev_api
import sdlc
from rdev_api.adapters.local.processes import LocalProcess, OnChunk
from rdev_api.adapters.local.zygote import SandboxedProcess, ZygotePool
from rdev_api.domain.commands import ProcessOutcome
from rdev_api.envutil import EnvError, get_env_choice
from rdev_api.logging import FIELD_ERROR, FIELD_SANDBOX, get_logger
from rdev_api.ports.processes import ProcessRunner, RunningProcess
from rdev_api.timeouts import TIMEOUT_HEALTH_CHECK, TIMEOUT_LOOKUP

SANDBOX_SETTINGS: Final = ("auto", "bwrap", "off")
Mode = Literal["bwrap", "plain"]
TMP: Final = Path("/tmp")
NOT_ISOLATED: Final = "commands are not isolated from the data dir"
INSTALL: Final = "install bubblewrap (apt-get install bubblewrap)"
# long enough for a detached helper's outbound call (sdlc's flusher posts with a 5 s timeout)
DETACHED_GRACE_S: Final = TIMEOUT_LOOKUP


def bwrap_argv(
    argv: Sequence[str],
    workspace: Path,
    data_dir: Path,
    keep: Iterable[Path] = (),
    bwrap: str = "bwrap",
    spawner: bool = False,
) -> list[str]:
    """`argv` wrapped in bwrap. `keep`: paths the command needs that the private /tmp would
    hide (the venv, the packages' sources, PATH entries, the executable); those under /tmp
    are bound back read-only before the data dir is hidden, the workspace bound last.
    `spawner`: `argv` is a zygote's spawner, the pid namespace's pid 1 (when it exits, the
    kernel ends everything in it); it outlives the thread that started it and ends when its
    socket closes (--die-with-parent would tie it to that thread)."""
    data, space = str(data_dir), str(workspace)
    args = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", str(TMP)]
    for path in _under_tmp(tuple(keep), data_dir):
        args += ["--ro-bind", str(path), str(path)]
    # the tmpfs over the data dir is made read-only once the workspace's mount point is in it
    args += ["--tmpfs", data, "--bind", space, space, "--remount-ro", data]
    args += ["--unshare-pid", "--as-pid-1" if spawner else "--die-with-parent"]
    args += ["--cap-drop", "ALL", "--chdir", space, "--"]
    return args + list(argv)


@functools.lru_cache(maxsize=64)
def _under_tmp(paths: tuple[Path, ...], data_dir: Path) -> tuple[Path, ...]:
    """The paths under /tmp to bind back: existing, outside the data dir, none inside another.
    Cached: the same few sets of paths come back for every command (resolving them costs ms)."""
    found: set[Path] = set()
    for path in paths:
        if not path.is_absolute():
            continue
        for candidate in {Path(os.path.normpath(path)), path.resolve()}:
            if (
                candidate != TMP
                and candidate.is_relative_to(TMP)
                and not candidate.is_relative_to(data_dir)
                and candidate.exists()
            ):
                found.add(candidate)
    kept: list[Path] = []
    for path in sorted(found, key=lambda p: (len(p.parts), p)):
        if not any(path.is_relative_to(parent) for parent in kept):
            kept.append(path)
    return tuple(kept)


@functools.cache
def _python_paths() -> tuple[Path, ...]:
    """What a Python command of this install needs: the venv, the interpreter, the import
    path, and the sources of an editable install."""
    named = [sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix]
    named += [os.path.dirname(sys.executable), *sys.path]
    named += [os.path.dirname(os.path.dirname(module.__file__ or "")) for module in (sdlc, rdev_api)]
    return tuple(Path(p) for p in named if p)


def needed_paths(env: dict[str, str], executable: Path | None) -> list[Path]:
    paths = list(_python_paths())
    paths += [Path(entry) for entry in env.get("PATH", "").split(os.pathsep) if entry]
    if executable is not None:
        paths.append(executable)
    return paths


def _executable(program: str, env: dict[str, str], cwd: Path) -> Path | None:
    """Where `program` is, found the way execvp finds it (None: it cannot be started)."""
    if os.sep in program:
        path = cwd / program
        return path if path.is_file() and os.access(path, os.X_OK) else None
    search = env.get("PATH", os.defpath)
    known = _found.get((program, search))
    if known is not None and os.access(known, os.X_OK):  # one check, not a walk of PATH
        return known
    found = shutil.which(program, path=search)
    if found is None:
        return None
    if len(_found) < FOUND_CACHE_SIZE:
        _found[(program, search)] = Path(found)
    return Path(found)


_found: dict[tuple[str, str], Path] = {}  # (program, PATH) -> where it was found
FOUND_CACHE_SIZE: Final = 256


@functools.lru_cache(maxsize=256)
def _resolved(directory: str) -> Path:
    return Path(directory).resolve()


@functools.lru_cache(maxsize=256)
def _bwrap_prefix(workspace: Path, data: Path, search: str, executable: Path, bwrap: str) -> tuple[str, ...]:
    """bwrap's arguments for a zygote of commands like this one: the same few for every command
    of a project (working them out, paths resolved, took a command a few ms)."""
    keep = needed_paths({"PATH": search}, executable)
    return tuple(bwrap_argv([], workspace, data, keep, bwrap, spawner=True))


@dataclass(frozen=True)
class NotStarted:
    """A command whose program is not there: reported the way LocalProcess reports it."""

    error: str

    @property
    def pgid(self) -> int | None:
        return None

    def cancel(self) -> None:
        pass

    def wait(self) -> ProcessOutcome:
        return ProcessOutcome.not_started(self.error)


class SandboxedRunner:
    """A ProcessRunner that starts each command in its project's bwrap sandbox (a zygote kept
    for the project: zygote.py); its `cwd` is the workspace. `close()` ends the sandboxes."""

    def __init__(self, data_dir: Path, bwrap: str = "bwrap") -> None:
        self.data = data_dir.resolve()
        self.bwrap = bwrap
        self.pool = ZygotePool(DETACHED_GRACE_S)

    def __call__(
        self,
        argv: list[str],
        cwd: Path,
        env: dict[str, str],
        timeout_s: float,
        on_chunk: OnChunk,
        stdin: bytes | None = None,
    ) -> RunningProcess:
        workspace = _resolved(str(cwd))
        executable = _executable(argv[0], env, workspace) if argv else None
        if executable is None:
            program = argv[0] if argv else "an empty command"
            return NotStarted(f"could not start {program}: not found or not executable")
        prefix = _bwrap_prefix(workspace, self.data, env.get("PATH", ""), executable, self.bwrap)
        # by the path execvp would find, as a plain run starts it
        request = {"path": str(executable), "argv": argv, "env": env, "cwd": str(workspace)}
        return SandboxedProcess(self.pool, prefix, workspace, request, timeout_s, on_chunk, stdin)

    def close(self) -> None:
        self.pool.close()


@functools.cache
def _probe(bwrap: str | None) -> str | None:
    """None when bwrap runs `true` with the argument set commands get; else why it does not."""
    if bwrap is None:
        return "bwrap is not installed (Debian package bubblewrap)"
    env = {"PATH": os.environ.get("PATH", os.defpath)}
    with tempfile.TemporaryDirectory(prefix="rdev-sandbox-probe-") as scratch:
        data = Path(scratch).resolve() / "data"
        workspace = data / "workspaces" / "probe"
        workspace.mkdir(parents=True)
        true = _executable("true", env, workspace) or Path("true")
        argv = bwrap_argv([str(true)], workspace, data, needed_paths(env, None), bwrap)
        try:
            done = subprocess.run(
                argv, cwd=workspace, env=env, capture_output=True, timeout=TIMEOUT_HEALTH_CHECK, check=False
            )
        except subprocess.TimeoutExpired:
            return f"bwrap did not finish within {TIMEOUT_HEALTH_CHECK:g}s"
        except OSError as err:
            return f"could not start bwrap: {err.strerror or err}"
    if done.returncode != 0:
        said = done.stderr.decode(errors="replace").strip().splitlines()
        return f"bwrap failed (exit code {done.returncode}): {said[-1] if said else 'no output'}"
    return None


def bwrap_problem() -> str | None:
    """Why bwrap does not work on this machine, or None when it does (probed once)."""
    return _probe(shutil.which("bwrap"))


def bwrap_works() -> bool:
    return bwrap_problem() is None


class SandboxUnavailable(EnvError):
    """RDEV_SANDBOX=bwrap on a machine where bwrap does not work."""


@dataclass(frozen=True)
class Executor:
    mode: Mode
    runner: ProcessRunner
    close: Callable[[], None] = lambda: None  # at shutdown


def choose_executor(data_dir: Path) -> Executor:
    """The runner RDEV_SANDBOX asks for (auto: bwrap when it works), the choice logged.
    Raises EnvError for a bad setting, SandboxUnavailable when bwrap is required but fails."""
    setting = get_env_choice("RDEV_SANDBOX", SANDBOX_SETTINGS)
    log = get_logger("executor")
    problem = bwrap_problem() if setting != "off" else "RDEV_SANDBOX=off"
    if problem is None:
        bwrap = shutil.which("bwrap") or "bwrap"
        log.info("commands run in a bwrap sandbox", extra={FIELD_SANDBOX: "bwrap"})
        runner = SandboxedRunner(data_dir, bwrap)
        return Executor("bwrap", runner, runner.close)
    if setting == "bwrap":
        raise SandboxUnavailable(
            f"RDEV_SANDBOX=bwrap but bwrap does not work here: {problem}; "
            f"{INSTALL}, or set RDEV_SANDBOX=auto to run commands without it"
        )
    hint = "" if setting == "off" else f" ({INSTALL} to isolate them)"
    log.warning(f"{NOT_ISOLATED}: {problem}{hint}", extra={FIELD_SANDBOX: "plain", FIELD_ERROR: problem})
    return Executor("plain", LocalProcess)
