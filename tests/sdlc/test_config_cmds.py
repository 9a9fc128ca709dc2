"""`sdlc config show|validate` (spec/sdlc.md §5, §6): every problem at once with its key path,
the reference config accepted, the effective config in our shapes. Routing changes are in
test_config_agent.py."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import InProcess, assert_schema, config_path, read_config, write_config
from sdlc.agents import parse_agents
from sdlc.config import parse_config
from sdlc.errors import ConfigInvalid
from sdlc.ops.config_check import problems_of
from sdlc.ops.platform import parse_platform

REFERENCE_CONFIG = Path(__file__).parent / "data" / "reference_project" / ".sdlc" / "config.yaml"
ERROR = "sdlc ... (any error)"


def validate(sdlc: InProcess) -> dict[str, Any]:
    result = sdlc("config", "validate", json_mode=True)
    data: dict[str, Any] = result.data
    assert_schema("sdlc config validate", data)
    assert result.code == (0 if data["valid"] else 1), result
    return data


# -- validate -------------------------------------------------------------------------------------


def test_the_initial_config_is_valid(sdlc: InProcess) -> None:
    assert validate(sdlc) == {"valid": True, "problems": []}
    assert sdlc.ok("config", "validate").out == ".sdlc/config.yaml is valid\n"


def test_a_missing_or_empty_config_is_valid(project: Path, sdlc: InProcess) -> None:
    config_path(project).write_text("", encoding="utf-8")
    assert validate(sdlc)["valid"] is True
    config_path(project).unlink()
    assert validate(sdlc)["valid"] is True
    shown = sdlc.json("config", "show")
    assert shown["project"]["name"] == project.name and shown["agents"]["default"] == {"type": "claude"}


def test_the_reference_config_is_valid(project: Path, sdlc: InProcess) -> None:
    shutil.copyfile(REFERENCE_CONFIG, config_path(project))
    assert validate(sdlc) == {"valid": True, "problems": []}


BAD_CONFIG = """\
version: 2
project: {name: x, owner: me}
phases:
  enabled: [specified, bogus, merge, released]
  required_artifacts: {planned: [spec, drawing], someday: [spec]}
lifecycle: {auto_advance: maybe}
quality: {min_score_to_advance: 150, lense: [a]}
agents:
  default: {type: shell}
  actions:
    create_spec: {type: claude, modle: opus}
    approve_spec: {type: claude_agent_sdk}
    wait_for_approval: {type: codex}
    frobnicate: {type: claude}
    advance: {type: claude}
    implement_task: {type: robot, timeout_minutes: 0}
gates:
  implement_task:
  - {name: tests, type: shell, comand: make test}
  - name: review
    gate_type: {type: step_back, questionz: [why]}
    auto: false
  - {name: tests, type: human}
  bogus_action: []
platform:
  commands:
    deploy:
      script: deploy.sh
      args: [{name: env, required: true, choises: [a]}]
    list: {script: x}
callbacks: {url: ftp://example, tokn: X}
extras: true
"""

EXPECTED_PROBLEMS = [
    ("extras", "unknown key"),
    ("version", "unsupported config version 2"),
    ("project.owner", "unknown key"),
    ("phases.enabled[1]", "unknown phase 'bogus'"),
    ("phases.enabled", "phase 'draft' cannot be disabled"),
    ("phases.required_artifacts.planned[1]", "unknown artifact 'drawing'"),
    ("phases.required_artifacts.someday", "unknown phase"),
    ("lifecycle.auto_advance", "must be true or false"),
    ("quality.lense", "unknown key"),
    ("quality.min_score_to_advance", "must be an integer 0..100, got 150"),
    ("agents.default.command", "is required for a shell backend"),
    ("agents.actions.create_spec.modle", "unknown key"),
    (
        "agents.actions.approve_spec",
        "'approve_spec' is a human action and cannot be routed to an agent (claude)",
    ),
    ("agents.actions.wait_for_approval", "'wait_for_approval' is a human action"),
    ("agents.actions.frobnicate", "unknown action 'frobnicate'"),
    ("agents.actions.advance", "'advance' is not run by a backend"),
    ("agents.actions.implement_task.type", "must be one of claude, opencode, codex, xadk, shell, human"),
    ("agents.actions.implement_task.timeout_minutes", "must be an integer >= 1, got 0"),
    ("gates.implement_task[0].comand", "unknown key"),
    ("gates.implement_task[0].command", "is required for a shell gate"),
    ("gates.implement_task[1].gate_type.questionz", "unknown key"),
    ("gates.implement_task[2].name", "duplicate gate name 'tests'"),
    ("gates.bogus_action", "unknown action"),
    ("platform.commands.deploy.args[0].choises", "unknown key"),
    ("platform.commands.list", "'list' is reserved by `sdlc platform list`"),
    ("callbacks.tokn", "unknown key"),
    ("callbacks.url", "must be an http:// or https:// URL"),
]


def test_validate_reports_every_problem_at_once_with_its_path(project: Path, sdlc: InProcess) -> None:
    config_path(project).write_text(BAD_CONFIG, encoding="utf-8")
    result = validate(sdlc)
    assert result["valid"] is False and result["code"] == "config_invalid"
    found = [(p["path"], p["message"]) for p in result["problems"]]
    for path, start in EXPECTED_PROBLEMS:
        assert any(p == path and m.startswith(start) for p, m in found), (path, start, found)
    assert len(found) == len(EXPECTED_PROBLEMS)

    text = sdlc("config", "validate")
    assert text.code == 1
    lines = text.out.splitlines()
    known = "type, model, command, agent_id, allowed_tools, permission_mode, timeout_minutes"
    assert f"agents.actions.create_spec.modle: unknown key (known: {known})" in lines
    assert lines[-1] == f"{len(found)} problem(s) in .sdlc/config.yaml"


def test_validate_names_the_line_of_unparseable_yaml(project: Path, sdlc: InProcess) -> None:
    config_path(project).write_text("version: 1\nagents: [unclosed\n", encoding="utf-8")
    result = validate(sdlc)
    assert result["valid"] is False
    [problem] = result["problems"]
    assert problem["path"] == "" and problem["message"].startswith("corrupt file .sdlc/config.yaml")
    assert "(line 3)" in problem["message"]
    config_path(project).write_text("- a list\n", encoding="utf-8")
    assert validate(sdlc)["problems"] == [{"path": "", "message": ".sdlc/config.yaml must hold a mapping"}]


# One problem each: validate names its path, and the engine's own parser refuses it too, so
# what validate accepts is what `next`, `run` and `platform` work with.
SINGLE_PROBLEMS = [
    ({"phases": {"enabled": ["draft", "specified", "released"]}}, "phases.enabled"),
    ({"phases": {"enabled": "all"}}, "phases.enabled"),
    ({"phases": {"required_artifacts": {"nowhere": ["spec"]}}}, "phases.required_artifacts.nowhere"),
    ({"phases": {"required_artifacts": {"planned": ["blueprint"]}}}, "phases.required_artifacts.planned[0]"),
    ({"lifecycle": {"living_artifacts": ["blueprint"]}}, "lifecycle.living_artifacts[0]"),
    ({"lifecycle": {"living_artifacts": None}}, "lifecycle.living_artifacts"),
    ({"gates": {"create_spec": None}}, "gates.create_spec"),
    ({"gates": {"create_spec": [{"name": "g"}]}}, "gates.create_spec[0].type"),
    ({"quality": {"enforce": "yes"}}, "quality.enforce"),
    ({"quality": {"min_score_to_release": -1}}, "quality.min_score_to_release"),
    ({"quality": {"lenses": "impl"}}, "quality.lenses"),
    ({"gates": {"create_spec": [{"name": "g", "type": "robot"}]}}, "gates.create_spec[0].type"),
    ({"gates": {"create_spec": [{"type": "human"}]}}, "gates.create_spec[0].name"),
    ({"gates": {"create_spec": {"name": "g"}}}, "gates.create_spec"),
    ({"agents": {"default": {"type": "xadk"}}}, "agents.default.agent_id"),
    ({"agents": {"default": {"type": "claude", "modle": "x"}}}, "agents.default.modle"),
    ({"agents": {"defaults": {"type": "claude"}}}, "agents.defaults"),
    ({"agents": {"actions": {"approve_merge": {"type": "opencode"}}}}, "agents.actions.approve_merge"),
    (
        {"agents": {"actions": {"create_spec": {"type": "claude", "allowed_tools": "Read"}}}},
        "agents.actions.create_spec.allowed_tools",
    ),
    ({"platform": {"commands": {"d": {"description": "no script"}}}}, "platform.commands.d"),
    ({"platform": {"commandz": {}}}, "platform.commandz"),
    (
        {
            "platform": {
                "commands": {"d": {"script": "x", "args": [{"name": "a"}, {"name": "b", "required": True}]}}
            }
        },
        "platform.commands.d.args[1]",
    ),
]


def _engine_refuses(data: dict[str, Any]) -> bool:
    try:
        parse_config(data, "x")
        parse_agents(data.get("agents"))
        parse_platform(data.get("platform"))
    except ConfigInvalid:
        return True
    return False


@pytest.mark.parametrize(("data", "path"), SINGLE_PROBLEMS)
def test_validate_and_the_engine_agree(data: dict[str, Any], path: str) -> None:
    assert [p["path"] for p in problems_of(data)] == [path]
    assert _engine_refuses(data), path


def test_valid_configs_parse(project: Path) -> None:
    for data in (yaml.safe_load(REFERENCE_CONFIG.read_text(encoding="utf-8")), read_config(project), {}):
        assert problems_of(data) == []
        assert not _engine_refuses(data)


# -- show -----------------------------------------------------------------------------------------


def test_show_normalises_the_reference_aliases(project: Path, sdlc: InProcess) -> None:
    shutil.copyfile(REFERENCE_CONFIG, config_path(project))
    shown = sdlc.json("config", "show")
    assert_schema("sdlc config show", shown)
    assert shown["project"] == {
        "name": "acme",
        "description": "Reference project written by the first release of the reference tool",
    }
    assert shown["agents"]["default"] == {"type": "claude", "model": "claude-sonnet"}
    assert shown["agents"]["actions"] == {"create_spec": {"type": "xadk", "agent_id": "spec-writer"}}
    required = shown["phases"]["required_artifacts"]
    assert required["planned"] == ["spec", "design", "tasks", "qa_plan"]
    assert required["merge"] == ["qa_results"] and required["audit"] == ["review"]
    assert shown["gates"]["implement_task"] == [
        {
            "name": "unit-tests",
            "type": "shell",
            "command": "make test",
            "max_retries": 2,
            "timeout_seconds": 300,
        }
    ]
    assert shown["gates"]["approve_merge"] == [
        {
            "name": "product-review",
            "type": "human",
            "questions": ["Does it solve the user's problem?"],
            "max_retries": 0,
            "timeout_seconds": 60,
        }
    ]
    assert shown["platform"] == {"commands": {}}
    assert shown["lifecycle"] == {"auto_advance": True, "living_artifacts": []}  # defaults fill the gaps
    assert shown["quality"]["lenses"] == ["product_fit", "research_grounding", "implementation"]
    assert shown["callbacks"] == {"url": None, "token_env": "RDEV_CALLBACK_TOKEN", "project": "acme"}
    text = sdlc.ok("config", "show").out
    assert yaml.safe_load(text) == shown


def test_show_refuses_a_config_the_engine_cannot_use(project: Path, sdlc: InProcess) -> None:
    data = read_config(project)
    data["phases"]["enabled"] = ["specified"]
    write_config(project, data)
    refused = sdlc("config", "show", json_mode=True)
    assert refused.code == 1
    assert_schema(ERROR, refused.data)
    assert refused.data["error"]["code"] == "config_invalid"
    assert "cannot be disabled" in refused.data["error"]["message"]
