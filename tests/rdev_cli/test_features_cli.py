"""`rdev features` against the real API and a project made from the default template: create,
list, get and next (the classifier's instruction for a person: who acts and the command to
type); `run --wait` as an `sdlc` work item where a fake Claude Code (tests/sdlc/fake_agents)
writes the spec until a human must act; approve through the CLI; a second run without --wait
followed with `rdev work wait`, then a reject; errors with exit codes and hints."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import ApiServer, RdevCli, Result

FAKES = Path(__file__).resolve().parents[1] / "sdlc" / "fake_agents"


def _failed(result: Result, code: int, *words: str) -> None:
    assert result.code == code, result
    assert "\nError: " in "\n" + result.err and "Traceback" not in result.err, result.err
    for word in words:
        assert word in result.err, (word, result.err)


@pytest.fixture(autouse=True)
def fake_claude(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake `claude` first on PATH, set before the api_server fixture builds its services
    (commands inherit the server's PATH only). What it writes is checked in the workspace: its
    log may land in the sandbox's private /tmp."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    source = bin_dir / "fake_claude.py"
    shutil.copyfile(FAKES / "claude.py", source)
    log = tmp_path / "agent.log"
    # commands get an allowlisted environment: the wrapper carries the log's path itself
    wrapper = bin_dir / "claude"
    wrapper.write_text(f'#!/bin/sh\nFAKE_AGENT_LOG="{log}" exec "{sys.executable}" "{source}" "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


def _project(api: ApiServer) -> Path:
    with api.admin() as admin:
        response = admin.post("/projects", json={"name": "shop", "template": "default"})
    assert response.status_code == 201, response.text
    workspace = Path(response.json()["workspace"])
    config_file = workspace / ".sdlc" / "config.yaml"
    config = yaml.safe_load(config_file.read_text())
    assert config["agents"]["default"]["type"] == "claude"
    config["callbacks"]["url"] = f"{api.url}/projects/shop/sdlc/events"  # events back to this server
    config_file.write_text(yaml.safe_dump(config))
    return workspace


def _by_the_fake(workspace: Path, name: str) -> bool:
    path = workspace / ".sdlc" / "features" / "login" / name
    return path.is_file() and "Written by the fake agent." in path.read_text()


def test_features_from_create_to_approval(rdev_with_workers: RdevCli) -> None:
    rdev = rdev_with_workers
    workspace = _project(rdev.server)
    created = rdev("features", "create", "shop", "login", "--title", "Login", "-d", "Sign in.")
    assert created.code == 0, created
    assert created.out == "login\tLogin\tdraft\n" and "rdev features next shop login" in created.err
    assert rdev.json("features", "list", "shop")[0]["slug"] == "login"
    assert rdev.ok("features", "ls", "shop").out.startswith("login\tLogin\tdraft\t-\t0\t")
    assert rdev.json("features", "list", "shop", "--phase", "released") == []
    assert rdev.json("features", "get", "shop", "login")["description"] == "Sign in."
    shown = rdev.ok("features", "get", "shop", "login", "-o", "table").out
    assert "login: Login (draft)" in shown and "Sign in." in shown and "ARTIFACT_TYPE" in shown
    assert any(line.split()[:2] == ["spec", "missing"] for line in shown.splitlines())
    # next: the classifier's instruction, and for a person who acts and what to type
    step = rdev.json("features", "next", "shop", "login")
    assert step["action"] == "create_spec" and step["next_command"] == "/sdlc-spec login"
    told = rdev.ok("features", "next", "shop", "login", "-o", "table").out.splitlines()
    assert told[0] == "login (draft): create_spec (an agent acts)"
    assert told[1] == f"  {step['message']}" and "  output: .sdlc/features/login/spec.md" in told
    assert told[-1] == "  run it:  rdev features run shop login --wait"
    assert rdev.ok("features", "next", "shop", "login").out.startswith("login\tdraft\tcreate_spec\t")
    # run until a human must act: the fake agent writes the spec, then the loop stops
    ran = rdev("features", "run", "shop", "login", "--max-steps", "3", "--wait", "--timeout", "120")
    assert ran.code == 0, ran
    assert "\tsdlc\tshop\tsucceeded\t1\t" in ran.out
    assert "the run stopped: a human must act; next:" in ran.err
    assert "login (draft): approve_spec (a human acts)" in ran.err
    assert "  approve: rdev features approve shop login spec --by NAME" in ran.err
    assert _by_the_fake(workspace, "spec.md") and not _by_the_fake(workspace, "design.md")
    item = rdev.json("work", "list", "--type", "sdlc")[0]
    assert item["payload"] == {"feature": "login", "max_steps": 3} and item["result"]["human_action_required"]
    # approve through the CLI: --by is required, a second approval changes nothing
    _failed(rdev("features", "approve", "shop", "login", "spec"), 2, "--by")
    approved = rdev("features", "approve", "shop", "login", "spec", "--by", "alice", "-o", "json")
    assert approved.code == 0, approved
    assert approved.data["artifact"]["status"] == "approved" and approved.data["changed"] is True
    assert approved.data["artifact"]["approved_by"] == "alice" and "approved spec of login" in approved.err
    again = rdev("features", "approve", "shop", "login", "spec", "--by", "alice")
    assert again.code == 0 and "spec of login was already approved" in again.err
    assert again.out.startswith("login\t") and "\tspec\tapproved\tfalse\t" in again.out
    assert rdev.json("features", "next", "shop", "login")["action"] == "create_design"
    # a run without --wait: the item on stdout, then `rdev work wait`; the design is rejected
    queued = rdev("features", "run", "shop", "login", "-q")
    assert queued.code == 0 and queued.out.startswith("wi_") and "rdev work wait wi_" in queued.err
    waited = rdev("work", "wait", queued.out.strip(), "--timeout", "120", "-o", "json")
    assert waited.code == 0 and waited.data["result"]["human_action_required"] is True
    assert _by_the_fake(workspace, "design.md")
    rejected = rdev(
        "features", "reject", "shop", "login", "design", "--by", "bob", "--reason", "too thin", "--json"
    )
    assert rejected.code == 0 and rejected.data["artifact"]["status"] == "rejected"
    assert (
        rejected.data["artifact"]["rejection_reason"] == "too thin"
        and "rejected design of login" in rejected.err
    )
    assert rdev.json("features", "next", "shop", "login")["action"] == "create_design"


def test_feature_errors_have_exit_codes(rdev: RdevCli) -> None:
    _project(rdev.server)
    rdev.ok("features", "create", "shop", "login")
    _failed(rdev("features", "create", "shop", "login"), 5, "CONFLICT")
    _failed(rdev("features", "create", "shop", "Not A Slug"), 2, "VALIDATION_FAILED")
    _failed(rdev("features", "get", "shop", "nope"), 3, "NOT_FOUND")
    _failed(rdev("features", "next", "ghost", "login"), 3, "NOT_FOUND")
    _failed(rdev("features", "list", "shop", "--phase", "nope"), 2, "unknown phase")
    _failed(rdev("features", "run", "shop", "login", "--max-steps", "0"), 2, "--max-steps")
    _failed(rdev("features", "run", "shop", "nope"), 3)
    missing = rdev("features", "approve", "shop", "login", "spec", "--by", "alice")
    _failed(missing, 5, "CONFLICT")
    _failed(rdev("features", "approve", "shop", "login", "nope", "--by", "alice"), 2, "VALIDATION_FAILED")
    reader: Any = rdev.ok("keys", "create", "--name", "r", "--scope", "projects:read").out.strip()
    assert rdev.json("features", "list", "shop", key=reader)[0]["slug"] == "login"
    _failed(rdev("features", "create", "shop", "other", key=reader), 4, "projects:execute")
