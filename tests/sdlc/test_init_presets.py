"""`sdlc init` installs the agent command files and, with `--platform NAME`, a platform preset
(spec/sdlc.md §1, §5 row of init, §6 `platform.commands`, §8). A second init changes nothing."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import InProcess, assert_schema, run_process, tree_snapshot
from sdlc.config import parse_config
from skeletons.commands import render_commands

SH = shutil.which("sh") or "/bin/sh"
SCRIPTS = ["deploy", "dev-migrate", "dev-quality", "dev-start", "dev-stop", "dev", "lib", "logs"]


def snapshot(root: Path) -> dict[str, bytes]:
    return dict(tree_snapshot(root))


def config(root: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((root / ".sdlc" / "config.yaml").read_text(encoding="utf-8"))
    return data


@pytest.fixture
def fresh(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> InProcess:
    root = tmp_path / "fresh"
    root.mkdir()
    return InProcess(root, capsys)


def test_init_installs_the_claude_commands_and_a_second_init_changes_nothing(fresh: InProcess) -> None:
    root = fresh.root
    first = fresh.json("init")
    assert_schema("sdlc init", first)
    claude = render_commands("claude")
    assert set(claude) | {".sdlc/commands.lock", "AGENTS.md"} <= set(first["created"])
    assert first["agents"] == ["claude"] and first["kept"] == [] and first["platform"] is None
    for path, content in claude.items():
        assert (root / path).read_text(encoding="utf-8") == content
    assert not (root / ".sdlc" / ".lock").exists()  # a first init takes no project lock
    assert fresh.json("commands", "check")["ok"]

    before = snapshot(root)
    second = fresh.json("init")
    assert_schema("sdlc init", second)
    assert (second["created"], second["updated"], second["kept"]) == ([], [], [])
    assert second["already_initialized"]
    assert snapshot(root) == before
    assert fresh("init").out == f"Already initialized: {root}\n"


def test_init_agents_installs_theirs_too(fresh: InProcess) -> None:
    root = fresh.root
    first = fresh.json("init", "--agents", "opencode,codex")
    assert first["agents"] == ["claude", "opencode", "codex"]
    assert set(render_commands("opencode")) <= set(first["created"])
    assert "AGENTS.md" in first["created"] and "AGENTS.md" not in first["updated"]
    agents_md = (root / "AGENTS.md").read_text(encoding="utf-8")
    assert agents_md.count("<!-- sdlc:begin -->") == 1 and "`sdlc-merge <slug>`" in agents_md
    checked = fresh.json("commands", "check")
    assert checked["agents"] == ["claude", "opencode", "codex"] and checked["ok"]

    before = snapshot(root)
    again = fresh.json("init", "--agents", "codex", "--agents", "opencode")
    assert (again["created"], again["updated"]) == ([], [])
    assert snapshot(root) == before

    more = fresh.json("init", "--agents", "gemini")  # an initialised project gains an agent
    assert set(render_commands("gemini")) == set(more["created"])
    assert more["updated"] == [".sdlc/commands.lock"]
    assert not any(e["type"].startswith("commands.") for e in _events(root))  # init records none


def _events(root: Path) -> list[dict[str, Any]]:
    import json

    path = root / ".sdlc" / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_init_keeps_command_files_it_did_not_write(fresh: InProcess) -> None:
    root = fresh.root
    mine = root / ".claude" / "commands" / "sdlc-next.md"
    mine.parent.mkdir(parents=True)
    mine.write_text("our own /sdlc-next\n")
    result = fresh.json("init")
    assert result["kept"] == [
        {
            "path": ".claude/commands/sdlc-next.md",
            "reason": "exists, not written by sdlc (--force overwrites)",
        }
    ]
    assert ".claude/commands/sdlc-next.md" not in result["created"]
    assert mine.read_text() == "our own /sdlc-next\n"
    assert "kept .claude/commands/sdlc-next.md: exists, not written by sdlc" in fresh("init").out


def test_unknown_agent_or_platform_is_refused_before_anything_is_written(fresh: InProcess) -> None:
    bad = fresh("init", "--platform", "heroku", json_mode=True)
    assert bad.code == 2 and bad.data["error"]["code"] == "invalid_value"
    assert "unknown platform 'heroku'" in bad.data["error"]["message"]
    assert bad.data["error"]["hint"] == "platforms: masquerade, rdev"
    text = fresh("init", "--platform", "heroku")
    assert text.code == 2 and "hint: platforms: masquerade, rdev" in text.err
    bad = fresh("init", "--agents", "claude,vim", json_mode=True)
    assert bad.code == 2 and "unknown agent 'vim'" in bad.data["error"]["message"]
    assert list(fresh.root.iterdir()) == []

    fresh.json("init")
    before = snapshot(fresh.root)
    assert fresh("init", "--platform", "default", json_mode=True).code == 2  # a project template
    assert snapshot(fresh.root) == before


# -- platform presets ----------------------------------------------------------------------------


def test_init_platform_masquerade(fresh: InProcess) -> None:
    root = fresh.root
    result = fresh.json("init", "--platform", "masquerade")
    assert_schema("sdlc init", result)
    preset = result["platform"]
    assert (preset["name"], preset["commands_added"], preset["commands_kept"]) == (
        "masquerade",
        ["deploy", "logs", "dev"],
        [],
    )
    assert preset["config_updated"] and preset["kept"] == []
    assert sorted(preset["created"]) == sorted(f".sdlc/platform/{s}.sh" for s in SCRIPTS)
    assert set(preset["created"]) <= set(result["created"])
    for script in preset["created"]:
        assert (root / script).stat().st_mode & stat.S_IXUSR, script

    deployed = subprocess.run(
        [SH, ".sdlc/platform/deploy.sh", "auth-service", "staging"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert (deployed.returncode, deployed.stdout) == (0, "Deploying auth-service to staging\n")

    data = config(root)
    deploy = data["platform"]["commands"]["deploy"]
    assert deploy["script"] == ".sdlc/platform/deploy.sh"
    assert [a["name"] for a in deploy["args"]] == ["service", "environment"]
    assert data["project"] == {"name": "fresh"} and data["agents"] == {"default": {"type": "claude"}}
    assert parse_config(data, "fresh").raw["platform"] == data["platform"]

    before = snapshot(root)
    again = fresh.json("init", "--platform", "masquerade")
    assert (again["created"], again["updated"]) == ([], [])
    assert again["platform"]["commands_added"] == [] and not again["platform"]["config_updated"]
    assert snapshot(root) == before


def test_platform_deploy_runs_through_sdlc(fresh: InProcess) -> None:
    fresh.json("init", "--platform", "masquerade")
    done = run_process(["platform", "deploy", "auth-service", "staging"], fresh.root)
    assert (done.returncode, done.stdout) == (0, "Deploying auth-service to staging\n"), done.stderr


def test_platform_added_to_an_initialised_project_keeps_the_users_config(
    project: Path, sdlc: InProcess
) -> None:
    path = project / ".sdlc" / "config.yaml"
    path.write_text("# Our project config: keep this comment.\n" + path.read_text())
    sdlc.json("init", "--platform", "rdev")
    text = path.read_text()
    assert text.startswith("# Our project config: keep this comment.\n")  # appended, not rewritten
    assert config(project)["platform"]["commands"]["deploy"]["script"] == ".sdlc/platform/deploy.sh"
    assert config(project)["quality"]["min_score_to_advance"] == 70

    # Another preset on top: the commands configured already stay as they are.
    data = config(project)
    data["platform"]["commands"]["backup"] = {"description": "Back up", "script": "scripts/backup.sh"}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    ours = project / ".sdlc" / "platform" / "logs.sh"
    ours.write_text("#!/bin/sh\necho our logs\n")
    rdev_deploy = (project / ".sdlc" / "platform" / "deploy.sh").read_bytes()
    result = sdlc.json("init", "--platform", "masquerade")
    assert_schema("sdlc init", result)
    preset = result["platform"]
    assert preset["commands_added"] == [] and preset["commands_kept"] == ["deploy", "logs", "dev"]
    assert {k["path"] for k in preset["kept"]} >= {".sdlc/platform/logs.sh", ".sdlc/platform/deploy.sh"}
    assert all(k["reason"].startswith("exists") for k in preset["kept"])
    assert ours.read_text() == "#!/bin/sh\necho our logs\n"
    assert (project / ".sdlc" / "platform" / "deploy.sh").read_bytes() == rdev_deploy
    after = config(project)["platform"]["commands"]
    assert after["backup"] == {"description": "Back up", "script": "scripts/backup.sh"}
    assert after["deploy"] == data["platform"]["commands"]["deploy"]
    assert "platform command kept as configured: deploy" in sdlc("init", "--platform", "masquerade").out


def test_platform_merges_into_an_existing_platform_key(project: Path, sdlc: InProcess) -> None:
    path = project / ".sdlc" / "config.yaml"
    data = config(project)
    data["platform"] = {"commands": {"deploy": {"description": "Ours", "script": "bin/deploy"}}}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    result = sdlc.json("init", "--platform", "masquerade")
    assert result["updated"] == [".sdlc/config.yaml"]
    assert result["platform"]["commands_added"] == ["logs", "dev"]
    assert result["platform"]["commands_kept"] == ["deploy"]
    commands = config(project)["platform"]["commands"]
    assert commands["deploy"] == {"description": "Ours", "script": "bin/deploy"}
    assert commands["dev"]["subcommands"]["start"] == ".sdlc/platform/dev-start.sh"
    assert config(project)["version"] == 1


def test_broken_config_is_reported_not_overwritten(project: Path, sdlc: InProcess) -> None:
    path = project / ".sdlc" / "config.yaml"
    path.write_text("platform: [not, a, mapping]\n")
    result = sdlc("init", "--platform", "masquerade", json_mode=True)
    assert result.code == 1 and result.data["error"]["code"] == "config_invalid"
    assert path.read_text() == "platform: [not, a, mapping]\n"
    assert not (project / ".sdlc" / "platform").exists()
