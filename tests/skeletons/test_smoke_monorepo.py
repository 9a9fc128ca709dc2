"""Smoke (`pytest -m smoke`): the whole composed tree builds. A monorepo with all five
components and the three architectures is rendered; every Go module is gofmt-clean and passes
vet, build and test; the npm workspaces install and build from the root; the CI steps of
.woodpecker.yml that need only Go or a shell pass; every component fixture's own commands
pass in its rendered module directories."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import sh
from skeletons.compose import ADDABLE_KINDS, add_component
from skeletons.manifest import Fixture
from skeletons.registry import Template, list_templates
from skeletons.units import read_lock, render

pytestmark = pytest.mark.smoke

FULL_TREE: list[tuple[str, dict[str, Any]]] = [
    ("service", {"name": "api"}),
    ("worker", {"name": "worker"}),
    ("app-astro", {"name": "site"}),
    ("app-react", {"name": "web"}),
    ("cli", {"name": "tool"}),
    ("queue", {}),
    ("realtime", {}),
    ("microservices", {}),
]
NPM = shutil.which("npm")
NPM_ENV = {
    "CI": "1",
    "ASTRO_TELEMETRY_DISABLED": "1",
    "npm_config_audit": "false",
    "npm_config_fund": "false",
    "npm_config_update_notifier": "false",
}


@pytest.fixture(scope="module")
def full_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("full") / "shop"
    render("monorepo", dest, {"project_name": "shop"}, env={})
    for template, answers in FULL_TREE:
        add_component(dest, template, answers, env={})
    return dest


def _go_modules(root: Path) -> list[Path]:
    return sorted(p.parent for p in root.rglob("go.mod") if "node_modules" not in p.parts)


def test_every_go_module_vets_builds_and_tests(full_tree: Path, go_env: dict[str, str]) -> None:
    modules = _go_modules(full_tree)
    assert len(modules) >= 9, modules  # api, worker, tool, broker, producer, realtime, gateway, users, orders
    work = (full_tree / "go.work").read_text()
    for module in modules:
        assert f"use ./{module.relative_to(full_tree).as_posix()}\n" in work
        assert sh("gofmt -l .", module, go_env) == "", f"{module} is not gofmt-formatted"
        sh("go vet ./... && go build ./... && go test ./...", module, go_env)


def test_go_ci_steps_pass(full_tree: Path, go_env: dict[str, str]) -> None:
    steps = yaml.safe_load((full_tree / ".woodpecker.yml").read_text())["steps"]
    go_steps = [s for s in steps if str(s.get("image", "")).startswith("golang:")]
    assert len(go_steps) >= 9
    for step in go_steps:
        sh("\n".join(step["commands"]), full_tree, go_env)


@pytest.mark.skipif(NPM is None, reason="npm not on PATH")
def test_npm_workspaces_install_and_build_from_the_root(full_tree: Path) -> None:
    env = {**os.environ, **NPM_ENV}
    steps = yaml.safe_load((full_tree / ".woodpecker.yml").read_text())["steps"]
    node_steps = [s for s in steps if str(s.get("image", "")).startswith("node:")]
    assert {s["name"] for s in node_steps} >= {"site-build", "web-build"}
    for step in node_steps:
        sh("\n".join(step["commands"]), full_tree, env, timeout=900)
    assert (full_tree / "apps/web/dist/index.html").is_file()
    assert (full_tree / "apps/site/dist/index.html").is_file()


def _component_fixtures() -> list[Any]:
    return [
        pytest.param(template, fixture, id=f"{template.name}:{fixture.name}")
        for template in list_templates()
        if template.manifest.kind in ADDABLE_KINDS
        for fixture in template.manifest.tests
        if fixture.commands and all(c.startswith("go ") for c in fixture.commands)
    ]


@pytest.mark.parametrize(("template", "fixture"), _component_fixtures())
def test_component_fixture_commands_pass(
    template: Template, fixture: Fixture, go_env: dict[str, str], tmp_path: Path
) -> None:
    dest = tmp_path / "mono"
    render("monorepo", dest, {"project_name": "fixture"}, env={})
    for required in template.manifest.requires:
        add_component(dest, required, {}, env={})
    unit = add_component(dest, template.name, fixture.answers, env={})["unit"]
    files = read_lock(dest, unit)["files"]
    modules = sorted({(dest / path).parent for path in files if path.endswith("go.mod")})
    assert modules, f"{template.name} renders no Go module"
    for module in modules:
        for command in fixture.commands:
            sh(command, module, go_env)
