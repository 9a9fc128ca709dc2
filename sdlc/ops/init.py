"""`sdlc init` (spec/sdlc.md §1): the layout, idempotent, never overwriting a file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sdlc import yamlio
from sdlc.atomic import write_atomic
from sdlc.config import default_config_document
from sdlc.state import empty_state

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
AGENTS_SECTION = f"""{AGENTS_BEGIN}
## SDLC

Every feature of this project moves through a fixed lifecycle managed by `sdlc`
(draft → specified → planned → ready → implementation → review → audit → qa → merge → released).

- Ask what comes next: `sdlc next --for <slug> --json` (or `sdlc next --json` for every feature).
- Do exactly that action: write the artifact at `output_path`, or implement the task named.
- Record what you did: `sdlc artifact draft <slug> <type>`, `sdlc task complete <slug> <T#>`.
- Never approve your own work: approvals (`sdlc artifact approve`) are for humans.
- Blocked? Leave a comment: `sdlc comment create <slug> "question" --flag question`.
{AGENTS_END}
"""


def _create(path: Path, content: str, created: list[str], root: Path) -> None:
    if path.exists():
        return
    write_atomic(path, content.encode())
    created.append(str(path.relative_to(root)))


def _mkdir(path: Path, created: list[str], root: Path) -> None:
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True)
        created.append(str(path.relative_to(root)) + "/")


def init_project(root: Path) -> dict[str, Any]:
    """Create what is missing of the layout; returns the paths created (empty when none)."""
    root = root.resolve()
    if not root.is_dir():
        from sdlc.errors import InvalidValue

        raise InvalidValue(f"invalid value: root {root} is not a directory", hint="create it or pass --root")
    created: list[str] = []
    updated: list[str] = []
    sdlc_dir = root / ".sdlc"
    already = sdlc_dir.is_dir()
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
        _create(agents, f"# Agents\n\n{AGENTS_SECTION}", created, root)
    else:
        text = agents.read_text(encoding="utf-8", errors="replace")
        if AGENTS_BEGIN not in text:
            separator = "" if text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
            write_atomic(agents, (text + separator + AGENTS_SECTION).encode())
            updated.append("AGENTS.md")
    return {"root": os.fspath(root), "already_initialized": already, "created": created, "updated": updated}
