"""`skeleton.yaml`, the manifest of a template (spec/skeletons.md). The pydantic models are
the contract; their JSON Schema is published as docs/schemas/skeleton.schema.json."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from skeletons import yamlfast
from skeletons.errors import ManifestInvalid

MANIFEST_FILE = "skeleton.yaml"
FORMAT_VERSION = 1
Kind = Literal["project", "monorepo", "component", "architecture", "commands", "platform"]
VariableType = Literal["str", "int", "bool", "enum", "list", "slug", "port", "url", "secret"]
# Names the renderer puts in every template's context (docs/templates.md).
RESERVED_NAMES = ("unit", "project", "units", "template")
OUTPUT_KEYS = ("build_cmd", "test_cmd", "run_cmd", "port", "health_path", "deploy_target")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Variable(Strict):
    """One answer a template asks for."""

    type: VariableType = "str"
    default: Any = Field(None, description="A value, or a Jinja expression over earlier variables.")
    choices: list[str] | None = Field(None, description="Allowed values (type enum).")
    pattern: str | None = Field(None, description="A regular expression the whole value must match.")
    min: int | None = None
    max: int | None = None
    help: str = ""
    required: bool = False
    env: str | None = Field(None, description="Environment variable a secret may be taken from.")

    @model_validator(mode="after")
    def _enum_has_choices(self) -> Variable:
        if self.type == "enum" and not self.choices:
            raise ValueError("an enum variable needs choices")
        return self


class FileRule(Strict):
    """How the template's files matching `path` are produced (first matching rule wins)."""

    path: str = Field(description="Glob over the template's files/ tree, e.g. `**/*.go`.")
    when: str | None = Field(None, description="Jinja expression; the files are skipped when false.")
    ownership: Literal["managed", "seeded"] = "managed"
    render: bool = Field(True, description="False copies the file verbatim (binary files).")


class Slot(Strict):
    """A named insertion point this template offers to the components of a monorepo."""

    target: str = Field(description="The file the slot assembles, relative to the root.")
    format: Literal["yaml-list", "yaml-map", "lines", "markdown-section"]
    base: str | None = Field(None, description="Template (under contrib/) of the file around the fragments.")
    key: str | None = Field(None, description="Dotted key of the YAML node fragments go into.")


class Contribution(Strict):
    """A fragment this template pushes into a slot of the monorepo."""

    slot: str
    template: str = Field(description="Fragment template, relative to the template's contrib/ directory.")
    when: str | None = None
    order: int = 100


class Fixture(Strict):
    """A set of answers the verification renders, with what the result must hold."""

    name: str
    answers: dict[str, Any] = Field(default_factory=dict)
    present: list[str] = Field(default_factory=list)
    absent: list[str] = Field(default_factory=list)
    commands: list[str] = Field(default_factory=list, description="Run by the smoke tests.")


class Manifest(Strict):
    schema_version: int = Field(FORMAT_VERSION, alias="schema")
    kind: Kind
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    version: str = Field(pattern=r"^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$")
    description: str
    target: str | None = Field(None, description="Where a component renders inside a monorepo.")
    variables: dict[str, Variable] = Field(default_factory=dict)
    files: list[FileRule] = Field(default_factory=list)
    slots: dict[str, Slot] = Field(default_factory=dict)
    contributes: list[Contribution] = Field(default_factory=list)
    outputs: dict[str, str] = Field(default_factory=dict)
    requires: list[str] = Field(default_factory=list)
    tests: list[Fixture] = Field(default_factory=list)

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _known_outputs(self) -> Manifest:
        reserved = sorted(set(self.variables) & set(RESERVED_NAMES))
        if reserved:
            raise ValueError(f"variables {reserved} are reserved names of the template context")
        unknown = sorted(set(self.outputs) - set(OUTPUT_KEYS))
        if unknown:
            raise ValueError(f"unknown outputs {unknown}; known: {', '.join(OUTPUT_KEYS)}")
        return self


def load_manifest(path: Path) -> Manifest:
    """Read and validate a skeleton.yaml; every problem is named with its field path."""
    try:
        return _parse(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise ManifestInvalid(f"cannot read {path}: {err}") from err
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'manifest'}: {e['msg']}" for e in err.errors()
        )
        raise ManifestInvalid(f"invalid {path}: {problems}") from err


@lru_cache(maxsize=256)
def _parse(text: str) -> Manifest:
    """Keyed by content: composing a monorepo reads the same manifests many times."""
    return Manifest.model_validate(yamlfast.load(text))


def manifest_json_schema() -> dict[str, Any]:
    """The JSON Schema of skeleton.yaml (docs/schemas/skeleton.schema.json)."""
    schema = Manifest.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "skeleton.yaml"
    return schema


SCHEMA_PATH = Path("docs/schemas/skeletons/skeleton.schema.json")


def main() -> None:
    """`python -m skeletons.manifest`: write the JSON Schema of skeleton.yaml."""
    import json

    SCHEMA_PATH.parent.mkdir(parents=True, exist_ok=True)
    SCHEMA_PATH.write_text(
        json.dumps(manifest_json_schema(), indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    print(f"wrote {SCHEMA_PATH}")


if __name__ == "__main__":
    main()
