"""`sdlc init` (spec/sdlc.md §1): the layout, idempotent, never overwriting a file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sdlc import yamlio
from sdlc.atomic import write_atomic
from sdlc.config import default_config_document
from sdlc.state import empty_state
from sdlc.store import Store

SDLC_DIRS = ("features", "milestones", "patterns", "audits", "branches", "archives", "roadmap")
AI_DIRS = ("patterns", "decisions", "gotchas", "architecture", "conventions")
GITIGNORE = ".lock\n.journal\n.cache/\nruns/\ncallbacks/\n"
AGENTS_BEGIN = "<!-- sdlc:begin -->"
AGENTS_END = "<!-- sdlc:end -->"
AI_INDEX = """# Project knowledge base

What agents and people learn while building this project, one short file per entry:

- `patterns/` — how things are done here, with an example
- `decisions/` — what was decided, when and why
- `gotchas/` — traps that cost time once
- `architecture/` — the parts and how they talk
- `conventions/` — names, layout, style
"""
# The SDLC section of AGENTS.md, between the markers; `sdlc commands` for codex appends the
# command list to it (sdlc.ops.agent_commands).
AGENTS_INTRO = """## SDLC

Every feature of this project moves through a fixed lifecycle managed by `sdlc`
(draft → specified → planned → ready → implementation → review → audit → qa → merge → released).

- Ask what comes next: `sdlc next --for <slug> --json` (or `sdlc next --json` for every feature).
- Do exactly that action: write the artifact at `output_path`, or implement the task named.
- Record what you did: `sdlc artifact draft <slug> <type>`, `sdlc task complete <slug> <T#>`.
- Never approve your own work: approvals (`sdlc artifact approve`) are for humans.
- Blocked? Leave a comment: `sdlc comment create <slug> "question" --flag question`.
"""
AGENTS_SECTION = f"{AGENTS_BEGIN}\n{AGENTS_INTRO}{AGENTS_END}\n"


def _create(path: Path, content: str, created: list[str], root: Path) -> None:
    if path.exists():
        return
    write_atomic(path, content.encode())
    created.append(str(path.relative_to(root)))


def _mkdir(path: Path, created: list[str], root: Path) -> None:
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True)
        created.append(str(path.relative_to(root)) + "/")


def agents_md_with_section(text: str | None, section: str) -> str:
    """AGENTS.md (`text`, None when absent) with `section` appended after a blank line."""
    if text is None:
        return f"# Agents\n\n{section}"
    separator = "" if text.endswith("\n\n") or not text else ("\n" if text.endswith("\n") else "\n\n")
    return text + separator + section


def _layout(root: Path, created: list[str], updated: list[str]) -> None:
    sdlc_dir = root / ".sdlc"
    _mkdir(sdlc_dir, created, root)
    for name in SDLC_DIRS:
        _mkdir(sdlc_dir / name, created, root)
    _create(sdlc_dir / ".gitignore", GITIGNORE, created, root)
    _create(sdlc_dir / "config.yaml", yamlio.dumps(default_config_document(root.name)), created, root)
    _create(sdlc_dir / "state.yaml", yamlio.dumps(empty_state(root.name)), created, root)
    _mkdir(root / ".ai", created, root)
    _create(root / ".ai" / "index.md", AI_INDEX, created, root)
    for name in AI_DIRS:
        _mkdir(root / ".ai" / name, created, root)
        _create(root / ".ai" / name / ".gitkeep", "", created, root)
    agents = root / "AGENTS.md"
    if not agents.exists():
        _create(agents, agents_md_with_section(None, AGENTS_SECTION), created, root)
    else:
        text = agents.read_text(encoding="utf-8", errors="replace")
        if AGENTS_BEGIN not in text:
            write_atomic(agents, agents_md_with_section(text, AGENTS_SECTION).encode())
            updated.append("AGENTS.md")


def _note(path: str, created: list[str], updated: list[str], existed: bool) -> None:
    if path not in created and path not in updated:
        (updated if existed else created).append(path)


def _install_commands(
    store: Store,
    agents: list[str],
    locked: bool,
    created: list[str],
    updated: list[str],
    kept: list[dict[str, str]],
) -> None:
    from sdlc.ops.agent_commands import apply_commands, lock_path

    lock = lock_path(store)
    lock_existed = lock.exists()
    result = apply_commands(store, agents, "install", locked=locked)
    for row in result["files"]:
        if row["action"] == "create":
            _note(row["path"], created, updated, row["agent"] == "codex")
        elif row["action"] == "keep":
            kept.append({"path": row["path"], "reason": row["reason"]})
    if result["changed"]:
        _note(store.paths.relative(lock), created, updated, lock_existed)


def init_project(root: Path, agents: list[str] | None = None, platform: str | None = None) -> dict[str, Any]:
    """Create what is missing of the layout, install the agent command files that are missing
    (claude, plus `agents`), and add the platform preset `platform` when given; returns the
    paths created and updated (both empty when there was nothing to do)."""
    from sdlc.ops.agent_commands import parse_agent_names

    root = root.resolve()
    if not root.is_dir():
        from sdlc.errors import InvalidValue

        raise InvalidValue(f"invalid value: root {root} is not a directory", hint="create it or pass --root")
    chosen = parse_agent_names(["claude", *(agents or [])])
    preset = None
    if platform is not None:
        from sdlc.ops.platform_preset import load_preset

        preset = load_preset(platform)  # an unknown name fails before anything is written
    created: list[str] = []
    updated: list[str] = []
    kept: list[dict[str, str]] = []
    already = (root / ".sdlc").is_dir()
    _layout(root, created, updated)
    store = Store(root)
    # A project this call created has no other writer yet: its first init takes no lock.
    _install_commands(store, chosen, already, created, updated, kept)
    platform_result = None
    if preset is not None:
        from sdlc.ops.platform_preset import install_platform

        platform_result = install_platform(store, preset, locked=already)
        created += platform_result["created"]
        if platform_result["config_updated"]:
            _note(store.paths.relative(store.paths.config), created, updated, True)
        kept += platform_result["kept"]
    return {
        "root": os.fspath(root),
        "already_initialized": already,
        "created": created,
        "updated": updated,
        "agents": chosen,
        "kept": kept,
        "platform": platform_result,
    }
