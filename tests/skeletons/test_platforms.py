"""The platform presets `sdlc init --platform NAME` installs (spec/skeletons.md, platform row;
spec/sdlc.md §6 `platform.commands`): `masquerade` and `rdev`. Each renders POSIX sh scripts
under .sdlc/platform/ and a `platform` contribution, the mapping that becomes the `platform:`
key of .sdlc/config.yaml. The scripts run here as sdlc runs them: `sh -c 'SCRIPT "$@"'` from
the project root, with fake `docker` and `rdev` executables recording their arguments."""

from __future__ import annotations

import itertools
import os
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from skeletons.environment import render_text
from skeletons.registry import get_template
from skeletons.render import context_for
from skeletons.units import render
from skeletons.variables import resolve_answers

PRESETS = ("masquerade", "rdev")
SERVICES = ["auth-service", "creator-api", "websocket-service", "creator-studio-web", "admin-portal-web"]
ENVIRONMENTS = ["staging", "production"]
COMPOSE = ["docker", "compose", "-f", "docker-compose.yml"]  # as the rdev preset runs it remotely
COMMAND_KEYS = {"description", "script", "args", "subcommands"}
ARG_KEYS = {"name", "required", "choices"}
SH = shutil.which("sh") or "/bin/sh"
# A fake tool: every call appends one line, its arguments separated by tabs.
FAKE = """#!/bin/sh
for arg do printf '%s\\t' "$arg"; done >> "$FAKE_LOG"
printf '\\n' >> "$FAKE_LOG"
[ -z "${FAKE_OUTPUT:-}" ] || printf '%s\\n' "$FAKE_OUTPUT"
exit "${FAKE_EXIT:-0}"
"""


# --- helpers ---------------------------------------------------------------------------------


def platform_config(name: str, answers: dict[str, Any]) -> dict[str, Any]:
    """The preset's `platform` contribution rendered with `answers`, parsed."""
    template = get_template(name)
    contribution = next(c for c in template.manifest.contributes if c.slot == "platform")
    context = context_for(template, resolve_answers(template.manifest, answers, {}))
    text = (template.contrib_dir / contribution.template).read_text(encoding="utf-8")
    data = yaml.safe_load(render_text(text, context, contribution.template))
    assert isinstance(data, dict)
    return data


def fixtures(name: str) -> list[Any]:
    return [pytest.param(name, f.answers, id=f"{name}:{f.name}") for f in get_template(name).manifest.tests]


ALL_FIXTURES = [case for name in PRESETS for case in fixtures(name)]


def render_preset(name: str, dest: Path, answers: dict[str, Any] | None = None) -> Path:
    render(name, dest, answers or {}, env={})
    return dest


def toolbox(tmp_path: Path, *fakes: str) -> Path:
    """A bin directory holding only what the scripts need, plus fake `fakes`: nothing else
    (no real rdev or docker) is on the PATH the scripts see."""
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    for tool in ("sh", "sed", "dirname", "grep", "make"):
        found = shutil.which(tool)
        if found and not (bindir / tool).exists():
            (bindir / tool).symlink_to(found)
    for fake in fakes:
        (bindir / fake).write_text(FAKE, encoding="utf-8")
        (bindir / fake).chmod(0o755)
    return bindir


class Platform:
    """Runs the preset's commands in a rendered tree the way sdlc does."""

    def __init__(self, tree: Path, config: dict[str, Any], bindir: Path) -> None:
        self.tree, self.commands, self.bindir = tree, config["commands"], bindir
        self.log = tree.parent / "calls.log"

    def script(self, command: str, sub: str | None = None) -> str:
        entry = self.commands[command]
        return str(entry["subcommands"][sub] if sub else entry["script"])

    def run(
        self, command: str, *args: str, sub: str | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        self.log.unlink(missing_ok=True)
        return run_script(self.tree, self.script(command, sub), args, self.bindir, self.log, env)

    def calls(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        lines = self.log.read_text(encoding="utf-8").splitlines()
        return [line.split("\t")[:-1] for line in lines]


def run_script(
    tree: Path, script: str, args: Any, bindir: Path, log: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {"PATH": str(bindir), "HOME": str(tree), "LANG": "C", "FAKE_LOG": str(log), **(env or {})}
    return subprocess.run(
        [SH, "-c", f'{script} "$@"', "sh", *args],
        cwd=tree,
        env=environ,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.fixture
def masquerade(tmp_path: Path) -> Platform:
    tree = render_preset("masquerade", tmp_path / "project")
    return Platform(tree, platform_config("masquerade", {}), toolbox(tmp_path, "docker"))


@pytest.fixture
def rdev(tmp_path: Path) -> Platform:
    tree = render_preset("rdev", tmp_path / "project")
    return Platform(tree, platform_config("rdev", {}), toolbox(tmp_path, "rdev"))


# --- both presets ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", PRESETS)
def test_manifest_is_a_platform_preset(name: str) -> None:
    manifest = get_template(name).manifest
    assert manifest.kind == "platform"
    assert [(c.slot, c.template) for c in manifest.contributes] == [("platform", "platform.yaml.j2")]
    assert [(r.path, r.ownership) for r in manifest.files] == [(".sdlc/platform/**", "seeded")]


@pytest.mark.parametrize(("name", "answers"), ALL_FIXTURES)
def test_config_fragment_has_the_platform_commands_shape(
    name: str, answers: dict[str, Any], tmp_path: Path
) -> None:
    config = platform_config(name, answers)
    tree = render_preset(name, tmp_path / "project", answers)
    assert set(config) == {"commands"}
    assert set(config["commands"]) == {"deploy", "logs", "dev"}
    scripts = []
    for command, entry in config["commands"].items():
        assert set(entry) <= COMMAND_KEYS, f"{command}: unknown keys {set(entry) - COMMAND_KEYS}"
        assert isinstance(entry["description"], str) and entry["description"], command
        scripts.append(entry["script"])
        for arg in entry.get("args", []):
            assert set(arg) <= ARG_KEYS and isinstance(arg["name"], str), arg
            assert isinstance(arg["required"], bool), arg
            if "choices" in arg:
                assert arg["choices"] and all(isinstance(c, str) for c in arg["choices"]), arg
        scripts += entry.get("subcommands", {}).values()
    assert set(config["commands"]["dev"]["subcommands"]) == {"start", "stop", "quality", "migrate"}
    assert [a["name"] for a in config["commands"]["deploy"]["args"]] == ["service", "environment"]
    assert [a["required"] for a in config["commands"]["deploy"]["args"]] == [True, True]
    assert [(a["name"], a["required"]) for a in config["commands"]["logs"]["args"]] == [
        ("service", True),
        ("lines", False),
    ]
    for script in scripts:
        assert isinstance(script, str) and script.startswith(".sdlc/platform/"), script
        path = tree / script
        assert path.is_file(), f"{script} is referenced by the config but not rendered"
        assert path.stat().st_mode & stat.S_IXUSR and os.access(path, os.X_OK), f"{script} is not executable"
        assert path.read_text(encoding="utf-8").startswith("#!/bin/sh\n"), script


@pytest.mark.parametrize(("name", "answers"), ALL_FIXTURES)
def test_scripts_are_valid_posix_sh(name: str, answers: dict[str, Any], tmp_path: Path) -> None:
    tree = render_preset(name, tmp_path / "project", answers)
    scripts = sorted((tree / ".sdlc" / "platform").glob("*.sh"))
    assert len(scripts) == 8
    for script in scripts:
        result = subprocess.run([SH, "-n", str(script)], capture_output=True, text=True, check=False)
        assert result.returncode == 0, f"{script.name}: {result.stderr}"
        text = script.read_text(encoding="utf-8")
        if script.name != "lib.sh":  # sourced by the others
            assert "\nset -eu\n" in text, f"{script.name} does not `set -eu`"
            assert "usage()" in text, f"{script.name} has no usage message"


@pytest.mark.parametrize("name", PRESETS)
def test_scripts_pass_shellcheck(name: str, tmp_path: Path) -> None:
    shellcheck = shutil.which("shellcheck")
    if not shellcheck:
        pytest.skip("shellcheck is not installed")
    tree = render_preset(name, tmp_path / "project")
    platform = tree / ".sdlc" / "platform"
    scripts = [p.name for p in sorted(platform.glob("*.sh"))]
    result = subprocess.run(
        [shellcheck, "-x", "-s", "sh", "-e", "SC2016", *scripts],
        cwd=platform,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", PRESETS)
def test_every_script_answers_help(name: str, tmp_path: Path) -> None:
    tree = render_preset(name, tmp_path / "project")
    bindir = toolbox(tmp_path)
    for script in sorted((tree / ".sdlc" / "platform").glob("*.sh")):
        if script.name == "lib.sh":
            continue
        relative = script.relative_to(tree).as_posix()
        result = run_script(tree, relative, ["--help"], bindir, tmp_path / "calls.log")
        assert result.returncode == 0, f"{relative}: {result.stderr}"
        assert result.stdout.startswith("usage: "), relative


# --- masquerade ------------------------------------------------------------------------------


def test_masquerade_config_offers_the_spec_services_and_environments() -> None:
    commands = platform_config("masquerade", {})["commands"]
    assert [a["choices"] for a in commands["deploy"]["args"]] == [SERVICES, ENVIRONMENTS]
    assert commands["logs"]["args"][0]["choices"] == SERVICES
    assert "choices" not in commands["logs"]["args"][1]


def test_masquerade_deploy_prints_exactly_the_deploy_line(masquerade: Platform) -> None:
    result = masquerade.run("deploy", "auth-service", "staging")
    assert (result.returncode, result.stdout, result.stderr) == (0, "Deploying auth-service to staging\n", "")
    for service, environment in itertools.product(SERVICES, ENVIRONMENTS):
        result = masquerade.run("deploy", service, environment)
        assert result.returncode == 0, result.stderr
        assert result.stdout == f"Deploying {service} to {environment}\n"


def test_masquerade_deploy_refuses_a_bad_service(masquerade: Platform) -> None:
    result = masquerade.run("deploy", "billing", "staging")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "invalid service 'billing'" in result.stderr
    for service in SERVICES:
        assert service in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("auth-service", "qa"),
        ("auth-service",),
        (),
        ("auth-service", "staging", "extra"),
        ("auth-service production", "staging"),
        ("", "staging"),
    ],
)
def test_masquerade_deploy_refuses_bad_usage(masquerade: Platform, args: tuple[str, ...]) -> None:
    result = masquerade.run("deploy", *args)
    assert result.returncode == 2, result.stdout
    assert result.stdout == ""
    assert result.stderr.startswith("deploy: ")
    if len(args) == 2 and args[1] == "qa":
        assert "must be one of staging, production" in result.stderr


def test_masquerade_dev_start_and_stop(masquerade: Platform) -> None:
    result = masquerade.run("dev", sub="start")
    assert (result.returncode, result.stdout) == (0, "Starting development environment\n")
    assert "no Compose file at docker-compose.yml" in result.stderr
    assert masquerade.calls() == []
    (masquerade.tree / "docker-compose.yml").write_text("services: {}\n", encoding="utf-8")
    result = masquerade.run("dev", sub="start")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "Starting development environment"
    assert masquerade.calls() == [["compose", "version"], ["compose", "-f", "docker-compose.yml", "up", "-d"]]
    result = masquerade.run("dev", sub="stop")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "Stopping development environment"
    assert masquerade.calls()[-1] == ["compose", "-f", "docker-compose.yml", "down"]
    # Through the dispatcher, as a person would run it.
    result = masquerade.run("dev", "start")
    assert result.stdout.splitlines()[0] == "Starting development environment"
    assert masquerade.run("dev", "restart").returncode == 2
    assert masquerade.run("dev").returncode == 2


def test_masquerade_docker_compose_failure_is_reported(masquerade: Platform) -> None:
    (masquerade.tree / "docker-compose.yml").write_text("services: {}\n", encoding="utf-8")
    (masquerade.bindir / "docker").unlink()
    result = masquerade.run("dev", sub="start")
    assert result.returncode == 1
    assert "Docker Compose is not installed" in result.stderr


def test_masquerade_logs(masquerade: Platform) -> None:
    (masquerade.tree / "docker-compose.yml").write_text("services: {}\n", encoding="utf-8")
    compose = ["compose", "-f", "docker-compose.yml", "logs", "--tail"]
    assert masquerade.run("logs", "creator-api").returncode == 0
    assert masquerade.calls()[-1] == [*compose, "100", "creator-api"]
    assert masquerade.run("logs", "creator-api", "20", "--follow").returncode == 0
    assert masquerade.calls()[-1] == [*compose, "20", "--follow", "creator-api"]
    assert masquerade.run("logs", "-f", "-n", "5", "auth-service").returncode == 0
    assert masquerade.calls()[-1] == [*compose, "5", "--follow", "auth-service"]
    for bad in (("billing",), (), ("creator-api", "many"), ("creator-api", "--lines", "0")):
        result = masquerade.run("logs", *bad)
        assert result.returncode == 2, bad
        assert masquerade.calls() == []


def test_masquerade_quality(masquerade: Platform) -> None:
    result = masquerade.run("dev", sub="quality")
    assert result.returncode == 0
    assert result.stdout.startswith("No quality checks configured")
    result = masquerade.run("dev", sub="quality", env={"QUALITY_CMD": "echo checked; exit 3"})
    assert result.returncode == 3
    assert result.stdout == "Running quality checks: echo checked; exit 3\nchecked\n"
    if not (masquerade.bindir / "make").exists():
        return
    (masquerade.tree / "Makefile").write_text('quality:\n\t@echo "make quality ran"\n', encoding="utf-8")
    result = masquerade.run("dev", sub="quality")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Running quality checks: make quality\nmake quality ran\n"


def test_masquerade_migrate_prints_what_it_would_apply(masquerade: Platform) -> None:
    result = masquerade.run("dev", sub="migrate")
    assert (result.returncode, result.stdout) == (0, "No migrations in migrations: nothing to apply\n")
    migrations = masquerade.tree / "migrations"
    migrations.mkdir()
    for name in ("002_orders.sql", "001_users.sql", "README.md"):
        (migrations / name).write_text("-- sql\n", encoding="utf-8")
    result = masquerade.run("dev", sub="migrate")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:3] == [
        "Would apply 2 migration(s) from migrations:",
        "  migrations/001_users.sql",
        "  migrations/002_orders.sql",
    ]
    result = masquerade.run("dev", "--apply", sub="migrate")
    assert result.returncode == 1
    assert "MIGRATE_CMD is not set" in result.stderr
    result = masquerade.run("dev", "--apply", sub="migrate", env={"MIGRATE_CMD": "echo applied"})
    assert result.returncode == 0, result.stderr
    assert "applied migrations/001_users.sql\n" in result.stdout
    assert result.stdout.index("001_users") < result.stdout.index("002_orders")
    result = masquerade.run("dev", "--apply", sub="migrate", env={"MIGRATE_CMD": "false"})
    assert result.returncode != 0
    assert "002_orders" not in result.stdout


def test_masquerade_custom_answers(tmp_path: Path) -> None:
    answers = {"services": "api web", "environments": "dev production", "compose_file": "deploy/compose.yaml"}
    tree = render_preset("masquerade", tmp_path / "project", answers)
    platform = Platform(tree, platform_config("masquerade", answers), toolbox(tmp_path, "docker"))
    assert platform.commands["deploy"]["args"][0]["choices"] == ["api", "web"]
    assert platform.run("deploy", "web", "dev").stdout == "Deploying web to dev\n"
    result = platform.run("deploy", "auth-service", "dev")
    assert result.returncode == 2
    assert "must be one of api, web" in result.stderr
    (tree / "deploy").mkdir()
    (tree / "deploy" / "compose.yaml").write_text("services: {}\n", encoding="utf-8")
    assert platform.run("logs", "api").returncode == 0
    assert platform.calls()[-1] == ["compose", "-f", "deploy/compose.yaml", "logs", "--tail", "100", "api"]


# --- rdev ------------------------------------------------------------------------------------


def test_rdev_deploy_submits_a_work_item(rdev: Platform) -> None:
    result = rdev.run("deploy", "api", "staging", env={"RDEV_PROJECT": "shop", "FAKE_OUTPUT": "w-42"})
    assert result.returncode == 0, result.stderr
    assert result.stdout == "w-42\n"
    assert "Deploying api to staging (rdev project shop)" in result.stderr
    assert "rdev work wait w-42" in result.stderr
    remote = ["make", "deploy", "SERVICE=api", "ENVIRONMENT=staging"]
    assert rdev.calls() == [["work", "submit", "-q", "--project", "shop", "--type", "command", "--", *remote]]


def test_rdev_deploy_fails_when_the_submit_fails(rdev: Platform) -> None:
    result = rdev.run("deploy", "api", "staging", env={"RDEV_PROJECT": "shop", "FAKE_EXIT": "4"})
    assert result.returncode == 4
    assert result.stdout == ""
    assert "Queued" not in result.stderr


@pytest.mark.parametrize(
    ("command", "sub", "args", "remote"),
    [
        ("logs", None, ["web"], [*COMPOSE, "logs", "--tail", "100", "web"]),
        ("logs", None, ["web", "30", "--follow"], [*COMPOSE, "logs", "--tail", "30", "--follow", "web"]),
        ("dev", "start", [], [*COMPOSE, "up", "-d"]),
        ("dev", "stop", [], [*COMPOSE, "down"]),
        ("dev", "quality", [], ["make", "quality"]),
        ("dev", "migrate", [], ["make", "migrate"]),
        ("dev", None, ["quality"], ["make", "quality"]),
    ],
)
def test_rdev_commands_run_through_rdev_exec(
    rdev: Platform, command: str, sub: str | None, args: list[str], remote: list[str]
) -> None:
    result = rdev.run(command, *args, sub=sub, env={"RDEV_PROJECT": "shop"})
    assert result.returncode == 0, result.stderr
    assert rdev.calls() == [["exec", "shop", "--", *remote]]


def test_rdev_passes_the_remote_exit_code_through(rdev: Platform) -> None:
    result = rdev.run("dev", sub="quality", env={"RDEV_PROJECT": "shop", "FAKE_EXIT": "3"})
    assert result.returncode == 3


@pytest.mark.parametrize(
    ("command", "sub", "args"),
    [
        ("deploy", None, ["api", "staging"]),
        ("logs", None, ["api"]),
        ("dev", "start", []),
        ("dev", "stop", []),
        ("dev", "quality", []),
        ("dev", "migrate", []),
    ],
)
def test_rdev_needs_a_project_and_the_rdev_command(
    rdev: Platform, command: str, sub: str | None, args: list[str]
) -> None:
    result = rdev.run(command, *args, sub=sub)
    assert result.returncode == 1
    assert "RDEV_PROJECT is not set: export RDEV_PROJECT=" in result.stderr
    assert rdev.calls() == []
    (rdev.bindir / "rdev").unlink()
    result = rdev.run(command, *args, sub=sub, env={"RDEV_PROJECT": "shop"})
    assert result.returncode == 1
    assert "the rdev command is not on PATH" in result.stderr


def test_rdev_usage_errors_come_before_anything_runs(rdev: Platform) -> None:
    env = {"RDEV_PROJECT": "shop"}
    for command, args in [
        ("deploy", ["api"]),
        ("deploy", ["api", "moon"]),
        ("deploy", ["a;b", "staging"]),
        ("logs", []),
        ("logs", ["api", "--tail"]),
    ]:
        result = rdev.run(command, *args, env=env)
        assert result.returncode == 2, (command, args)
        assert rdev.calls() == []
    assert rdev.run("dev", "extra", sub="start", env=env).returncode == 2
    assert "must be one of staging, production" in rdev.run("deploy", "api", "moon", env=env).stderr


def test_rdev_custom_answers(tmp_path: Path) -> None:
    answers = {
        "rdev_project": "shop",
        "services": "api web",
        "compose_file": "deploy/compose.yaml",
        "log_lines": 50,
        "deploy_command": "./scripts/deploy.sh --wait",
        "quality_command": "make check",
    }
    tree = render_preset("rdev", tmp_path / "project", answers)
    config = platform_config("rdev", answers)
    platform = Platform(tree, config, toolbox(tmp_path, "rdev"))
    assert [a.get("choices") for a in config["commands"]["deploy"]["args"]] == [["api", "web"], ENVIRONMENTS]
    assert platform.run("deploy", "web", "production").returncode == 0
    remote = ["./scripts/deploy.sh", "--wait", "SERVICE=web", "ENVIRONMENT=production"]
    assert platform.calls()[-1][4:] == ["shop", "--type", "command", "--", *remote]
    assert platform.run("logs", "api", env={"RDEV_PROJECT": "other"}).returncode == 0
    remote = ["docker", "compose", "-f", "deploy/compose.yaml", "logs", "--tail", "50", "api"]
    assert platform.calls()[-1] == ["exec", "other", "--", *remote]
    assert platform.run("dev", sub="quality").returncode == 0
    assert platform.calls()[-1] == ["exec", "shop", "--", "make", "check"]
    result = platform.run("deploy", "worker", "staging")
    assert result.returncode == 2
    assert "must be one of api, web" in result.stderr


def test_rdev_default_config_accepts_any_service() -> None:
    deploy = platform_config("rdev", {})["commands"]["deploy"]
    assert deploy["args"][0] == {"name": "service", "required": True}
    assert deploy["args"][1] == {"name": "environment", "required": True, "choices": ENVIRONMENTS}
