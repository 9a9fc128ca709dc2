"""Crash-safe file writes: a kill -9 at any instant leaves every file old or new (§7)."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

_SEQUENCE = itertools.count()


def _create_temp(path: Path) -> tuple[int, Path]:
    """A new file beside `path`, unique across processes (pid) and calls (sequence)."""
    while True:
        temp = path.with_name(f".{path.name}.{os.getpid()}.{next(_SEQUENCE)}.tmp")
        try:
            return os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644), temp
        except FileExistsError:  # left by a killed process whose pid came round again
            continue


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes, durable: bool = True) -> None:
    """Write `data` to `path` via a temp file in the same directory, fsync, rename, fsync dir."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temp(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        _fsync_dir(path.parent)


def append_durable(path: Path, data: bytes) -> None:
    """Append `data` with a single write(2) and fsync: a killed process never tears it."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        if os.fstat(fd).st_size:  # a torn last line (power loss) must not swallow ours
            with open(path, "rb") as handle:
                handle.seek(-1, os.SEEK_END)
                if handle.read(1) != b"\n":
                    data = b"\n" + data
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)
