"""`rdev templates` as a real subprocess: output modes, errors and exit codes, render,
composition, update and check (spec/rdev-cli.md, spec/skeletons.md)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from skeletons.registry import TEMPLATES_DIR, list_templates


def rdev(
    *args: str | Path, templates: Path | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RDEV_TEMPLATES_DIR", "NO_COLOR", "FORCE_COLOR")}
    if templates is not None:
        env["RDEV_TEMPLATES_DIR"] = str(templates)
    return subprocess.run(
        [sys.executable, "-m", "rdev_cli", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
        check=False,
    )


def hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def composable(templates: Path) -> Path:
    """The test templates plus the shipped monorepo."""
    shutil.copytree(TEMPLATES_DIR / "monorepo", templates / "monorepo")
    return templates


def test_list_is_tsv_when_piped_and_the_objects_in_json() -> None:
    piped = rdev("templates", "list")
    assert piped.returncode == 0, piped.stderr
    rows = [line.split("\t") for line in piped.stdout.splitlines()]
    assert all(len(row) == 4 for row in rows)
    shipped = {t.name for t in list_templates()}
    assert {row[0] for row in rows} == shipped
    as_json = json.loads(rdev("templates", "list", "-o", "json").stdout)
    assert {t["name"] for t in as_json} == shipped
    assert set(as_json[0]) == {"name", "kind", "version", "description"}
    names = rdev("--json", "templates", "list", "--kind", "project", "-o", "name").stdout.split()
    assert names == ["astro-landing", "default", "go-api"]
    assert rdev("templates", "list", "--kind", "nothing", "--json").stdout.strip() == "[]"


def test_show_gives_variables_and_unknown_names_exit_3() -> None:
    shown = json.loads(rdev("templates", "show", "go-api", "--json").stdout)
    assert shown["kind"] == "project"
    assert {v["name"] for v in shown["variables"]} >= {"project_name", "port", "module_path"}
    missing = rdev("templates", "show", "nope")
    assert missing.returncode == 3
    assert missing.stdout == ""
    assert missing.stderr.startswith("Error: unknown template 'nope'\nHint: templates: ")
    assert "Traceback" not in missing.stderr


def test_render_refuses_bad_input_before_writing(tmp_path: Path) -> None:
    dest = tmp_path / "demo"
    required = rdev("templates", "render", "default", dest)
    assert required.returncode == 2
    assert "variable 'project_name' is required" in required.stderr
    invalid = rdev(
        "templates", "render", "go-api", dest, "--var", "project_name=Bad Name", "--var", "port=99999"
    )
    assert invalid.returncode == 2
    assert "2 invalid answers" in invalid.stderr
    assert "variable 'project_name' (slug)" in invalid.stderr and "variable 'port' (port)" in invalid.stderr
    malformed = rdev("templates", "render", "default", dest, "--var", "project_name")
    assert malformed.returncode == 2 and "expected NAME=VALUE" in malformed.stderr
    unknown = rdev("templates", "render", "nope", dest, "--var", "project_name=x")
    assert unknown.returncode == 3
    assert not dest.exists()


def test_render_dry_run_then_render_then_not_empty(tmp_path: Path) -> None:
    dest = tmp_path / "demo"
    plan = rdev("templates", "render", "default", dest, "--var", "project_name=demo", "--dry-run")
    assert plan.returncode == 0 and not dest.exists()
    assert "README.md\tcreate\tseeded" in plan.stdout.splitlines()
    assert "nothing written" in plan.stderr
    done = rdev("templates", "render", "default", dest, "--var", "project_name=demo", "-o", "json")
    assert done.returncode == 0, done.stderr
    files = json.loads(done.stdout)
    assert {f["path"] for f in files} == set(hashes(dest))
    again = rdev("templates", "render", "default", dest, "--var", "project_name=demo")
    assert again.returncode == 2
    assert f"destination {dest} exists and is not empty" in again.stderr and "--force" in again.stderr
    forced = rdev("templates", "render", "default", dest, "--var", "project_name=demo", "--force")
    assert forced.returncode == 0
    assert rdev("templates", "check", dest).returncode == 0


def test_compose_remove_and_check_through_the_cli(composable: Path, tmp_path: Path) -> None:
    dest = tmp_path / "shop"
    assert (
        rdev(
            "templates", "render", "monorepo", dest, "--var", "project_name=shop", templates=composable
        ).returncode
        == 0
    )
    before = hashes(dest)
    added = rdev("templates", "add-component", dest, "comp", "--var", "name=billing", templates=composable)
    assert added.returncode == 0, added.stderr
    assert "added comp as unit 'billing' under services/billing" in added.stderr
    units = rdev("templates", "units", dest, "-o", "json", templates=composable)
    assert [(u["unit"], u["path"]) for u in json.loads(units.stdout)] == [
        ("billing", "services/billing"),
        ("root", "."),
    ]
    refused = rdev("templates", "remove-component", dest, "billing", templates=composable)
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert (dest / "services/billing").is_dir()
    removed = rdev("templates", "remove-component", dest, "billing", "--yes", templates=composable)
    assert removed.returncode == 0, removed.stderr
    assert hashes(dest) == before
    ghost = rdev("templates", "remove-component", dest, "ghost", "--yes", templates=composable)
    assert ghost.returncode == 3 and "no unit 'ghost'" in ghost.stderr


def test_check_fails_on_drift_and_update_brings_a_unit_forward(composable: Path, tmp_path: Path) -> None:
    dest = tmp_path / "shop"
    rdev("templates", "render", "monorepo", dest, "--var", "project_name=shop", templates=composable)
    rdev("templates", "add-component", dest, "comp", "--var", "name=api", templates=composable)
    clean = rdev("templates", "check", dest, templates=composable)
    assert clean.returncode == 0 and clean.stdout == "" and "up to date" in clean.stderr
    (dest / ".woodpecker.yml").write_text("steps: []\n")
    manifest = composable / "comp/skeleton.yaml"
    manifest.write_text(manifest.read_text().replace("version: 1.0.0", "version: 1.1.0"))
    drift = rdev("templates", "check", dest, "-o", "json", templates=composable)
    assert drift.returncode == 1
    problems = {(f["unit"], f["path"], f["problem"]) for f in json.loads(drift.stdout)}
    assert problems == {
        ("root", ".woodpecker.yml", "edited"),
        ("api", ".skeletons/api.lock.yaml", "behind: 1.0.0 < 1.1.0"),
    }
    blocked = rdev("templates", "update", dest, "--unit", "api", templates=composable)
    assert blocked.returncode == 5 and ".woodpecker.yml" in blocked.stderr and "--force" in blocked.stderr
    forced = rdev("templates", "update", dest, "--force", templates=composable)
    assert forced.returncode == 0, forced.stderr
    assert "api: comp 1.0.0 -> 1.1.0" in forced.stderr
    assert rdev("templates", "check", dest, templates=composable).returncode == 0
    assert yaml.safe_load((dest / ".woodpecker.yml").read_text())["steps"][-1]["name"] == "api-test"
    odd = rdev("templates", "update", dest, "--var", "nothing=1", templates=composable)
    assert odd.returncode == 2 and "nothing" in odd.stderr


def test_usage_errors() -> None:  # --remote: tests/rdev_cli/test_system_cli.py
    bad_mode = rdev("templates", "list", "-o", "xml")
    assert bad_mode.returncode == 2 and "invalid output mode 'xml'" in bad_mode.stderr
    no_command = rdev("nonsense")
    assert no_command.returncode == 2 and "unknown command 'nonsense'" in no_command.stderr
    missing_arg = rdev("templates", "render", "default")
    assert (
        missing_arg.returncode == 2
        and "Error:" in missing_arg.stderr
        and "Traceback" not in missing_arg.stderr
    )
    # `rdev version` prints the client's first, even when no server answers
    assert rdev("version").stdout.startswith("client: " + rdev("--version").stdout)
