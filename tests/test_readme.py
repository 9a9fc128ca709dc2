"""The README quickstart runs as written, and its test command is the one CI runs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _block_after(heading: str) -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split(heading, 1)[1]
    match = re.search(r"```bash\n(.*?)```", section, re.S)
    assert match, f"no bash block after {heading}"
    return match.group(1)


def _run_block(
    heading: str, cwd: Path, env: dict[str, str] | None = None, timeout: int = 300
) -> subprocess.CompletedProcess[str]:
    """The bash block after `heading`, run with strict options and this venv's commands; `env`
    on top of ours (an empty value unsets the variable)."""
    bindir = Path(sys.executable).parent
    merged = {
        **os.environ,
        "PATH": f"{bindir}:{os.environ['PATH']}",
        "SDLC_ROOT": "",
        "RDEV_TEMPLATES_DIR": "",
    }
    merged = {k: v for k, v in {**merged, **(env or {})}.items() if v != ""}
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", _block_after(heading)],
        cwd=cwd,
        env=merged,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_quickstart_takes_a_feature_to_released(tmp_path: Path) -> None:
    _run_block("## Quickstart", tmp_path)
    manifest = (tmp_path / "demo/.sdlc/features/login/manifest.yaml").read_text()
    assert "phase: released" in manifest
    after = subprocess.run(
        [sys.executable, "-m", "sdlc", "next", "--for", "login", "--json"],
        cwd=tmp_path / "demo",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(after.stdout)["action"] == "done"


def test_templates_quickstart_renders_and_composes(tmp_path: Path) -> None:
    done = _run_block("## Templates", tmp_path)
    assert (tmp_path / "orders/go.mod").is_file()
    assert (tmp_path / "shop/services/api/go.mod").is_file()
    assert (tmp_path / "shop/services/worker/go.mod").is_file()
    assert not (tmp_path / "shop/services/broker").exists()
    assert "up to date" in done.stderr


def test_ci_runs_the_readme_test_command() -> None:
    test_command = _block_after("## Test").strip()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in [line.strip() for line in ci]


def test_rdev_quickstart_runs_against_a_local_server(tmp_path: Path) -> None:
    """The rdev quickstart as written: a detached server on a free port (RDEV_PORT) with its
    data and profile in temp dirs, and a fake Claude Code first on PATH."""
    import shutil
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = ROOT / "tests" / "sdlc" / "fake_agents" / "claude.py"
    shutil.copyfile(fake, bin_dir / "fake_claude.py")
    (bin_dir / "claude").write_text(
        f'#!/bin/sh\nexec "{sys.executable}" "{bin_dir / "fake_claude.py"}" "$@"\n'
    )
    (bin_dir / "claude").chmod(0o755)
    env = {
        "PATH": f"{bin_dir}:{Path(sys.executable).parent}:{os.environ['PATH']}",
        "RDEV_PORT": str(port),
        "RDEV_DATA_DIR": str(tmp_path / "data"),
        "RDEV_CONFIG_DIR": str(tmp_path / "config"),
        "HOME": str(tmp_path / "home"),
    }
    for name in ("RDEV_API_URL", "RDEV_API_KEY", "RDEV_PROFILE", "RDEV_SANDBOX"):
        env[name] = ""
    try:
        done = _run_block("## Quickstart: the rdev API", tmp_path, env, timeout=600)
    finally:
        stop = {k: v for k, v in {**os.environ, **env}.items() if v != ""}
        subprocess.run(
            [sys.executable, "-m", "rdev_cli", "server", "stop"], env=stop, capture_output=True, timeout=60
        )
    assert "sdlc init" in done.stdout  # git log of the new project
    assert "You asked: What does this project do?" in done.stdout  # the agent's answer, followed
    assert "approve_spec" in done.stdout or "approve" in done.stdout  # a human acts next
    assert "rdev_" in done.stderr and "admin key" in done.stderr.lower()
