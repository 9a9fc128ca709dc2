"""`sdlc commands install|update|check|list` (spec/sdlc.md §8): the agent command files and
`.sdlc/commands.lock`. Edited files survive an update, unedited ones follow the generator,
files no longer generated go only when unedited, --dry-run writes nothing."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import InProcess, assert_schema, run_process, tree_snapshot
from sdlc._version import __version__
from skeletons.commands import AGENTS, render_commands

BEGIN, END = "<!-- sdlc:begin -->", "<!-- sdlc:end -->"
LOCK = Path(".sdlc/commands.lock")


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def section(root: Path) -> str | None:
    """The content between the sdlc markers of AGENTS.md."""
    text = (root / "AGENTS.md").read_text(encoding="utf-8")
    if BEGIN not in text:
        return None
    return text.split(BEGIN, 1)[1].split(END, 1)[0]


def current(root: Path, agent: str, path: str) -> str | None:
    if agent == "codex":
        return section(root)
    target = root / path
    return target.read_text(encoding="utf-8") if target.exists() else None


def put(root: Path, agent: str, path: str, content: str) -> None:
    """Write `content` as the target: the file, or (codex) the AGENTS.md section."""
    if agent != "codex":
        (root / path).write_text(content, encoding="utf-8")
        return
    text = (root / "AGENTS.md").read_text(encoding="utf-8")
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    (root / "AGENTS.md").write_text(f"{head}{BEGIN}{content}{END}{tail}", encoding="utf-8")


def is_generated(agent: str, path: str, content: str | None) -> bool:
    """`content` is what the current sdlc writes for `path` (codex: the section ends with the
    generated command list, after the intro `sdlc init` writes)."""
    body = render_commands(agent)[path]
    if agent == "codex":
        return content is not None and content.startswith("\n## SDLC\n") and content.endswith("\n" + body)
    return content == body


def read_lock(root: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((root / LOCK).read_text(encoding="utf-8"))
    return data


def write_lock(root: Path, data: dict[str, Any]) -> None:
    (root / LOCK).write_text(yaml.safe_dump(data), encoding="utf-8")


def snapshot(root: Path) -> dict[str, bytes]:
    return dict(tree_snapshot(root))


def events(root: Path) -> list[dict[str, Any]]:
    path = root / ".sdlc" / "events.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def bare(project: Path, sdlc: InProcess) -> InProcess:
    """The project without any command file or lock (init installed claude's)."""
    shutil.rmtree(project / ".claude")
    (project / LOCK).unlink()
    return sdlc


def rows(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["path"]: row for row in result["files"]}


# -- install -------------------------------------------------------------------------------------


@pytest.mark.parametrize("agent", AGENTS)
def test_install_writes_every_file_and_records_its_hash(bare: InProcess, agent: str) -> None:
    root = bare.root
    result = bare.json("commands", "install", "--agent", agent)
    assert_schema("sdlc commands install", result)
    expected = render_commands(agent)
    assert result["agents"] == [agent] and result["changed"] and not result["dry_run"]
    assert [(r["path"], r["state"], r["action"]) for r in result["files"]] == [
        (p, "missing", "create") for p in expected
    ]
    for path in expected:
        assert is_generated(agent, path, current(root, agent, path)), path
    lock = read_lock(root)
    assert lock["sdlc_version"] == __version__
    assert lock["agents"] == {agent: {p: sha256(str(current(root, agent, p))) for p in expected}}

    checked = bare.json("commands", "check", "--agent", agent)
    assert_schema("sdlc commands check", checked)
    assert checked["ok"] and {f["state"] for f in checked["files"]} == {"ok"}
    listed = bare.json("commands", "list")  # default: the agents of the lock
    assert_schema("sdlc commands list", listed)
    assert listed["agents"] == [agent] and listed["lock_version"] == __version__
    assert len(listed["files"]) == len(expected)

    before = snapshot(root)
    again = bare.json("commands", "install", "--agent", agent)
    assert not again["changed"] and {r["action"] for r in again["files"]} == {"unchanged"}
    assert snapshot(root) == before


def test_default_agents_are_the_locked_ones_else_claude(bare: InProcess) -> None:
    assert bare.json("commands", "list")["agents"] == ["claude"]
    assert bare("commands", "check", "--agent", "claude").code == 1  # every file missing
    result = bare.json("commands", "install")
    assert result["agents"] == ["claude"] and len(result["files"]) == 15
    bare.json("commands", "install", "--agent", "codex,gemini")
    checked = bare.json("commands", "check")
    assert checked["agents"] == ["claude", "gemini", "codex"] and checked["ok"]
    assert set(read_lock(bare.root)["agents"]) == {"claude", "gemini", "codex"}


def test_install_never_overwrites_a_file_it_did_not_write(bare: InProcess) -> None:
    root = bare.root
    mine = root / ".opencode" / "commands" / "sdlc-next.md"
    mine.parent.mkdir(parents=True)
    mine.write_text("our own next command\n")
    result = bare.json("commands", "install", "--agent", "opencode")
    row = rows(result)[".opencode/commands/sdlc-next.md"]
    assert (row["state"], row["action"]) == ("untracked", "keep") and "not written by sdlc" in row["reason"]
    assert mine.read_text() == "our own next command\n"
    assert sum(r["action"] == "create" for r in result["files"]) == 14
    assert ".opencode/commands/sdlc-next.md" not in read_lock(root)["agents"]["opencode"]

    failed = bare("commands", "check", "--agent", "opencode", json_mode=True)
    assert failed.code == 1
    assert [(f["path"], f["state"]) for f in failed.data["files"] if f["state"] != "ok"] == [
        (".opencode/commands/sdlc-next.md", "untracked")
    ]
    assert bare.json("commands", "update", "--agent", "opencode")["changed"] is False
    assert mine.read_text() == "our own next command\n"
    forced = bare.json("commands", "update", "--agent", "opencode", "--force")
    assert rows(forced)[".opencode/commands/sdlc-next.md"]["action"] == "update"
    assert is_generated("opencode", ".opencode/commands/sdlc-next.md", mine.read_text())
    assert bare.json("commands", "check", "--agent", "opencode")["ok"]


def test_install_and_update_record_events_only_when_they_write(bare: InProcess) -> None:
    root = bare.root
    bare.json("commands", "install", "--agent", "cursor")
    installed = [e for e in events(root) if e["type"] == "commands.installed"]
    assert len(installed) == 1 and installed[0]["actor"] == "tester"
    assert installed[0]["data"]["agents"] == ["cursor"] and len(installed[0]["data"]["created"]) == 15
    bare.json("commands", "install", "--agent", "cursor")
    bare.json("commands", "update", "--agent", "cursor")
    assert len(events(root)) == 1
    (root / ".cursor/commands/sdlc-qa.md").unlink()
    bare.json("commands", "update", "--agent", "cursor")
    assert events(root)[-1]["type"] == "commands.updated"
    assert events(root)[-1]["data"]["created"] == [".cursor/commands/sdlc-qa.md"]


# -- update --------------------------------------------------------------------------------------


@pytest.mark.parametrize("agent", AGENTS)
def test_edited_files_survive_update_and_are_reported(bare: InProcess, agent: str) -> None:
    root = bare.root
    bare.json("commands", "install", "--agent", agent)
    path = next(iter(render_commands(agent)))
    edited = str(current(root, agent, path)) + "\nOur own note.\n"
    put(root, agent, path, edited)

    failed = bare("commands", "check", "--agent", agent, json_mode=True)
    assert failed.code == 1 and not failed.data["ok"]
    assert [(f["path"], f["state"]) for f in failed.data["files"] if f["state"] != "ok"] == [(path, "edited")]

    result = bare.json("commands", "update", "--agent", agent)
    row = rows(result)[path]
    assert (row["state"], row["action"]) == ("edited", "keep") and "edited" in row["reason"]
    assert current(root, agent, path) == edited
    text = bare("commands", "update", "--agent", agent)
    assert f"keep   {path}: edited since sdlc wrote it (--force overwrites)" in text.out

    forced = bare.json("commands", "update", "--agent", agent, "--force")
    assert rows(forced)[path]["action"] == "update"
    assert is_generated(agent, path, current(root, agent, path))
    assert bare.json("commands", "check", "--agent", agent)["ok"]


@pytest.mark.parametrize("agent", AGENTS)
def test_unedited_files_of_an_older_version_are_upgraded(bare: InProcess, agent: str) -> None:
    root = bare.root
    bare.json("commands", "install", "--agent", agent)
    path = list(render_commands(agent))[-1]
    old = "\nThe command as an older sdlc wrote it.\n"
    put(root, agent, path, old)
    lock = read_lock(root)
    lock["agents"][agent][path] = sha256(old)
    lock["sdlc_version"] = "0.0.1"
    write_lock(root, lock)

    failed = bare("commands", "check", "--agent", agent, json_mode=True)
    assert failed.code == 1
    assert [(f["path"], f["state"]) for f in failed.data["files"] if f["state"] != "ok"] == [(path, "stale")]
    installed = bare.json("commands", "install", "--agent", agent)  # install does not upgrade
    assert rows(installed)[path]["action"] == "keep" and current(root, agent, path) == old

    result = bare.json("commands", "update", "--agent", agent)
    assert (rows(result)[path]["state"], rows(result)[path]["action"]) == ("stale", "update")
    assert is_generated(agent, path, current(root, agent, path))
    lock = read_lock(root)
    assert lock["agents"][agent][path] == sha256(str(current(root, agent, path)))
    assert lock["sdlc_version"] == __version__
    assert events(root)[-1]["data"]["updated"] == [path]
    assert bare.json("commands", "check", "--agent", agent)["ok"]


def test_files_no_longer_generated_are_removed_only_when_unedited(bare: InProcess) -> None:
    root = bare.root
    bare.json("commands", "install")
    commands = root / ".claude" / "commands"
    (commands / "sdlc-old.md").write_text("retired\n")
    (commands / "sdlc-gone.md").write_text("retired, then edited\n")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text("print('mine')\n")
    lock = read_lock(root)
    lock["agents"]["claude"].update(
        {
            ".claude/commands/sdlc-old.md": sha256("retired\n"),
            ".claude/commands/sdlc-gone.md": sha256("retired\n"),
            ".claude/commands/sdlc-deleted.md": sha256("deleted by hand\n"),
            "src/app.py": sha256("print('mine')\n"),  # a hand-edited lock never deletes this
            "../outside.md": sha256("x"),
        }
    )
    write_lock(root, lock)

    states = {f["path"]: f["state"] for f in bare.json("commands", "list")["files"]}
    assert states[".claude/commands/sdlc-old.md"] == "obsolete"
    assert states[".claude/commands/sdlc-gone.md"] == "edited"
    assert not {"src/app.py", "../outside.md", ".claude/commands/sdlc-deleted.md"} & set(states)
    assert bare("commands", "check").code == 1

    before = snapshot(root)
    planned = bare.json("commands", "update", "--dry-run")
    assert snapshot(root) == before
    assert rows(planned)[".claude/commands/sdlc-old.md"]["action"] == "remove"

    result = bare.json("commands", "update")
    assert rows(result)[".claude/commands/sdlc-old.md"]["action"] == "remove"
    gone = rows(result)[".claude/commands/sdlc-gone.md"]
    assert gone["action"] == "keep" and "no longer generated" in gone["reason"]
    assert not (commands / "sdlc-old.md").exists()
    assert (commands / "sdlc-gone.md").read_text() == "retired, then edited\n"
    assert (root / "src" / "app.py").exists()
    recorded = read_lock(root)["agents"]["claude"]
    assert not {".claude/commands/sdlc-old.md", ".claude/commands/sdlc-deleted.md"} & set(recorded)
    assert "src/app.py" in recorded  # not ours to judge: left alone

    bare.json("commands", "update", "--force")
    assert not (commands / "sdlc-gone.md").exists() and (root / "src" / "app.py").exists()
    assert bare.json("commands", "check")["ok"]


def test_dry_run_writes_nothing(bare: InProcess) -> None:
    root = bare.root
    before = snapshot(root)
    planned = bare.json("commands", "install", "--agent", "claude,codex", "--dry-run")
    assert_schema("sdlc commands install", planned)
    assert planned["dry_run"] and planned["changed"] and len(planned["files"]) == 16
    assert {r["action"] for r in planned["files"]} == {"create"}
    text = bare("commands", "install", "--agent", "codex", "--dry-run").out
    assert "would be 1 created; nothing written" in text
    assert snapshot(root) == before and not (root / ".sdlc" / ".lock").exists()

    bare.json("commands", "install", "--agent", "gemini")
    path = ".gemini/commands/sdlc-spec.toml"
    put(root, "gemini", path, "old\n")
    lock = read_lock(root)
    lock["agents"]["gemini"][path] = sha256("old\n")
    write_lock(root, lock)
    (root / ".gemini/commands/sdlc-qa.toml").unlink()
    before = snapshot(root)
    planned = bare.json("commands", "update", "--dry-run", "--force")
    assert_schema("sdlc commands update", planned)
    assert rows(planned)[path]["action"] == "update"
    assert rows(planned)[".gemini/commands/sdlc-qa.toml"]["action"] == "create"
    assert snapshot(root) == before


# -- codex: the SDLC section of AGENTS.md --------------------------------------------------------


def test_codex_rewrites_only_the_section(bare: InProcess) -> None:
    root = bare.root
    agents_md = root / "AGENTS.md"
    intro = section(root)
    agents_md.write_text(f"# Our agents\n\nBefore.\n\n{BEGIN}{intro}{END}\n\nAfter.\n")
    assert bare.json("commands", "list", "--agent", "codex")["files"][0]["state"] == "missing"
    bare.json("commands", "install", "--agent", "codex")
    text = agents_md.read_text()
    assert text.startswith("# Our agents\n\nBefore.\n\n<!-- sdlc:begin -->\n## SDLC\n")
    assert text.endswith(f"{END}\n\nAfter.\n") and text.count(BEGIN) == 1
    assert "`sdlc-fix-review <slug>`" in text

    agents_md.write_text(text.replace("After.", "After, edited outside the section."))
    assert bare.json("commands", "check", "--agent", "codex")["ok"]  # only the section counts
    lock = read_lock(root)
    old = "\nAn older command list.\n"
    put(root, "codex", "AGENTS.md", old)
    lock["agents"]["codex"]["AGENTS.md"] = sha256(old)
    write_lock(root, lock)
    bare.json("commands", "update")
    text = agents_md.read_text()
    assert text.endswith(f"{END}\n\nAfter, edited outside the section.\n") and "older command" not in text
    assert is_generated("codex", "AGENTS.md", section(root))


def test_codex_appends_a_section_when_agents_md_has_none(bare: InProcess) -> None:
    root = bare.root
    (root / "AGENTS.md").write_text("# Notes only\n")
    bare.json("commands", "install", "--agent", "codex")
    text = (root / "AGENTS.md").read_text()
    assert text.startswith("# Notes only\n\n<!-- sdlc:begin -->\n") and text.endswith(f"{END}\n")
    (root / "AGENTS.md").unlink()
    checked = bare("commands", "check", "--agent", "codex", json_mode=True)
    assert checked.data["files"][0]["state"] == "missing"
    bare.json("commands", "update", "--agent", "codex")
    assert (root / "AGENTS.md").read_text().startswith("# Agents\n\n<!-- sdlc:begin -->\n")


# -- check, list, errors -------------------------------------------------------------------------


def test_check_exit_codes_in_a_real_process(project: Path) -> None:
    done = run_process(["commands", "check"], project)
    assert (done.returncode, done.stdout) == (0, "Command files up to date (claude)\n")
    (project / ".claude/commands/sdlc-merge.md").unlink()
    done = run_process(["commands", "check"], project)
    assert done.returncode == 1
    assert "missing  claude  .claude/commands/sdlc-merge.md" in done.stdout
    done = run_process(["commands", "check", "--json"], project)
    assert done.returncode == 1 and done.stderr == ""
    assert_schema("sdlc commands check", json.loads(done.stdout))
    listed = run_process(["commands", "list"], project)
    assert listed.returncode == 0 and "missing  claude  .claude/commands/sdlc-merge.md" in listed.stdout
    assert "ok       claude  .claude/commands/sdlc-next.md" in listed.stdout
    assert run_process(["commands", "update"], project).returncode == 0
    assert run_process(["commands", "check"], project).returncode == 0


def test_errors(sdlc: InProcess, project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = sdlc("commands", "install", "--agent", "vim", json_mode=True)
    assert bad.code == 2 and bad.data["error"]["code"] == "invalid_value"
    assert "unknown agent 'vim'" in bad.data["error"]["message"]
    assert "claude, opencode, gemini, cursor, copilot, codex" in bad.data["error"]["hint"]
    (project / LOCK).write_text("agents: [not, a, mapping]\n")
    corrupt = sdlc("commands", "check", json_mode=True)
    assert corrupt.code == 1 and corrupt.data["error"]["code"] == "corrupt_file"
    (project / LOCK).write_text("agents: {claude: {a: [1]}\n")
    assert sdlc("commands", "update", json_mode=True).data["error"]["code"] == "corrupt_file"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    missing = InProcess(elsewhere, capsys)("commands", "list", json_mode=True)
    assert missing.code == 1 and missing.data["error"]["code"] == "not_initialized"


def test_parallel_installs_lose_no_lock_entry(bare: InProcess) -> None:
    """Five processes install five agents at once: the lock is re-read inside the project
    lock, so it ends up naming every file of every agent."""
    root = bare.root
    others = [a for a in AGENTS if a != "claude"]
    env = {**os.environ, "SDLC_ROOT": str(root)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "sdlc", "commands", "install", "--agent", agent],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for agent in others
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    lock = read_lock(root)
    assert set(lock["agents"]) == set(others)
    assert all(len(lock["agents"][a]) == len(render_commands(a)) for a in others)
    checked = bare.json("commands", "check")
    assert checked["ok"] and checked["agents"] == others
