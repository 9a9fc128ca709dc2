"""`sdlc init --platform NAME` (spec/sdlc.md §1, §6 `platform.commands`): the skeletons template
of kind `platform` named NAME, rendered with its default answers into the project root (a file
that already exists is never overwritten: the scripts are the team's once written), and its
contribution to slot `platform` merged under `platform:` in `.sdlc/config.yaml` (a command of
the same name already configured is kept)."""

from __future__ import annotations

import os
from typing import Any

from sdlc import yamlio
from sdlc.atomic import write_atomic
from sdlc.errors import ConfigInvalid, InvalidValue, SdlcError
from sdlc.store import Store

PLATFORM_KIND = "platform"
SLOT = "platform"


def platform_names() -> list[str]:
    from skeletons.registry import list_templates

    return [t.name for t in list_templates(kind=PLATFORM_KIND)]


def load_preset(name: str) -> Any:
    """The platform template `name` (a skeletons Template); unknown names are refused."""
    from skeletons.registry import get_template

    known = platform_names()
    if name not in known:
        raise InvalidValue(
            f"invalid value: unknown platform '{name}'", hint=f"platforms: {', '.join(known) or 'none'}"
        )
    return get_template(name)


def _rendered(template: Any) -> tuple[list[Any], str, dict[str, Any]]:
    """The preset's files, and its `platform` contribution as text and as a mapping."""
    from skeletons.environment import render_text
    from skeletons.errors import SkeletonError
    from skeletons.render import context_for, plan_template
    from skeletons.variables import resolve_answers

    where = f"platform preset '{template.name}'"
    try:
        answers = resolve_answers(template.manifest, {}, {})
        files = plan_template(template, answers)
        contributions = [c for c in template.manifest.contributes if c.slot == SLOT]
        if not contributions:
            raise SdlcError(f"{where} contributes nothing to slot '{SLOT}'")
        source = contributions[0].template
        text = (template.contrib_dir / source).read_text(encoding="utf-8")
        rendered = render_text(text, context_for(template, answers), source)
    except SkeletonError as err:
        raise SdlcError(f"cannot render {where}: {err.message}", hint=err.hint) from err
    import yaml

    try:
        mapping = yamlio.loads(rendered.encode("utf-8"))
    except yaml.YAMLError as err:
        raise SdlcError(f"{where} renders invalid YAML for slot '{SLOT}'") from err
    if not isinstance(mapping, dict) or not isinstance(mapping.get("commands", {}), dict):
        raise SdlcError(f"{where} renders no `commands` mapping for slot '{SLOT}'")
    return files, rendered, mapping


def _executable(path: str) -> bool:
    return path.endswith(".sh") or "/bin/" in f"/{path}"  # as skeletons.render.write_plan


def _write_files(store: Store, files: list[Any], write: bool) -> tuple[list[str], list[dict[str, str]]]:
    """The files created (with `write` False: to create) and those kept."""
    created, kept = [], []
    for planned in files:
        target = store.root / planned.path
        if target.exists() or target.is_symlink():
            if not target.is_file() or target.read_bytes() != planned.data:
                kept.append({"path": planned.path, "reason": "exists: left as it is (not overwritten)"})
            continue
        if write:
            write_atomic(target, planned.data)
            if _executable(planned.path):
                os.chmod(target, 0o755)
        created.append(planned.path)
    return created, kept


def _config(store: Store) -> tuple[str, dict[str, Any]]:
    import yaml

    path = store.paths.config
    try:
        raw = path.read_bytes()
        text, data = raw.decode("utf-8"), yamlio.loads(raw)
    except FileNotFoundError:
        return "", {}
    except (OSError, ValueError, yaml.YAMLError) as err:
        raise ConfigInvalid("cannot read .sdlc/config.yaml") from err
    if data is None:
        return text, {}
    if not isinstance(data, dict):
        raise ConfigInvalid(".sdlc/config.yaml is not a mapping")
    return text, data


def _merge(data: dict[str, Any], preset: dict[str, Any]) -> tuple[dict[str, Any], list[str], list[str], bool]:
    """`platform:` of `data` with the preset merged in; the names added and kept, and
    whether anything changed."""
    current = data.get("platform")
    if current is None:
        current = {}
    if not isinstance(current, dict) or not isinstance(current.get("commands") or {}, dict):
        raise ConfigInvalid("`platform.commands` in .sdlc/config.yaml is not a mapping")
    merged = dict(current)
    commands = dict(current.get("commands") or {})
    added, kept = [], []
    for name, spec in preset.get("commands", {}).items():
        if name not in commands:
            commands[name] = spec
            added.append(name)
        elif commands[name] != spec:
            kept.append(name)
    changed = bool(added)
    for key, value in preset.items():
        if key != "commands" and key not in merged:
            merged[key] = value
            changed = True
    if commands or "commands" in merged:
        merged["commands"] = commands
    return merged, added, kept, changed


def _config_text(text: str, data: dict[str, Any], merged: dict[str, Any], rendered: str) -> str:
    """The new config.yaml. With no `platform:` key yet, the rendered contribution (comments
    included) is appended as it is, keeping the user's own comments; otherwise the merged
    document is written out."""
    expected = {**data, "platform": merged}
    if "platform" not in data:
        block = "".join(f"  {line}" if line.strip() else line for line in rendered.splitlines(keepends=True))
        head = text if not text or text.endswith("\n") else text + "\n"
        candidate = f"{head}platform:\n{block}"
        if not candidate.endswith("\n"):
            candidate += "\n"
        import yaml

        try:
            if yamlio.loads(candidate.encode("utf-8")) == expected:
                return candidate
        except yaml.YAMLError:
            pass
    return yamlio.dumps(expected)


def _apply(
    store: Store, template: Any, rendered: tuple[list[Any], str, dict[str, Any]], write: bool
) -> dict[str, Any]:
    files, text_rendered, preset = rendered
    text, data = _config(store)  # a config that cannot take the preset fails before any write
    merged, added, kept_commands, changed = _merge(data, preset)
    created, kept = _write_files(store, files, write)
    if changed and write:
        write_atomic(store.paths.config, _config_text(text, data, merged, text_rendered).encode("utf-8"))
    return {
        "name": template.name,
        "version": template.manifest.version,
        "created": created,
        "kept": kept,
        "config_updated": changed,
        "commands_added": added,
        "commands_kept": kept_commands,
    }


def install_platform(store: Store, template: Any, locked: bool = True) -> dict[str, Any]:
    """Render the preset into the project and merge its commands into the config, under the
    project lock unless `locked` is False (the first init of a project, see
    agent_commands.apply_commands); when everything is in place already, nothing is written
    and no lock taken. Returns what was created, kept and added."""
    from sdlc.transaction import Transaction

    rendered = _rendered(template)
    if not locked:
        return _apply(store, template, rendered, write=True)
    preview = _apply(store, template, rendered, write=False)
    if not (preview["created"] or preview["config_updated"]):
        return preview
    with Transaction(store, "sdlc"):
        return _apply(store, template, rendered, write=True)
