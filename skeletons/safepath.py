"""Output paths are normalised, relative, free of `..`, and resolve inside the destination,
symlinks included; anything else is refused before a byte is written (spec/skeletons.md)."""

from __future__ import annotations

import os
import posixpath
from pathlib import Path

from skeletons.errors import UnsafePath


def safe_relative(path: str) -> str:
    """`path` normalised to a relative POSIX path inside its root, or UnsafePath."""
    if not path or "\x00" in path or "\\" in path:
        raise UnsafePath(f"unsafe output path {path!r}: empty, NUL or backslash")
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        raise UnsafePath(f"unsafe output path {path!r}: absolute paths are refused")
    if ".." in path.split("/"):
        raise UnsafePath(f"unsafe output path {path!r}: '..' is refused")
    normal = posixpath.normpath(path)
    if normal in (".", "") or normal.startswith("../"):
        raise UnsafePath(f"unsafe output path {path!r}: it leaves the destination")
    return normal


def inside(dest: Path, relative: str) -> Path:
    """The real location of `relative` under `dest`; refused when an existing symlink on the
    way points out of `dest`."""
    root = Path(os.path.realpath(dest))
    target = Path(os.path.realpath(root / relative))
    if target != root and root not in target.parents:
        raise UnsafePath(f"unsafe output path {relative!r}: it resolves outside {dest} (through a symlink)")
    return root / relative
