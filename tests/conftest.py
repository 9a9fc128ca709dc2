"""Shared fixtures: real temp projects, the CLI in-process and as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sdlc.cli.main import run
from sdlc.ops.init import init_project


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def data(self) -> Any:
        return json.loads(self.out)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SDLC_ROOT", "SDLC_AGENT", "SDLC_DEBUG", "SDLC_LOCK_TIMEOUT", "RDEV_CALLBACK_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SDLC_ACTOR", "tester")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    init_project(root)
    return root


class InProcess:
    """Runs `sdlc ARGS` in this process (fast) against one project root."""

    def __init__(self, root: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.root = root
        self.capsys = capsys

    def __call__(self, *args: str, json_mode: bool = False) -> Result:
        self.capsys.readouterr()
        argv = ["--root", str(self.root), *args, *(["--json"] if json_mode else [])]
        code = run(argv)
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)

    def json(self, *args: str) -> Any:
        result = self(*args, json_mode=True)
        assert result.code == 0, result
        return result.data

    def ok(self, *args: str) -> Result:
        result = self(*args)
        assert result.code == 0, result
        return result


@pytest.fixture
def sdlc(project: Path, capsys: pytest.CaptureFixture[str]) -> InProcess:
    return InProcess(project, capsys)


def run_process(
    args: list[str], cwd: Path, env: dict[str, str] | None = None, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """`sdlc ARGS` as a real subprocess."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "sdlc", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        **kwargs,
    )


def write_artifact(root: Path, slug: str, name: str, text: str = "content\n") -> Path:
    path = root / ".sdlc" / "features" / slug / name
    path.write_text(text)
    return path


def tree_snapshot(root: Path) -> Iterator[tuple[str, bytes]]:
    """Every file under root except .sdlc/.cache, with its bytes."""
    for path in sorted(root.rglob("*")):
        if path.is_file() and ".cache" not in path.relative_to(root).parts:
            yield str(path.relative_to(root)), path.read_bytes()


SKELETON_FIXTURES = Path(__file__).parent / "skeletons" / "fixtures"


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    """A private copy of the skeleton fixture templates (tests may edit them)."""
    import shutil

    target = tmp_path / "templates"
    shutil.copytree(SKELETON_FIXTURES, target, symlinks=True)
    return target
