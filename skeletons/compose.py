"""Composition of a monorepo (docs/templates.md): components and architectures are added as
units under the monorepo root and removed again; every change re-assembles the slot files, so
adding then removing a unit returns the tree to its previous bytes."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from skeletons.environment import render_text
from skeletons.errors import CompositionRefused, UnitNotFound
from skeletons.registry import TEMPLATES_DIR, get_template
from skeletons.render import PlannedFile, context_for, plan_template, write_plan
from skeletons.safepath import safe_relative
from skeletons.slots import UnitView, scope_for
from skeletons.units import (
    ROOT_UNIT,
    load_views,
    lock_file,
    lock_path,
    outputs_of,
    read_lock,
    reassemble,
    sha256_of,
)
from skeletons.variables import SLUG, resolve_answers

ADDABLE_KINDS = ("component", "architecture")


def _monorepo(dest: Path, directory: Path) -> dict[str, UnitView]:
    if not (dest / lock_path(ROOT_UNIT)).is_file():
        raise CompositionRefused(
            f"{dest} is not a rendered monorepo: {lock_path(ROOT_UNIT)} is missing",
            hint="render one first: rdev templates render monorepo DEST --var project_name=NAME",
        )
    views = load_views(dest, directory)
    root = views[ROOT_UNIT]
    if root.template.manifest.kind != "monorepo":
        raise CompositionRefused(
            f"{dest} is a '{root.template.name}' project, not a monorepo: components go into a monorepo",
            hint="render one with: rdev templates render monorepo DEST --var project_name=NAME",
        )
    return views


def _unit_name(template_name: str, kind: str, answers: dict[str, Any], views: dict[str, UnitView]) -> str:
    name = str(answers.get("name", template_name)) if kind == "component" else template_name
    if not SLUG.fullmatch(name) or name == ROOT_UNIT:
        raise CompositionRefused(f"invalid unit name '{name}'", hint="pass --var name=SLUG (not 'root')")
    if name in views:
        hint = "choose another --var name=..." if kind == "component" else "it is already applied"
        raise CompositionRefused(f"a unit named '{name}' is already in the monorepo", hint=hint)
    return name


def _check_requires(template_name: str, requires: list[str], views: dict[str, UnitView]) -> None:
    present = {v.template.name for v in views.values()}
    missing = [r for r in requires if r not in present]
    if missing:
        raise CompositionRefused(
            f"'{template_name}' requires {', '.join(repr(m) for m in missing)} in the monorepo",
            hint=" then ".join(f"rdev templates add-component DEST {m}" for m in missing) + " first",
        )


def _in_the_way(dest: Path, files: list[PlannedFile]) -> list[str]:
    return [f.path for f in files if (dest / f.path).exists() or (dest / f.path).is_symlink()]


def add_component(
    dest: Path,
    template_name: str,
    given: Mapping[str, Any],
    *,
    force: bool = False,
    dry_run: bool = False,
    env: Mapping[str, str] | None = None,
    directory: Path = TEMPLATES_DIR,
) -> dict[str, Any]:
    """Render a component or architecture into the monorepo at `dest` as a new unit and
    re-assemble the slots."""
    views = _monorepo(dest, directory)
    template = get_template(template_name, directory)
    manifest = template.manifest
    if manifest.kind not in ADDABLE_KINDS:
        raise CompositionRefused(
            f"'{template_name}' is a {manifest.kind} template; only components and architectures are added",
            hint="see: rdev templates list",
        )
    _check_requires(template_name, manifest.requires, views)
    root = views[ROOT_UNIT]
    base_scope = scope_for("", "", root, list(views.values()))
    answers = resolve_answers(manifest, given, os.environ if env is None else env, base_scope)
    name = _unit_name(template_name, manifest.kind, answers, views)
    scope = scope_for(name, "", root, list(views.values()))
    path = ""
    if manifest.target:
        path = safe_relative(render_text(manifest.target, context_for(template, answers, scope), "target"))
    scope["unit"]["path"] = path
    files = plan_template(template, answers, path, scope)
    blocked = _in_the_way(dest, files)
    if blocked and not force:
        raise CompositionRefused(
            f"files of '{name}' already exist: {', '.join(blocked[:5])}"
            + (" ..." if len(blocked) > 5 else ""),
            hint="choose another --var name=..., remove them, or pass --force to overwrite",
        )
    view = UnitView(name, template, answers, path, outputs_of(template, answers, scope))
    hashes = {f.path: {"sha256": f.sha256, "ownership": f.ownership} for f in files}
    planned = [*files, lock_file(view, hashes, {})]
    views[name] = view
    planned = reassemble(dest, views, planned, read_lock(dest, ROOT_UNIT).get("files", {}), force)
    return _apply(dest, planned, [], dry_run, {"unit": name, "template": template_name, "path": path})


def remove_component(
    dest: Path, unit: str, *, force: bool = False, dry_run: bool = False, directory: Path = TEMPLATES_DIR
) -> dict[str, Any]:
    """Take unit `unit` out of the monorepo: its files (refused when edited, unless `force`),
    its lock and its contributions."""
    views = _monorepo(dest, directory)
    if unit == ROOT_UNIT:
        raise CompositionRefused("the root unit cannot be removed", hint="delete the directory instead")
    if unit not in views:
        known = ", ".join(n for n in views if n != ROOT_UNIT) or "none"
        raise UnitNotFound(f"no unit '{unit}' in {dest}", hint=f"units: {known}")
    removed = views.pop(unit)
    still_present = {v.template.name for v in views.values()}
    for other in views.values():
        if (
            removed.template.name in other.template.manifest.requires
            and removed.template.name not in still_present
        ):
            raise CompositionRefused(
                f"'{other.name}' requires a '{removed.template.name}' unit",
                hint=f"remove '{other.name}' first: rdev templates remove-component DEST {other.name}",
            )
    lock = read_lock(dest, unit)
    files: dict[str, dict[str, str]] = lock.get("files", {})
    edited = sorted(p for p, e in files.items() if sha256_of(dest / p) not in (e.get("sha256"), None))
    if edited and not force:
        raise CompositionRefused(
            f"files of '{unit}' were edited: {', '.join(edited[:5])}" + (" ..." if len(edited) > 5 else ""),
            hint="pass --force to delete them anyway",
        )
    planned = reassemble(dest, views, [], read_lock(dest, ROOT_UNIT).get("files", {}), force)
    remove = [*sorted(p for p in files if (dest / p).exists()), lock_path(unit)]
    return _apply(dest, planned, remove, dry_run, {"unit": unit, "template": removed.template.name})


def _apply(
    dest: Path, planned: list[PlannedFile], remove: list[str], dry_run: bool, result: dict[str, Any]
) -> dict[str, Any]:
    write = [f for f in planned if sha256_of(dest / f.path) != f.sha256]
    if dry_run:
        actions = [
            {
                "path": f.path,
                "action": "create" if not (dest / f.path).exists() else "overwrite",
                "ownership": f.ownership,
            }
            for f in write
        ]
        actions += [{"path": p, "action": "delete", "ownership": "managed"} for p in remove]
    else:
        actions = write_plan(dest, write, remove)
    return {**result, "dest": str(dest), "files": actions}
