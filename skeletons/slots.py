"""Slot assembly (docs/templates.md): the files a monorepo offers as slots are built from its
base templates and the fragments every unit contributes, sorted by order then unit name, so
that the same set of units always gives the same bytes."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from skeletons import yamlfast
from skeletons.environment import evaluate, render_text
from skeletons.errors import RenderFailed
from skeletons.manifest import Slot
from skeletons.registry import Template
from skeletons.render import PlannedFile, context_for
from skeletons.safepath import safe_relative


@dataclass(frozen=True)
class UnitView:
    """An applied template as assembly sees it."""

    name: str
    template: Template
    answers: dict[str, Any]
    path: str
    outputs: dict[str, str]


def scope_for(unit_name: str, path: str, root: UnitView | None, units: list[UnitView]) -> dict[str, Any]:
    """The `unit`, `project` and `units` a unit's templates see."""
    scope: dict[str, Any] = {
        "unit": {"name": unit_name, "path": path},
        "units": {
            u.name: {"template": u.template.name, "path": u.path, "answers": u.answers, "outputs": u.outputs}
            for u in units
        },
    }
    if root is not None:
        scope["project"] = root.answers
    return scope


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- skeletons:slot {name} -->", f"<!-- /skeletons:slot {name} -->"


def _section(name: str, text: str) -> tuple[str, str, str] | None:
    """(before, inside, after) of slot `name`'s markers in `text`, or None without markers."""
    begin, end = _markers(name)
    match = re.search(re.escape(begin) + r"\n?(.*?)" + re.escape(end), text, re.S)
    if match is None:
        return None
    return text[: match.start()], match.group(1), text[match.end() :]


def digest(name: str, slot: Slot, data: bytes) -> str:
    """What the root lock records of a slot: the hash of its section (markdown-section) or of
    the whole file."""
    if slot.format == "markdown-section":
        parts = _section(name, data.decode("utf-8", "replace"))
        data = (parts[1] if parts else "").encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def _fragments(name: str, root: UnitView, units: list[UnitView]) -> list[str]:
    found: list[tuple[int, str, int, str]] = []
    for unit in units:
        context = context_for(unit.template, unit.answers, scope_for(unit.name, unit.path, root, units))
        for index, contribution in enumerate(unit.template.manifest.contributes):
            if contribution.slot != name:
                continue
            where = f"contribution of '{unit.template.name}' to slot {name}"
            if contribution.when and not evaluate(contribution.when, context, where):
                continue
            source = unit.template.contrib_dir / safe_relative(contribution.template)
            try:
                text = source.read_text(encoding="utf-8")
            except OSError as err:
                raise RenderFailed(f"{where}: cannot read {source}: {err}") from err
            fragment = render_text(text, context, f"{unit.template.name}/contrib/{contribution.template}")
            found.append((contribution.order, unit.name, index, fragment))
    return [fragment for *_, fragment in sorted(found, key=lambda item: item[:3])]


def _leading_comments(text: str) -> str:
    lines = []
    for line in text.splitlines(keepends=True):
        if not line.startswith("#"):
            break
        lines.append(line)
    return "".join(lines)


def _node(document: Any, key: str | None, default: Any, where: str) -> Any:
    """The node at dotted `key` (created as `default` when absent)."""
    if not key:
        return document
    parent = document
    parts = key.split(".")
    for part in parts[:-1]:
        parent = parent.setdefault(part, {})
    if not isinstance(parent, dict):
        raise RenderFailed(f"{where}: '{key}' is not under a mapping")
    if parent.get(parts[-1]) is None:
        parent[parts[-1]] = default
    return parent[parts[-1]]


def _deep_merge(into: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        else:
            into[key] = value


def _load_yaml(text: str, where: str) -> Any:
    try:
        return yamlfast.load(text)
    except yaml.YAMLError as err:
        raise RenderFailed(f"{where} is not valid YAML: {err}") from err


def _structured(name: str, slot: Slot, base: str, fragments: list[str]) -> str:
    where = f"slot {name} ({slot.target})"
    document = _load_yaml(base, f"the base of {where}") if base.strip() else {}
    if not isinstance(document, dict) and slot.key:
        raise RenderFailed(f"the base of {where} is not a mapping")
    if slot.format == "yaml-list":
        node = _node(document, slot.key, [], where)
        for fragment in fragments:
            value = _load_yaml(fragment, f"a fragment of {where}")
            if value is not None:
                node.extend(value if isinstance(value, list) else [value])
    else:
        node = _node(document, slot.key, {}, where)
        for fragment in fragments:
            value = _load_yaml(fragment, f"a fragment of {where}")
            if value is None:
                continue
            if not isinstance(value, dict):
                raise RenderFailed(f"a fragment of {where} is not a mapping")
            _deep_merge(node, value)
    if slot.target.endswith(".json"):
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return _leading_comments(base) + _dump_yaml(document)


class _IndentedDumper(yaml.SafeDumper):
    """Indents sequences under their key, as people write YAML by hand."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _dump_yaml(document: Any) -> str:
    """A blank line between top-level keys, like a hand-written file."""

    def dump(value: Any) -> str:
        return yaml.dump(
            value,
            Dumper=_IndentedDumper,
            sort_keys=False,
            allow_unicode=True,
            default_flow_style=False,
            width=100,
        )

    if not isinstance(document, dict) or not document:
        return dump(document)
    return "\n".join(dump({key: value}) for key, value in document.items())


def _lines(base: str, fragments: list[str]) -> str:
    seen = set(base.splitlines())
    added = []
    for fragment in fragments:
        for line in fragment.splitlines():
            if line.strip() and line not in seen:
                seen.add(line)
                added.append(line)
    text = base if not base or base.endswith("\n") else base + "\n"
    return text + "".join(f"{line}\n" for line in added)


def _markdown(name: str, base: str, fragments: list[str]) -> str:
    inner = "\n".join(f.strip("\n") + "\n" for f in fragments if f.strip())
    begin, end = _markers(name)
    parts = _section(name, base)
    if parts is None:
        separator = "" if not base or base.endswith("\n\n") else ("\n" if base.endswith("\n") else "\n\n")
        return f"{base}{separator}{begin}\n{inner}{end}\n"
    before, _, after = parts
    return f"{before}{begin}\n{inner}{end}{after}"


def assemble(
    root: UnitView, units: list[UnitView], current: Callable[[str], bytes | None]
) -> tuple[list[PlannedFile], dict[str, dict[str, str]]]:
    """The slot files of `root`'s template given `units` (root included), and the record the
    root lock keeps of them. `current(path)` gives a target's present bytes (markdown
    sections are replaced inside the user's file)."""
    produced: dict[str, bytes] = {}  # two markdown slots may share a target
    record = {}
    context = context_for(root.template, root.answers, scope_for(root.name, root.path, root, units))
    for name, slot in sorted(root.template.manifest.slots.items()):
        target = safe_relative(slot.target)
        if slot.base:
            source = root.template.contrib_dir / safe_relative(slot.base)
            base = render_text(
                source.read_text(encoding="utf-8"), context, f"{root.template.name}/contrib/{slot.base}"
            )
        else:
            existing = produced[target] if target in produced else current(target)
            base = existing.decode("utf-8") if existing is not None else ""
        fragments = _fragments(name, root, units)
        if slot.format == "markdown-section":
            text = _markdown(name, base, fragments)
        elif slot.format == "lines":
            text = _lines(base, fragments)
        else:
            text = _structured(name, slot, base, fragments)
        data = text.encode("utf-8")
        produced[target] = data
        record[name] = {"target": target, "sha256": digest(name, slot, data)}
    planned = [PlannedFile(path, data, "managed", "slots") for path, data in sorted(produced.items())]
    return planned, record
