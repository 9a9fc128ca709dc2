"""Smoke: the npm templates really install and build (spec/skeletons.md "Verification").

Slow and networked (the npm registry), so marked `smoke` and deselected by default; run with
`pytest -m smoke tests/skeletons/test_smoke_npm.py`. Each fixture of `astro-landing` is
rendered, `npm install` and `npm run build` run on the machine's Node (20), and the built
page must carry the fixture's title."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from skeletons.registry import get_template
from skeletons.units import render
from skeletons.variables import resolve_answers

pytestmark = pytest.mark.smoke

TEMPLATE = "astro-landing"
TIMEOUT = 600  # seconds per npm command: a cold install downloads a few hundred packages
NPM = shutil.which("npm")
NODE = shutil.which("node")


def _fixtures() -> list[pytest.param]:
    return [pytest.param(f, id=f.name) for f in get_template(TEMPLATE).manifest.tests]


def _npm(args: list[str], cwd: Path) -> None:
    env = {
        **os.environ,
        "CI": "1",
        "ASTRO_TELEMETRY_DISABLED": "1",
        "npm_config_audit": "false",
        "npm_config_fund": "false",
        "npm_config_update_notifier": "false",
    }
    try:
        done = subprocess.run(
            [NPM or "npm", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as err:
        pytest.fail(f"`npm {' '.join(args)}` took longer than {TIMEOUT}s:\n{err.stdout}\n{err.stderr}")
    output = f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    assert done.returncode == 0, f"`npm {' '.join(args)}` failed:\n{output}"


def _locked_versions(lock: Path) -> dict[str, str]:
    """Every package path of a package-lock.json and its version (ignores registry URLs)."""
    packages = json.loads(lock.read_text(encoding="utf-8"))["packages"]
    return {path: entry.get("version", "") for path, entry in packages.items()}


@pytest.mark.skipif(NPM is None or NODE is None, reason="npm/node not on PATH: cannot build the Astro site")
@pytest.mark.parametrize("fixture", _fixtures())
def test_astro_landing_installs_and_builds(fixture, tmp_path: Path) -> None:
    dest = tmp_path / fixture.name
    render(TEMPLATE, dest, fixture.answers, env={})
    answers = resolve_answers(get_template(TEMPLATE).manifest, fixture.answers, {})
    shipped_lock = _locked_versions(dest / "package-lock.json")

    _npm(["install"], dest)
    _npm(["run", "build"], dest)

    page = (dest / "dist/index.html").read_text(encoding="utf-8")
    title = re.search(r"<title>(.*?)</title>", page, re.S)
    assert title is not None and html.unescape(title.group(1)) == answers["title"]
    heading = re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S)
    assert heading is not None and html.unescape(heading.group(1)) == answers["title"]
    text = html.unescape(page)
    assert answers["description"] in text
    for feature in answers["features"]:
        assert feature in text
    assert (dest / "dist/favicon.svg").is_file()
    # The shipped lock is in sync with package.json: `npm install` changed no version, so the
    # `npm ci` of .woodpecker.yml installs exactly what was tested here.
    assert _locked_versions(dest / "package-lock.json") == shipped_lock
