"""Plan first, then write (spec/skeletons.md "Rendering rules"): every file is rendered in
memory and every path checked before the first write; writing goes through a temporary
directory moved into place, so a failure leaves nothing half made."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from skeletons.environment import evaluate, render_text
from skeletons.errors import DestinationNotEmpty, RenderFailed, UnsafePath
from skeletons.manifest import FileRule
from skeletons.registry import Template
from skeletons.safepath import inside, safe_relative

TEMPLATE_SUFFIX = ".j2"
DEFAULT_RULE = FileRule(path="**")


@dataclass(frozen=True)
class PlannedFile:
    path: str  # relative to the destination, POSIX
    data: bytes
    ownership: str  # managed | seeded
    source: str  # relative to the template's files/ directory

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@cache
def _glob_regex(pattern: str) -> re.Pattern[str]:
    parts = []
    for piece in re.split(r"(\*\*/|\*\*|\*|\?)", pattern):
        if piece == "**/":
            parts.append(r"(?:.*/)?")
        elif piece == "**":
            parts.append(r".*")
        elif piece == "*":
            parts.append(r"[^/]*")
        elif piece == "?":
            parts.append(r"[^/]")
        else:
            parts.append(re.escape(piece))
    return re.compile("".join(parts))


def glob_match(path: str, pattern: str) -> bool:
    """Glob with `**` spanning directories and `*` staying inside one."""
    return _glob_regex(pattern).fullmatch(path) is not None


def _sources(template: Template) -> list[str]:
    """The template's files, sorted; a symlink in a template is refused (it could point anywhere)."""
    root = template.files_dir
    if not root.is_dir():
        return []
    found = []
    for directory, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted([*filenames, *[d for d in dirnames if (Path(directory) / d).is_symlink()]]):
            full = Path(directory) / name
            if full.is_symlink():
                raise UnsafePath(f"template '{template.name}' holds a symlink: {full.relative_to(root)}")
            found.append(full.relative_to(root).as_posix())
    return found


def context_for(
    template: Template, answers: dict[str, Any], scope: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What a template's files, outputs and conditions see: its answers, `template`, and the
    unit's `scope` (`unit`, `project`, `units`; docs/templates.md). On its own a template is
    the root unit of its project."""
    manifest = template.manifest
    standalone = {"unit": {"name": "root", "path": ""}, "project": answers, "units": {}}
    return {
        **standalone,
        **(scope or {}),
        **answers,
        "template": {"name": manifest.name, "version": manifest.version},
    }


def plan_template(
    template: Template, answers: dict[str, Any], prefix: str = "", scope: dict[str, Any] | None = None
) -> list[PlannedFile]:
    """Every file `template` produces with `answers`, under `prefix`, rendered in memory."""
    context = context_for(template, answers, scope)
    planned: dict[str, PlannedFile] = {}
    for source in _sources(template):
        rule = next((r for r in template.manifest.files if glob_match(source, r.path)), DEFAULT_RULE)
        if rule.when and not evaluate(rule.when, context, f"the `when` of files rule {rule.path!r}"):
            continue
        name = source[: -len(TEMPLATE_SUFFIX)] if source.endswith(TEMPLATE_SUFFIX) else source
        rendered_name = render_text(name, context, f"the path {source!r}") if "{" in name else name
        if not rendered_name or rendered_name.endswith("/") or "//" in rendered_name:
            continue  # a name that renders empty is how a template leaves a file out
        path = safe_relative(f"{prefix.rstrip('/')}/{rendered_name}" if prefix else rendered_name)
        raw = (template.files_dir / source).read_bytes()
        if rule.render:
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise RenderFailed(f"{source} is not UTF-8 text; mark it `render: false`") from err
            data = render_text(text, context, source).encode("utf-8")
        else:
            data = raw
        if path in planned:
            raise RenderFailed(f"two template files render to {path}: {planned[path].source} and {source}")
        planned[path] = PlannedFile(path, data, rule.ownership, source)
    return sorted(planned.values(), key=lambda f: f.path)


def check_destination(dest: Path, force: bool) -> None:
    if dest.exists() and not dest.is_dir():
        raise DestinationNotEmpty(f"destination {dest} exists and is not a directory")
    if dest.is_dir() and any(dest.iterdir()) and not force:
        raise DestinationNotEmpty(
            f"destination {dest} exists and is not empty", hint="choose another directory, or pass --force"
        )


def write_plan(
    dest: Path, files: list[PlannedFile], remove: tuple[str, ...] | list[str] = ()
) -> list[dict[str, str]]:
    """Write `files` (and delete `remove`) under `dest`; returns what happened to each path.
    Everything is staged in a temporary directory first; a new destination is moved into
    place in one rename."""
    for planned in files:
        inside(dest, planned.path)
    for path in remove:
        inside(dest, path)
    actions = []
    for planned in files:
        target = dest / planned.path
        if not target.exists():
            action = "create"
        elif target.read_bytes() == planned.data:
            action = "unchanged"
        else:
            action = "overwrite"
        actions.append({"path": planned.path, "action": action, "ownership": planned.ownership})
    actions += [{"path": p, "action": "delete", "ownership": "managed"} for p in remove]
    dest.parent.mkdir(parents=True, exist_ok=True)
    stage = dest.parent / f".{dest.name}.rendering-{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    try:
        for planned in files:
            staged = stage / planned.path
            staged.parent.mkdir(parents=True, exist_ok=True)
            staged.write_bytes(planned.data)
            source_mode = 0o755 if planned.path.endswith((".sh",)) or "/bin/" in f"/{planned.path}" else 0o644
            staged.chmod(source_mode)
        if not dest.exists():
            os.rename(stage, dest)
        else:
            for planned in files:
                target = dest / planned.path
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(stage / planned.path, target)
            for path in remove:
                (dest / path).unlink(missing_ok=True)
                _prune_empty(dest, (dest / path).parent)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return actions


def _prune_empty(dest: Path, directory: Path) -> None:
    while directory != dest and directory.is_dir() and not any(directory.iterdir()):
        directory.rmdir()
        directory = directory.parent
