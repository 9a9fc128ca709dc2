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


def test_quickstart_takes_a_feature_to_released(tmp_path: Path) -> None:
    script = _block_after("## Quickstart")
    bindir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}"}
    env.pop("SDLC_ROOT", None)
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
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
    script = _block_after("## Templates")
    bindir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}"}
    env.pop("RDEV_TEMPLATES_DIR", None)
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "orders/go.mod").is_file()
    assert (tmp_path / "shop/services/api/go.mod").is_file()
    assert (tmp_path / "shop/services/worker/go.mod").is_file()
    assert not (tmp_path / "shop/services/broker").exists()
    assert "up to date" in done.stderr


def test_ci_runs_the_readme_test_command() -> None:
    test_command = _block_after("## Test").strip()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in [line.strip() for line in ci]
