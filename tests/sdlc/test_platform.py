"""`sdlc platform list` and `sdlc platform CMD [SUB] [ARGS...]` (spec/sdlc.md §5, §6), on the
masquerade preset's scripts and config, run as real processes: the script gets the user's
stdin/stdout/stderr and sdlc exits with its code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import InProcess, assert_schema, run_process
from skeletons.environment import render_text
from skeletons.registry import get_template
from skeletons.render import context_for
from skeletons.units import render
from skeletons.variables import resolve_answers

SERVICES = ["auth-service", "creator-api", "websocket-service", "creator-studio-web", "admin-portal-web"]
ERROR = "sdlc ... (any error)"


def platform_contribution(name: str) -> dict[str, Any]:
    """The preset's `platform` contribution rendered with its defaults (as in
    tests/skeletons/test_platforms.py)."""
    template = get_template(name)
    contribution = next(c for c in template.manifest.contributes if c.slot == "platform")
    context = context_for(template, resolve_answers(template.manifest, {}, {}))
    text = (template.contrib_dir / contribution.template).read_text(encoding="utf-8")
    data = yaml.safe_load(render_text(text, context, contribution.template))
    assert isinstance(data, dict)
    return data


def edit_config(root: Path, change: Any) -> None:
    path = root / ".sdlc" / "config.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def add_script(root: Path, name: str, body: str) -> str:
    path = root / ".sdlc" / "platform" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body, encoding="utf-8")
    path.chmod(0o755)
    return f".sdlc/platform/{name}"


@pytest.fixture
def masquerade(project: Path) -> Path:
    render("masquerade", project, {}, env={}, force=True)
    platform = platform_contribution("masquerade")
    edit_config(project, lambda c: c.update(platform=platform))
    return project


def sdlc_run(root: Path, *args: str, **kwargs: Any) -> Any:
    return run_process(list(args), root, **kwargs)


# -- list --------------------------------------------------------------------------------------


@pytest.mark.parametrize("section", [None, {}, {"commands": {}}, {"commands": None}])
def test_list_without_commands(project: Path, sdlc: InProcess, section: Any) -> None:
    if section is not None:
        edit_config(project, lambda c: c.update(platform=section))
    assert sdlc.ok("platform", "list").out == "no platform commands configured\n"
    assert sdlc.json("platform", "list") == []
    assert_schema("sdlc platform list", [])
    refused = sdlc("platform", "deploy", json_mode=True)
    assert refused.code == 2
    assert refused.data["error"]["message"] == "no platform commands configured"


def test_list_shows_commands_with_args_and_subcommands(masquerade: Path, sdlc: InProcess) -> None:
    listed = sdlc.json("platform", "list")
    assert_schema("sdlc platform list", listed)
    assert [c["name"] for c in listed] == ["deploy", "logs", "dev"]
    deploy, logs, dev = listed
    assert deploy["description"] == "Deploy a service to an environment"
    assert deploy["script"] == ".sdlc/platform/deploy.sh"
    assert deploy["args"][0] == {"name": "service", "required": True, "choices": SERVICES}
    assert deploy["args"][1] == {
        "name": "environment",
        "required": True,
        "choices": ["staging", "production"],
    }
    assert logs["args"][1] == {"name": "lines", "required": False}
    assert [s["name"] for s in dev["subcommands"]] == ["start", "stop", "quality", "migrate"]
    assert dev["subcommands"][0]["script"] == ".sdlc/platform/dev-start.sh"
    text = sdlc.ok("platform", "list").out
    assert "deploy  Deploy a service to an environment\n" in text
    assert "environment (required: staging|production)" in text
    assert "lines (optional)" in text
    assert "subcommands: start, stop, quality, migrate" in text


# -- run ---------------------------------------------------------------------------------------


def test_deploy_runs_the_script_from_the_project_root(masquerade: Path) -> None:
    done = sdlc_run(masquerade, "platform", "deploy", "auth-service", "staging")
    assert (done.returncode, done.stdout, done.stderr) == (0, "Deploying auth-service to staging\n", "")
    inside = masquerade / "src" / "deep"
    inside.mkdir(parents=True)
    done = sdlc_run(inside, "platform", "deploy", "admin-portal-web", "production")
    assert (done.returncode, done.stdout) == (0, "Deploying admin-portal-web to production\n")
    # --json: sdlc prints no document of its own, the script's output is passed through
    done = sdlc_run(masquerade, "--json", "platform", "deploy", "creator-api", "staging")
    assert (done.returncode, done.stdout) == (0, "Deploying creator-api to staging\n")


def test_sdlc_checks_choices_before_running(masquerade: Path) -> None:
    done = sdlc_run(masquerade, "platform", "deploy", "billing", "staging")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(f"error: invalid value: service must be one of {', '.join(SERVICES)}")
    done = sdlc_run(masquerade, "platform", "deploy", "auth-service", "qa", "--json")
    assert done.returncode == 2
    body = json.loads(done.stdout)
    assert_schema(ERROR, body)
    assert body["error"]["code"] == "invalid_value"
    assert body["error"]["message"].startswith(
        "invalid value: environment must be one of staging, production"
    )


def test_the_script_exit_code_is_passed_through(masquerade: Path) -> None:
    """Without `choices` sdlc lets any value through: the script refuses it with exit 2."""
    edit_config(masquerade, lambda c: c["platform"]["commands"]["deploy"]["args"][0].pop("choices"))
    done = sdlc_run(masquerade, "platform", "deploy", "billing", "staging")
    assert done.returncode == 2 and done.stdout == ""
    assert "invalid service 'billing'" in done.stderr and "error:" not in done.stderr
    seven = add_script(masquerade, "seven.sh", 'echo "out $*"\necho "err" >&2\nexit 7\n')
    edit_config(masquerade, lambda c: c["platform"]["commands"].update(seven={"script": seven}))
    done = sdlc_run(masquerade, "platform", "seven", "a", "b")
    assert (done.returncode, done.stdout, done.stderr) == (7, "out a b\n", "err\n")


def test_arguments_reach_the_script_verbatim(masquerade: Path) -> None:
    show = add_script(masquerade, "show.sh", "printf '[%s]\\n' \"$@\"\n")
    edit_config(masquerade, lambda c: c["platform"]["commands"].update(show={"script": show}))
    words = ["a b", "$HOME", "'q'", '"d"', "*", "--flag", "-", ""]
    done = sdlc_run(masquerade, "platform", "show", *words)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "".join(f"[{w}]\n" for w in words)
    # the first `--` ends sdlc's own options (it keeps --json for the script); a second is the script's
    done = sdlc_run(masquerade, "platform", "show", "--", "--json", "--", "-j")
    assert done.stdout == "[--json]\n[--]\n[-j]\n"
    done = sdlc_run(masquerade, "platform", "show", "--help")
    assert done.stdout == "[--help]\n"


def test_stdin_is_the_users(masquerade: Path) -> None:
    echo = add_script(masquerade, "echo.sh", "tr a-z A-Z\n")
    edit_config(masquerade, lambda c: c["platform"]["commands"].update(echo={"script": echo}))
    done = sdlc_run(masquerade, "platform", "echo", input="hello\n")
    assert (done.returncode, done.stdout) == (0, "HELLO\n")


def test_a_script_killed_by_a_signal_exits_128_plus_n(masquerade: Path) -> None:
    edit_config(masquerade, lambda c: c["platform"]["commands"].update(die={"script": "kill -TERM $$; :"}))
    assert sdlc_run(masquerade, "platform", "die").returncode == 128 + 15


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["auth-service"], "missing required argument: environment (one of staging, production)"),
        ([], "missing required argument: service (one of auth-service,"),
        (["auth-service", "staging", "extra"], "too many arguments for platform command deploy: 'extra'"),
    ],
)
def test_usage_errors_come_before_the_script(
    masquerade: Path, sdlc: InProcess, args: list[str], message: str
) -> None:
    marker = masquerade / "ran"
    edit_config(masquerade, lambda c: c["platform"]["commands"]["deploy"].update(script=f"touch {marker}"))
    refused = sdlc("platform", "deploy", *args, json_mode=True)
    assert refused.code == 2, refused
    assert_schema(ERROR, refused.data)
    assert refused.data["error"]["message"].startswith(message)
    assert not marker.exists()
    assert sdlc("platform", "deploy", *args).err.startswith(f"error: {message}")


def test_options_end_the_checks_and_go_to_the_script(masquerade: Path) -> None:
    """`logs -f -n 5 SERVICE`: from the first option on, the script parses its command line."""
    done = sdlc_run(masquerade, "platform", "logs", "-f", "-n", "5", "auth-service")
    assert done.returncode == 1  # the script's: no compose file here
    assert "no Compose file at docker-compose.yml" in done.stderr and "error:" not in done.stderr
    done = sdlc_run(masquerade, "platform", "deploy", "--help")
    assert done.returncode == 0 and done.stdout.startswith("usage: deploy SERVICE ENVIRONMENT")


def test_subcommands(masquerade: Path) -> None:
    done = sdlc_run(masquerade, "platform", "dev", "start")
    assert done.returncode == 0 and done.stdout == "Starting development environment\n"
    done = sdlc_run(masquerade, "platform", "dev", "migrate")
    assert (done.returncode, done.stdout) == (0, "No migrations in migrations: nothing to apply\n")
    (masquerade / "migrations").mkdir()
    (masquerade / "migrations" / "001_users.sql").write_text("-- sql\n", encoding="utf-8")
    done = sdlc_run(masquerade, "platform", "dev", "migrate", "--apply")  # the rest goes to the subcommand
    assert done.returncode == 1 and "MIGRATE_CMD is not set" in done.stderr
    done = sdlc_run(masquerade, "platform", "dev", "restart")
    assert done.returncode == 2
    assert "unknown subcommand: 'restart' is not a subcommand of platform command 'dev'" in done.stderr
    assert "(known: start, stop, quality, migrate)" in done.stderr
    # no subcommand: the command's own script (the preset's dispatcher prints its usage, exit 2)
    done = sdlc_run(masquerade, "platform", "dev")
    assert done.returncode == 2 and "dev: missing subcommand" in done.stderr and "error:" not in done.stderr


def test_a_command_with_only_subcommands_needs_one(masquerade: Path, sdlc: InProcess) -> None:
    edit_config(masquerade, lambda c: c["platform"]["commands"]["dev"].pop("script"))
    refused = sdlc("platform", "dev", json_mode=True)
    assert refused.code == 2
    assert refused.data["error"]["message"] == (
        "missing required argument: a subcommand of 'dev' (start, stop, quality, migrate)"
    )


def test_unknown_command_names_the_known_ones(masquerade: Path, sdlc: InProcess) -> None:
    refused = sdlc("platform", "nope", json_mode=True)
    assert refused.code == 2
    assert_schema(ERROR, refused.data)
    assert refused.data["error"]["code"] == "usage_error"
    assert refused.data["error"]["message"] == (
        "unknown subcommand: no platform command 'nope' (known: list, deploy, logs, dev)"
    )


def test_a_broken_platform_section_is_refused_with_its_paths(masquerade: Path, sdlc: InProcess) -> None:
    def damage(config: dict[str, Any]) -> None:
        commands = config["platform"]["commands"]
        commands["deploy"]["args"][0]["choises"] = ["x"]
        commands["logs"]["args"][0]["required"] = "yes"

    edit_config(masquerade, damage)
    for args in (("platform", "list"), ("platform", "deploy", "auth-service", "staging")):
        refused = sdlc(*args, json_mode=True)
        assert refused.code == 1 and refused.data["error"]["code"] == "config_invalid"
        message = refused.data["error"]["message"]
        assert "platform.commands.deploy.args[0].choises: unknown key" in message
        assert "platform.commands.logs.args[0].required: must be true or false" in message


def test_uninitialised_directory(tmp_path: Path) -> None:
    done = sdlc_run(tmp_path, "--json", "platform", "list")
    assert done.returncode == 1
    assert json.loads(done.stdout)["error"]["code"] == "not_initialized"
