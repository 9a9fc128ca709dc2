"""Applied templates ("units") and their lock files: render, update and drift check
(spec/skeletons.md). A unit's lock, `.skeletons/<unit>.lock.yaml`, records the template name
and version, the answers (never a secret), the outputs and the SHA-256 of every file; the
root lock of a monorepo also records its assembled slots (docs/templates.md)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from skeletons import yamlfast
from skeletons.environment import render_text
from skeletons.errors import SkeletonError, SlotEdited, UnitNotFound
from skeletons.registry import TEMPLATES_DIR, Template, get_template
from skeletons.render import PlannedFile, check_destination, context_for, plan_template, write_plan
from skeletons.slots import UnitView, assemble, digest, scope_for
from skeletons.variables import resolve_answers, storable

LOCK_DIR = ".skeletons"
ROOT_UNIT = "root"


def lock_path(unit: str) -> str:
    return f"{LOCK_DIR}/{unit}.lock.yaml"


def sha256_of(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def outputs_of(template: Template, answers: dict[str, Any], scope: dict[str, Any] | None) -> dict[str, str]:
    context = context_for(template, answers, scope)
    return {k: render_text(v, context, f"output {k}") for k, v in template.manifest.outputs.items()}


def lock_file(view: UnitView, files: dict[str, dict[str, str]], extra: dict[str, Any]) -> PlannedFile:
    lock = {
        "unit": view.name,
        "template": view.template.name,
        "kind": view.template.manifest.kind,
        "version": view.template.manifest.version,
        "prefix": view.path,
        "answers": storable(view.template.manifest, view.answers),
        "outputs": view.outputs,
        "files": dict(sorted(files.items())),
        **extra,
    }
    text = yamlfast.dump(lock, sort_keys=False, allow_unicode=True)
    return PlannedFile(lock_path(view.name), text.encode(), "managed", "")


def read_lock(dest: Path, unit: str) -> dict[str, Any]:
    path = dest / lock_path(unit)
    try:
        data = yamlfast.load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        known = ", ".join(units(dest)) or "none"
        raise UnitNotFound(
            f"no unit '{unit}' in {dest}: {lock_path(unit)} is missing", hint=f"units here: {known}"
        ) from None
    except yaml.YAMLError as err:
        raise SkeletonError(f"corrupt lock file {path}: {err}") from err
    if not isinstance(data, dict) or "template" not in data:
        raise SkeletonError(f"corrupt lock file {path}: not a lock")
    return data


def units(dest: Path) -> list[str]:
    return sorted(p.name[: -len(".lock.yaml")] for p in (dest / LOCK_DIR).glob("*.lock.yaml"))


def load_views(dest: Path, directory: Path = TEMPLATES_DIR) -> dict[str, UnitView]:
    """Every unit of `dest` as it was applied (stored answers, current template)."""
    views = {}
    for name in units(dest):
        lock = read_lock(dest, name)
        views[name] = UnitView(
            name,
            get_template(lock["template"], directory),
            dict(lock.get("answers") or {}),
            lock.get("prefix") or "",
            dict(lock.get("outputs") or {}),
        )
    return views


def _current(dest: Path, planned: list[PlannedFile]) -> Any:
    staged = {f.path: f.data for f in planned}

    def current(path: str) -> bytes | None:
        if path in staged:
            return staged[path]
        try:
            return (dest / path).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    return current


def slot_drift(dest: Path, root: dict[str, Any], template: Template) -> list[str]:
    """Slot files whose assembled content was edited since the last assembly."""
    edited = []
    for name, entry in sorted((root.get("slots") or {}).items()):
        slot = template.manifest.slots.get(name)
        if slot is None:
            continue
        path = dest / entry["target"]
        data = path.read_bytes() if path.is_file() else b""
        if digest(name, slot, data) != entry.get("sha256"):
            edited.append(entry["target"])
    return edited


def reassemble(
    dest: Path,
    views: dict[str, UnitView],
    planned: list[PlannedFile],
    root_files: dict[str, dict[str, str]],
    force: bool,
) -> list[PlannedFile]:
    """`planned` plus the slot files and root lock of a monorepo made of `views`; refuses to
    overwrite a slot file edited by hand unless `force`."""
    root = views[ROOT_UNIT]
    if not root.template.manifest.slots:
        return planned
    if not force and (dest / lock_path(ROOT_UNIT)).is_file():
        edited = slot_drift(dest, read_lock(dest, ROOT_UNIT), root.template)
        if edited:
            raise SlotEdited(
                f"assembled files were edited by hand: {', '.join(edited)}",
                hint="move the change into a template's fragment, or pass --force to overwrite",
            )
    ordered = [views[n] for n in sorted(views)]
    slot_files, record = assemble(root, ordered, _current(dest, planned))
    slot_paths = {f.path for f in slot_files}
    root_lock = lock_file(root, root_files, {"slots": record})
    kept = [f for f in planned if f.path not in slot_paths and f.path != root_lock.path]
    return [*kept, *slot_files, root_lock]


def render(
    name: str,
    dest: Path,
    given: Mapping[str, Any],
    *,
    dry_run: bool = False,
    force: bool = False,
    unit: str = ROOT_UNIT,
    prefix: str = "",
    env: Mapping[str, str] | None = None,
    directory: Path = TEMPLATES_DIR,
    scope: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Render template `name` into `dest` (refused when `dest` is not empty, unless `force`).
    `scope` is the unit's place in a monorepo (docs/templates.md); a monorepo's slots are
    assembled from its own contributions."""
    template = get_template(name, directory)
    answers = resolve_answers(template.manifest, given, os.environ if env is None else env, scope)
    files = plan_template(template, answers, prefix, scope)
    hashes = {f.path: {"sha256": f.sha256, "ownership": f.ownership} for f in files}
    view = UnitView(unit, template, answers, prefix, outputs_of(template, answers, scope))
    planned = [*files, lock_file(view, hashes, {})]
    if unit == ROOT_UNIT and template.manifest.slots:
        planned = reassemble(dest, {ROOT_UNIT: view}, planned, hashes, force=True)
    check_destination(dest, force)
    result: dict[str, Any] = {
        "template": template.name,
        "version": template.manifest.version,
        "dest": str(dest),
    }
    if dry_run:
        result["files"] = [{"path": f.path, "action": "create", "ownership": f.ownership} for f in planned]
    else:
        result["files"] = write_plan(dest, planned)
    result["outputs"] = view.outputs
    return result


def plan_unit_update(
    dest: Path, lock: dict[str, Any], planned: list[PlannedFile], force: bool
) -> tuple[list[PlannedFile], list[str], dict[str, dict[str, str]], list[dict[str, str]]]:
    """What an update of one unit writes, removes, records and keeps: unedited managed files
    are rewritten, edited ones left alone and reported (`force` overwrites), seeded files never
    touched, files no longer produced removed when unedited."""
    old: dict[str, dict[str, str]] = lock.get("files", {})
    write: list[PlannedFile] = []
    report: list[dict[str, str]] = []
    recorded: dict[str, dict[str, str]] = {}
    for new in planned:
        before = old.get(new.path)
        current = sha256_of(dest / new.path)
        entry = {"sha256": new.sha256, "ownership": new.ownership}
        if before and before.get("ownership") == "seeded":
            recorded[new.path] = before
            report.append({"path": new.path, "action": "kept", "reason": "seeded"})
        elif (current is None and before is None) or current == (before or {}).get("sha256") or force:
            recorded[new.path] = entry
            if current != new.sha256:
                write.append(new)
        elif current == new.sha256:
            recorded[new.path] = entry
        else:
            recorded[new.path] = before or entry
            report.append({"path": new.path, "action": "kept", "reason": "edited" if before else "exists"})
    remove = []
    produced = {f.path for f in planned}
    for path, before in old.items():
        if path in produced:
            continue
        if sha256_of(dest / path) in (before.get("sha256"), None) or force:
            remove.append(path)
        else:
            recorded[path] = before
            report.append({"path": path, "action": "kept", "reason": "edited, no longer produced"})
    return write, remove, recorded, report


def update(
    dest: Path,
    unit: str = ROOT_UNIT,
    given: Mapping[str, Any] | None = None,
    *,
    force: bool = False,
    dry_run: bool = False,
    env: Mapping[str, str] | None = None,
    directory: Path = TEMPLATES_DIR,
) -> dict[str, Any]:
    """Re-render a unit with its template's current version (see plan_unit_update); in a
    monorepo the slots are re-assembled."""
    lock = read_lock(dest, unit)
    views = load_views(dest, directory)
    view = views[unit]
    root = views.get(ROOT_UNIT)
    scope = scope_for(unit, view.path, root if unit != ROOT_UNIT else None, list(views.values()))
    answers = resolve_answers(
        view.template.manifest,
        {**lock.get("answers", {}), **(given or {})},
        os.environ if env is None else env,
        scope,
    )
    planned = plan_template(view.template, answers, view.path, scope)
    write, remove, recorded, report = plan_unit_update(dest, lock, planned, force)
    view = UnitView(unit, view.template, answers, view.path, outputs_of(view.template, answers, scope))
    views[unit] = view
    write.append(lock_file(view, recorded, {}))
    if root is not None:
        root_files = recorded if unit == ROOT_UNIT else read_lock(dest, ROOT_UNIT).get("files", {})
        write = [f for f in reassemble(dest, views, write, root_files, force) if _changes(dest, f)]
    actions = [{"path": f.path, "action": "write", "ownership": f.ownership} for f in write]
    actions += [{"path": p, "action": "delete", "ownership": "managed"} for p in remove]
    if not dry_run:
        actions = write_plan(dest, write, remove)
    return {
        "unit": unit,
        "template": view.template.name,
        "from_version": lock.get("version"),
        "to_version": view.template.manifest.version,
        "files": actions,
        "kept": report,
    }


def _changes(dest: Path, planned: PlannedFile) -> bool:
    return sha256_of(dest / planned.path) != planned.sha256


def check(dest: Path, directory: Path = TEMPLATES_DIR) -> list[dict[str, str]]:
    """Every unit behind its template's version, every managed file that drifted and every
    assembled slot edited by hand."""
    findings = []
    for unit in units(dest):
        lock = read_lock(dest, unit)
        template = get_template(lock["template"], directory)
        if lock.get("version") != template.manifest.version:
            behind = f"behind: {lock.get('version')} < {template.manifest.version}"
            findings.append({"unit": unit, "path": lock_path(unit), "problem": behind})
        for path, entry in sorted(lock.get("files", {}).items()):
            if entry.get("ownership") == "managed" and sha256_of(dest / path) != entry.get("sha256"):
                problem = "missing" if not (dest / path).exists() else "drifted"
                findings.append({"unit": unit, "path": path, "problem": problem})
        if unit == ROOT_UNIT:
            findings += [
                {"unit": unit, "path": path, "problem": "edited"} for path in slot_drift(dest, lock, template)
            ]
    return findings
