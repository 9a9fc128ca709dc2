"""Where templates live: `skeletons/templates/<name>/` with `skeleton.yaml`, `files/` (the
tree to render) and `contrib/` (fragments and slot bases)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from skeletons.errors import TemplateNotFound
from skeletons.manifest import MANIFEST_FILE, Manifest, load_manifest

TEMPLATES_DIR = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class Template:
    root: Path

    @cached_property
    def manifest(self) -> Manifest:
        return load_manifest(self.root / MANIFEST_FILE)

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def files_dir(self) -> Path:
        return self.root / "files"

    @property
    def contrib_dir(self) -> Path:
        return self.root / "contrib"


def list_templates(kind: str | None = None, directory: Path = TEMPLATES_DIR) -> list[Template]:
    """Every template under `directory` (of `kind` when given), sorted by kind then name."""
    found = [Template(p.parent) for p in sorted(directory.glob(f"*/{MANIFEST_FILE}"))]
    if kind is not None:
        found = [t for t in found if t.manifest.kind == kind]
    return sorted(found, key=lambda t: (t.manifest.kind, t.name))


def get_template(name: str, directory: Path = TEMPLATES_DIR) -> Template:
    root = directory / name
    if "/" in name or name.startswith(".") or not (root / MANIFEST_FILE).is_file():
        known = ", ".join(t.name for t in list_templates(directory=directory))
        raise TemplateNotFound(f"unknown template '{name}'", hint=f"templates: {known}")
    return Template(root)


def describe(template: Template, full: bool = False) -> dict[str, Any]:
    """A template as `rdev templates list|show` and the API's /templates present it."""
    manifest = template.manifest
    summary: dict[str, Any] = {
        "name": manifest.name,
        "kind": manifest.kind,
        "version": manifest.version,
        "description": " ".join(manifest.description.split()),
    }
    if not full:
        return summary
    return {
        **summary,
        "target": manifest.target,
        "requires": manifest.requires,
        "variables": [
            {"name": name, **variable.model_dump(exclude_none=True)}
            for name, variable in manifest.variables.items()
        ],
        "slots": {name: slot.model_dump(exclude_none=True) for name, slot in manifest.slots.items()},
        "contributes": sorted({c.slot for c in manifest.contributes}),
        "outputs": manifest.outputs,
    }
