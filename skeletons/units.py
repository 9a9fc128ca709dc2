"""Applied templates ("units") and their lock files: render, update and drift check
(spec/skeletons.md). A unit's lock, `.skeletons/<unit>.lock.yaml`, records the template name
and version, the answers (never a secret), the outputs and the SHA-256 of every file."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from skeletons.environment import render_text
from skeletons.errors import SkeletonError
from skeletons.registry import TEMPLATES_DIR, Template, get_template
from skeletons.render import PlannedFile, check_destination, context_for, plan_template, write_plan
from skeletons.variables import resolve_answers, storable

LOCK_DIR = ".skeletons"
ROOT_UNIT = "root"


def lock_path(unit: str) -> str:
    return f"{LOCK_DIR}/{unit}.lock.yaml"


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except (FileNotFoundError, IsADirectoryError):
        return None


def _outputs(
    template: Template, answers: dict[str, Any], scope: dict[str, Any] | None = None
) -> dict[str, str]:
    context = context_for(template, answers, scope)
    return {k: render_text(v, context, f"output {k}") for k, v in template.manifest.outputs.items()}


def _lock_file(
    template: Template, unit: str, prefix: str, answers: dict[str, Any], files: dict[str, dict[str, str]]
) -> PlannedFile:
    lock = {
        "unit": unit,
        "template": template.name,
        "kind": template.manifest.kind,
        "version": template.manifest.version,
        "prefix": prefix,
        "answers": storable(template.manifest, answers),
        "outputs": _outputs(template, answers),
        "files": dict(sorted(files.items())),
    }
    text = yaml.safe_dump(lock, sort_keys=False, allow_unicode=True)
    return PlannedFile(lock_path(unit), text.encode(), "managed", "")


def read_lock(dest: Path, unit: str) -> dict[str, Any]:
    path = dest / lock_path(unit)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SkeletonError(f"no unit '{unit}' in {dest}: {lock_path(unit)} is missing") from None
    except yaml.YAMLError as err:
        raise SkeletonError(f"corrupt lock file {path}: {err}") from err
    if not isinstance(data, dict) or "template" not in data:
        raise SkeletonError(f"corrupt lock file {path}: not a lock")
    return data


def units(dest: Path) -> list[str]:
    return sorted(p.name[: -len(".lock.yaml")] for p in (dest / LOCK_DIR).glob("*.lock.yaml"))


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
    `scope` is the unit's place in a monorepo (docs/templates.md)."""
    template = get_template(name, directory)
    answers = resolve_answers(template.manifest, given, os.environ if env is None else env, scope)
    files = plan_template(template, answers, prefix, scope)
    hashes = {f.path: {"sha256": f.sha256, "ownership": f.ownership} for f in files}
    planned = [*files, _lock_file(template, unit, prefix, answers, hashes)]
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
    result["outputs"] = _outputs(template, answers, scope)
    return result


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
    """Re-render a unit with its template's current version: unedited managed files are
    rewritten, edited ones left alone and reported (`force` overwrites), seeded files never
    touched, files no longer produced removed when unedited."""
    lock = read_lock(dest, unit)
    template = get_template(lock["template"], directory)
    answers = resolve_answers(
        template.manifest, {**lock.get("answers", {}), **(given or {})}, os.environ if env is None else env
    )
    old: dict[str, dict[str, str]] = lock.get("files", {})
    planned = plan_template(template, answers, lock.get("prefix", ""))
    write: list[PlannedFile] = []
    report: list[dict[str, str]] = []
    recorded: dict[str, dict[str, str]] = {}
    for new in planned:
        before = old.get(new.path)
        current = _sha256(dest / new.path)
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
        if _sha256(dest / path) in (before.get("sha256"), None) or force:
            remove.append(path)
        else:
            recorded[path] = before
            report.append({"path": path, "action": "kept", "reason": "edited, no longer produced"})
    write.append(_lock_file(template, unit, lock.get("prefix", ""), answers, recorded))
    actions = [{"path": f.path, "action": "write", "ownership": f.ownership} for f in write]
    actions += [{"path": p, "action": "delete", "ownership": "managed"} for p in remove]
    if not dry_run:
        actions = write_plan(dest, write, remove)
    return {
        "unit": unit,
        "template": template.name,
        "from_version": lock.get("version"),
        "to_version": template.manifest.version,
        "files": actions,
        "kept": report,
    }


def check(dest: Path, directory: Path = TEMPLATES_DIR) -> list[dict[str, str]]:
    """Every unit behind its template's version and every managed file that drifted."""
    findings = []
    for unit in units(dest):
        lock = read_lock(dest, unit)
        template = get_template(lock["template"], directory)
        if lock.get("version") != template.manifest.version:
            findings.append(
                {
                    "unit": unit,
                    "path": lock_path(unit),
                    "problem": f"behind: {lock.get('version')} < {template.manifest.version}",
                }
            )
        for path, entry in sorted(lock.get("files", {}).items()):
            if entry.get("ownership") == "managed" and _sha256(dest / path) != entry.get("sha256"):
                problem = "missing" if not (dest / path).exists() else "drifted"
                findings.append({"unit": unit, "path": path, "problem": problem})
    return findings
