"""skeleton.yaml: its published JSON Schema, and every manifest validating against it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from skeletons.errors import ManifestInvalid
from skeletons.manifest import SCHEMA_PATH, load_manifest, manifest_json_schema
from skeletons.registry import TEMPLATES_DIR

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = sorted(
    [*TEMPLATES_DIR.glob("*/skeleton.yaml"), *Path(__file__).parent.glob("fixtures/*/skeleton.yaml")]
)


def test_the_committed_schema_is_current() -> None:
    committed = json.loads((ROOT / SCHEMA_PATH).read_text())
    assert committed == json.loads(json.dumps(manifest_json_schema())), "run `python -m skeletons.manifest`"


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.parent.name)
def test_every_manifest_validates(path: Path) -> None:
    Draft202012Validator(manifest_json_schema()).validate(yaml.safe_load(path.read_text()))
    assert load_manifest(path).name == path.parent.name


def test_a_bad_manifest_names_every_bad_field(tmp_path: Path) -> None:
    path = tmp_path / "skeleton.yaml"
    path.write_text(
        "schema: 1\nkind: planet\nname: Bad_Name\nversion: one\ndescription: x\n"
        "variables: {v: {type: enum}}\nfiles: [{path: '**', ownership: owned}]\nsurprise: 1\n"
    )
    with pytest.raises(ManifestInvalid) as caught:
        load_manifest(path)
    for field in ("kind", "name", "version", "variables.v", "files.0.ownership", "surprise"):
        assert field in caught.value.message
