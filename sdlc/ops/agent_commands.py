"""Agent command files (spec/sdlc.md §8): install, update, check and list the skeleton commands
rendered for each agent, with `.sdlc/commands.lock` recording the SHA-256 of what was written.

A file's state compares three things: what is on disk, what the lock says sdlc wrote, and what
the current sdlc would generate. `ok` (disk = generated), `missing` (absent), `stale` (disk =
lock, but the generator moved on: safe to rewrite), `edited` (disk ≠ lock: the user's), `untracked`
(exists, never written by sdlc, differs: the user's), `obsolete` (no longer generated, unedited).
For `codex` the "file" is the SDLC section of AGENTS.md, between the sdlc markers: only that
section is hashed and rewritten; the init text of the section alone counts as `missing`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from sdlc import yamlio
from sdlc.atomic import write_atomic
from sdlc.errors import CorruptFile, InvalidValue, SdlcError
from sdlc.ops.init import AGENTS_BEGIN, AGENTS_END, AGENTS_INTRO, agents_md_with_section
from sdlc.store import Store

LOCK_NAME = "commands.lock"
LOCK_VERSION = 1
DEFAULT_AGENTS = ("claude",)
AGENTS_MD = "AGENTS.md"
CODEX = "codex"
PROBLEM_STATES = ("missing", "stale", "edited", "untracked", "obsolete")
# The section `sdlc init` writes before any codex install: the intro without the command list.
INIT_SECTION = "\n" + AGENTS_INTRO


def known_agents() -> tuple[str, ...]:
    from skeletons.commands import AGENTS

    return AGENTS


def parse_agent_names(values: list[str] | None) -> list[str]:
    """`--agent claude --agent gemini,codex` → ['claude', 'gemini', 'codex'], checked."""
    known = known_agents()
    names: list[str] = []
    for value in values or []:
        for name in (part.strip() for part in value.split(",")):
            if not name:
                continue
            if name not in known:
                raise InvalidValue(
                    f"invalid value: unknown agent '{name}'", hint=f"agents: {', '.join(known)}"
                )
            if name not in names:
                names.append(name)
    return names


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# -- the lock -----------------------------------------------------------------------------------


def lock_path(store: Store) -> Path:
    return store.paths.sdlc / LOCK_NAME


def read_lock(store: Store) -> dict[str, Any]:
    """{'sdlc_version': str | None, 'agents': {agent: {path: sha256}}}; empty when absent."""
    import yaml

    path = lock_path(store)
    try:
        data = yamlio.loads(path.read_bytes())
    except FileNotFoundError:
        return {"sdlc_version": None, "agents": {}}
    except (OSError, yaml.YAMLError) as err:
        raise CorruptFile(f"corrupt file .sdlc/{LOCK_NAME}") from err
    agents = data.get("agents") if isinstance(data, dict) else None
    if not isinstance(agents, dict) or not all(
        isinstance(files, dict) and all(isinstance(h, str) for h in files.values())
        for files in agents.values()
    ):
        raise CorruptFile(
            f"corrupt file .sdlc/{LOCK_NAME}: expected `agents: {{agent: {{path: sha256}}}}`",
            hint=f"delete .sdlc/{LOCK_NAME} and run `sdlc commands install` (edited files are then "
            "reported as untracked, never overwritten)",
        )
    version = data.get("sdlc_version")
    return {
        "sdlc_version": str(version) if version is not None else None,
        "agents": {str(a): {str(p): h for p, h in files.items()} for a, files in agents.items()},
    }


def _lock_document(agents: dict[str, dict[str, str]]) -> dict[str, Any]:
    from sdlc._version import __version__

    order = {name: i for i, name in enumerate(known_agents())}
    ordered = sorted(agents, key=lambda a: (order.get(a, len(order)), a))
    return {
        "version": LOCK_VERSION,
        "sdlc_version": __version__,
        "agents": {a: dict(sorted(agents[a].items())) for a in ordered},
    }


def default_agents(lock: dict[str, Any]) -> list[str]:
    """The agents recorded in the lock, else claude."""
    recorded = [a for a in known_agents() if a in lock["agents"]]
    return recorded or list(DEFAULT_AGENTS)


# -- targets: a plain file, or the SDLC section of AGENTS.md -------------------------------------


def _section_bounds(text: str) -> tuple[int, int] | None:
    begin = text.find(AGENTS_BEGIN)
    if begin < 0:
        return None
    start = begin + len(AGENTS_BEGIN)
    end = text.find(AGENTS_END, start)
    return (start, end) if end >= 0 else None


def _read(root: Path, agent: str, path: str) -> str | None:
    """The current content of a target: the file, or the section of AGENTS.md for codex."""
    try:
        text = (root / path).read_bytes().decode("utf-8", errors="replace")
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    if agent != CODEX:
        return text
    bounds = _section_bounds(text)
    return text[bounds[0] : bounds[1]] if bounds else None


def _write(root: Path, agent: str, path: str, content: str) -> None:
    target = root / path
    if agent != CODEX:
        write_atomic(target, content.encode("utf-8"))
        return
    try:
        text: str | None = target.read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError:
        text = None
    bounds = _section_bounds(text) if text is not None else None
    if text is not None and bounds is not None:
        updated = text[: bounds[0]] + content + text[bounds[1] :]
    else:
        updated = agents_md_with_section(text, f"{AGENTS_BEGIN}{content}{AGENTS_END}\n")
    write_atomic(target, updated.encode("utf-8"))


def _remove(root: Path, path: str) -> None:
    target = root / path
    target.unlink(missing_ok=True)
    directory = target.parent
    while directory != root and directory.is_dir() and not any(directory.iterdir()):
        try:
            directory.rmdir()
        except OSError:  # something appeared in it meanwhile: it stays
            return
        directory = directory.parent


def generated_files(agent: str) -> dict[str, str]:
    """What the current sdlc writes for `agent`: path → content (codex: the section content)."""
    from skeletons.commands import render_commands
    from skeletons.errors import SkeletonError

    try:
        files = render_commands(agent)
    except SkeletonError as err:
        raise SdlcError(
            f"cannot render the {agent} command files: {err.message}",
            hint="the sdlc-commands template of this installation is broken: reinstall sdlc",
        ) from err
    if agent == CODEX:
        return {AGENTS_MD: f"{INIT_SECTION}\n{files[AGENTS_MD]}"}
    return files


def _owned(agent: str, path: str, generated: dict[str, str]) -> bool:
    """A lock entry no longer generated that sdlc may remove: a plain relative path inside the
    agent's command directory (a hand-edited lock never makes sdlc delete anything else)."""
    if agent == CODEX:
        return False
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts or "\\" in path:
        return False
    directories = {str(PurePosixPath(p).parent) for p in generated}
    return str(pure.parent) in directories


# -- survey, plan, apply ------------------------------------------------------------------------


@dataclass
class Entry:
    agent: str
    path: str
    state: str
    content: str | None  # what sdlc generates now; None when no longer generated


def survey(root: Path, agents: list[str], lock: dict[str, Any]) -> list[Entry]:
    """Every target of `agents` with its state (see the module docstring)."""
    entries = []
    for agent in agents:
        generated = generated_files(agent)
        recorded: dict[str, str] = lock["agents"].get(agent, {})
        for path, content in generated.items():
            current = _read(root, agent, path)
            locked = recorded.get(path)
            if current is None or (agent == CODEX and current == INIT_SECTION and locked is None):
                state = "missing"
            elif current == content:
                state = "ok"
            elif locked is None:
                state = "untracked"
            else:
                state = "stale" if sha256_text(current) == locked else "edited"
            entries.append(Entry(agent, path, state, content))
        for path, locked in sorted(recorded.items()):
            if path in generated or not _owned(agent, path, generated):
                continue
            current = _read(root, agent, path)
            state = "gone" if current is None else "obsolete" if sha256_text(current) == locked else "edited"
            entries.append(Entry(agent, path, state, None))
    return entries


@dataclass
class Step:
    entry: Entry
    action: str  # create | update | remove | unchanged | keep | forget
    reason: str | None = None


def plan(entries: list[Entry], mode: str, force: bool) -> list[Step]:
    """What install (`mode` install) or update does to each entry."""
    steps = []
    for e in entries:
        if e.state == "missing":
            steps.append(Step(e, "create"))
        elif e.state == "ok":
            steps.append(Step(e, "unchanged"))
        elif e.state == "gone":  # recorded, no longer generated, already deleted
            if mode == "update":
                steps.append(Step(e, "forget"))
        elif e.content is None:  # no longer generated
            if mode == "install":
                steps.append(Step(e, "keep", "no longer generated: run `sdlc commands update`"))
            elif e.state == "obsolete" or force:
                steps.append(Step(e, "remove"))
            else:
                steps.append(Step(e, "keep", "edited, no longer generated (--force removes it)"))
        elif force:
            steps.append(Step(e, "update"))
        elif e.state == "stale":
            if mode == "update":
                steps.append(Step(e, "update"))
            else:
                steps.append(Step(e, "keep", "out of date: run `sdlc commands update`"))
        elif e.state == "edited":
            steps.append(Step(e, "keep", "edited since sdlc wrote it (--force overwrites)"))
        else:
            steps.append(Step(e, "keep", "exists, not written by sdlc (--force overwrites)"))
    return steps


def _new_lock(lock: dict[str, Any], agents: list[str], steps: list[Step]) -> dict[str, dict[str, str]]:
    recorded = {a: dict(files) for a, files in lock["agents"].items()}
    for agent in agents:
        recorded.setdefault(agent, {})
    for step in steps:
        files = recorded[step.entry.agent]
        written = step.action in ("create", "update") or step.entry.state == "ok"
        if written and step.entry.content is not None:
            files[step.entry.path] = sha256_text(step.entry.content)
        elif step.action in ("remove", "forget"):
            files.pop(step.entry.path, None)
    return recorded


def _row(step: Step) -> dict[str, Any]:
    row: dict[str, Any] = {
        "agent": step.entry.agent,
        "path": step.entry.path,
        "state": step.entry.state,
        "action": step.action,
    }
    if step.reason:
        row["reason"] = step.reason
    return row


def apply_commands(
    store: Store,
    agents: list[str] | None,
    mode: str,
    *,
    force: bool = False,
    dry_run: bool = False,
    actor: str | None = None,
    locked: bool = True,
) -> dict[str, Any]:
    """`commands install` (mode install) or `commands update`; with `actor` the change is
    recorded as an event (`init` records none, like the rest of the layout it creates).
    `locked` False skips the project lock: only for the first init of a project, which has
    no other writer yet and leaves no .sdlc/.lock behind. A command with nothing to write
    takes no lock either (a second init changes nothing)."""
    store.require_initialized()
    if dry_run or not locked:
        return _run(store, agents, mode, force, dry_run=dry_run, tx=None)
    preview = _run(store, agents, mode, force, dry_run=True, tx=None)
    if not preview["changed"]:  # nothing to write: no lock taken, no file touched
        return {**preview, "dry_run": False}
    from sdlc.transaction import Transaction

    with Transaction(store, actor or "sdlc") as tx:
        return _run(store, agents, mode, force, dry_run=False, tx=tx if actor else None)


def _run(
    store: Store, given: list[str] | None, mode: str, force: bool, dry_run: bool, tx: Any
) -> dict[str, Any]:
    root = store.root
    lock = read_lock(store)  # inside the lock when writing
    agents = given or default_agents(lock)
    steps = plan(survey(root, agents, lock), mode, force)
    recorded = _new_lock(lock, agents, steps)
    from sdlc._version import __version__

    lock_changes = recorded != lock["agents"] or (
        mode == "update" and lock["sdlc_version"] not in (None, __version__)
    )
    writes = [s for s in steps if s.action in ("create", "update", "remove")]
    if not dry_run:
        for step in writes:
            if step.action == "remove":
                _remove(root, step.entry.path)
            elif step.entry.content is not None:  # always, for create and update
                _write(root, step.entry.agent, step.entry.path, step.entry.content)
        if lock_changes:
            write_atomic(lock_path(store), yamlio.dumps(_lock_document(recorded)).encode("utf-8"))
        if tx is not None and writes:
            done = {
                a: [s.entry.path for s in writes if s.action == a] for a in ("create", "update", "remove")
            }
            tx.event(
                f"commands.{'installed' if mode == 'install' else 'updated'}",
                agents=agents,
                created=done["create"],
                updated=done["update"],
                removed=done["remove"],
            )
    return {
        "command": mode,
        "dry_run": dry_run,
        "agents": agents,
        "files": [_row(s) for s in steps if s.action != "forget"],
        "changed": bool(writes) or lock_changes,
    }


def status(store: Store, agents: list[str] | None) -> dict[str, Any]:
    """`commands check` and `commands list`: every file of the agents with its state."""
    from sdlc._version import __version__

    store.require_initialized()
    lock = read_lock(store)
    chosen = agents or default_agents(lock)
    entries = [e for e in survey(store.root, chosen, lock) if e.state != "gone"]
    files = [{"agent": e.agent, "path": e.path, "state": e.state} for e in entries]
    return {
        "agents": chosen,
        "sdlc_version": __version__,
        "lock_version": lock["sdlc_version"],
        "files": files,
        "ok": all(f["state"] == "ok" for f in files),
    }
