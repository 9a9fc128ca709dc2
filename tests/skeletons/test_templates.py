"""The verification of spec/skeletons.md for every shipped template and every fixture in its
manifest's `tests:`: render into a temp dir; the fixture's present/absent files; no `{{` or
`{%` left in a text file; every YAML/JSON/TOML file parses; `.woodpecker.yml` validates
against Woodpecker's own JSON Schema; `.claude/commands/*.md` front matter parses; rendering
twice gives identical bytes."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from skeletons.compose import ADDABLE_KINDS, add_component
from skeletons.errors import SkeletonError
from skeletons.manifest import MANIFEST_FILE, Fixture
from skeletons.registry import TEMPLATES_DIR, Template, list_templates
from skeletons.units import LOCK_DIR, read_lock, render

WOODPECKER_SCHEMA = Path(__file__).parents[1] / "data" / "woodpecker-schema.json"
# Kinds whose templates may have no files/ tree (sdlc-commands renders per agent elsewhere):
# the file checks are skipped for them when there is nothing to check; the fixtures are not.
NO_FILES_KINDS = {"commands"}
# What every rendered project must contain (spec/skeletons.md, "Templates to ship").
PROJECT_FILES = (
    ".woodpecker.yml",
    ".claude/settings.json",
    "AGENTS.md",
    "CLAUDE.md",
    "README.md",
    ".gitignore",
)
# Step images whose commands need nothing but a POSIX shell and coreutils.
SHELL_IMAGES = {"alpine", "busybox", "debian", "ubuntu"}
# Directories of agent command files with optional YAML front matter; Claude Code's need it.
FRONT_MATTER_DIRS = {".claude/commands": True, ".opencode/commands": False, ".github/prompts": False}


def _templates() -> list[Template]:
    """Every template; when a manifest is broken, every template directory (so the broken
    one fails a test instead of breaking collection)."""
    try:
        return list_templates()
    except SkeletonError:
        return [Template(p.parent) for p in sorted(TEMPLATES_DIR.glob(f"*/{MANIFEST_FILE}"))]


def _fixtures(template: Template) -> list[Fixture]:
    try:
        return template.manifest.tests
    except SkeletonError:
        return []


TEMPLATES = _templates()
CASES = [
    pytest.param(template, fixture, id=f"{template.root.name}:{fixture.name}")
    for template in TEMPLATES
    for fixture in _fixtures(template)
]
PROJECT_CASES = [
    pytest.param(template, fixture, id=f"{template.root.name}:{fixture.name}")
    for template in TEMPLATES
    for fixture in _fixtures(template)
    if template.manifest.kind == "project"
]


# --- rendering -------------------------------------------------------------------------------


def _render(template: Template, fixture: Fixture, dest: Path) -> dict[str, Any]:
    """A project template renders on its own; a component or architecture is added to a fresh
    monorepo (after the templates it requires, with their defaults)."""
    directory = template.root.parent
    if template.manifest.kind not in ADDABLE_KINDS:
        return render(template.name, dest, fixture.answers, env={}, directory=directory)
    render("monorepo", dest, {"project_name": "fixture"}, env={}, directory=directory)
    for required in template.manifest.requires:
        add_component(dest, required, {}, env={}, directory=directory)
    result = add_component(dest, template.name, fixture.answers, env={}, directory=directory)
    return {**result, "outputs": read_lock(dest, result["unit"])["outputs"]}


@pytest.fixture(scope="module")
def rendered_trees(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Renders each (template, fixture) once per module; later tests reuse the tree."""

    @cache
    def get(root: Path, fixture_name: str) -> tuple[Path, dict[str, Any]]:
        template = Template(root)
        fixture = next(f for f in template.manifest.tests if f.name == fixture_name)
        dest = tmp_path_factory.mktemp(f"{template.name}-{fixture_name}") / "out"
        return dest, _render(template, fixture, dest)

    return get


@pytest.fixture
def tree(rendered_trees: Any, request: pytest.FixtureRequest) -> Path:
    template, fixture = request.node.callspec.params["template"], request.node.callspec.params["fixture"]
    dest: Path = rendered_trees(template.root, fixture.name)[0]
    return dest


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _produced(root: Path) -> dict[str, bytes]:
    """The rendered files, without the unit's lock file."""
    return {path: data for path, data in _files(root).items() if not path.startswith(f"{LOCK_DIR}/")}


def _text(data: bytes) -> str | None:
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _skip_when_nothing_produced(template: Template, root: Path) -> None:
    if template.manifest.kind in NO_FILES_KINDS and not _produced(root):
        pytest.skip(f"a {template.manifest.kind} template produces no files here")


# --- every template ---------------------------------------------------------------------------


def test_templates_are_found() -> None:
    assert {t.root.name for t in TEMPLATES} >= {"default", "go-api"}


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.root.name)
def test_every_template_has_a_valid_manifest_and_fixtures(template: Template) -> None:
    manifest = template.manifest  # raises ManifestInvalid, naming the field, when broken
    assert manifest.name == template.root.name, "the manifest's name must match its directory"
    assert manifest.tests, f"template '{manifest.name}' has no fixture in `tests:` (at least one is required)"
    names = [f.name for f in manifest.tests]
    assert len(names) == len(set(names)), f"fixture names repeat: {names}"


# --- every fixture ----------------------------------------------------------------------------


@pytest.mark.parametrize(("template", "fixture"), CASES)
def test_fixture_present_and_absent(template: Template, fixture: Fixture, tree: Path) -> None:
    missing = [p for p in fixture.present if not (tree / p).exists()]
    unexpected = [p for p in fixture.absent if (tree / p).exists()]
    assert not missing, f"expected but not rendered: {missing}"
    assert not unexpected, f"rendered but expected absent: {unexpected}"


@pytest.mark.parametrize(("template", "fixture"), CASES)
def test_no_jinja_left(template: Template, fixture: Fixture, tree: Path, rendered_trees: Any) -> None:
    _skip_when_nothing_produced(template, tree)
    leftovers = []
    for path, data in _files(tree).items():
        text = _text(data)
        if text is None:
            continue
        if path.startswith(".gemini/") or "/.gemini/" in path:
            text = text.replace("{{args}}", "")  # Gemini CLI's own argument placeholder
        for marker in ("{{", "{%"):
            if marker in text:
                line = text[: text.index(marker)].count("\n") + 1
                leftovers.append(f"{path}:{line}: {marker}")
    outputs = rendered_trees(template.root, fixture.name)[1]["outputs"]
    leftovers += [f"output {k}: {v}" for k, v in outputs.items() if "{{" in v or "{%" in v]
    assert not leftovers, "template syntax left after rendering:\n" + "\n".join(leftovers)


@pytest.mark.parametrize(("template", "fixture"), CASES)
def test_structured_files_parse(template: Template, fixture: Fixture, tree: Path) -> None:
    _skip_when_nothing_produced(template, tree)
    problems = []
    for path, data in _files(tree).items():
        try:
            if path.endswith((".yaml", ".yml")):
                list(yaml.safe_load_all(data.decode("utf-8")))
            elif path.endswith(".json"):
                json.loads(data.decode("utf-8"))
            elif path.endswith(".toml"):
                tomllib.loads(data.decode("utf-8"))
        except (ValueError, yaml.YAMLError) as err:  # JSONDecodeError, TOMLDecodeError, Unicode
            problems.append(f"{path}: {err}")
    assert not problems, "files that do not parse:\n" + "\n".join(problems)


def _woodpecker_files(files: dict[str, bytes]) -> list[str]:
    return [
        path
        for path in files
        if path.rsplit("/", 1)[-1] in (".woodpecker.yml", ".woodpecker.yaml")
        or (path.rsplit("/", 2)[-2:-1] == [".woodpecker"] and path.endswith((".yml", ".yaml")))
    ]


@cache
def _woodpecker_validator() -> jsonschema.protocols.Validator:
    schema = json.loads(WOODPECKER_SCHEMA.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)  # the draft the schema declares (draft-07)
    cls.check_schema(schema)
    validator: jsonschema.protocols.Validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    return validator


def test_woodpecker_schema_is_the_declared_draft() -> None:
    schema = json.loads(WOODPECKER_SCHEMA.read_text(encoding="utf-8"))
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert isinstance(_woodpecker_validator(), jsonschema.Draft7Validator)


def test_woodpecker_schema_rejects_a_broken_pipeline() -> None:
    broken = {"steps": [{"name": "x", "image": "alpine", "commands": ["true"], "bogus": 1}]}
    assert list(_woodpecker_validator().iter_errors(broken))
    assert not list(
        _woodpecker_validator().iter_errors({"steps": [{"image": "alpine", "commands": ["true"]}]})
    )


@pytest.mark.parametrize(("template", "fixture"), CASES)
def test_woodpecker_pipelines_validate(template: Template, fixture: Fixture, tree: Path) -> None:
    _skip_when_nothing_produced(template, tree)
    files = _files(tree)
    pipelines = _woodpecker_files(files)
    if template.manifest.kind == "project":
        assert ".woodpecker.yml" in pipelines
    if not pipelines:
        pytest.skip("no Woodpecker pipeline rendered")
    problems = []
    for path in pipelines:
        document = yaml.safe_load(files[path].decode("utf-8"))
        for error in _woodpecker_validator().iter_errors(document):
            where = "/".join(map(str, error.absolute_path)) or "(root)"
            problems.append(f"{path}: {where}: {error.message}")
    assert not problems, "Woodpecker schema violations:\n" + "\n".join(problems)


def _front_matter(text: str) -> Any:
    if not text.startswith("---\n"):
        return None
    end = text.find("\n---\n", 4)
    assert end != -1, "front matter is not closed by a `---` line"
    return yaml.safe_load(text[4:end]) or {}


@pytest.mark.parametrize(("template", "fixture"), CASES)
def test_command_front_matter_parses(template: Template, fixture: Fixture, tree: Path) -> None:
    _skip_when_nothing_produced(template, tree)
    checked = 0
    for path, data in _files(tree).items():
        folder, _, name = path.rpartition("/")
        required = next((req for d, req in FRONT_MATTER_DIRS.items() if folder.endswith(d)), None)
        if required is None or not name.endswith(".md"):
            continue
        checked += 1
        matter = _front_matter(data.decode("utf-8"))
        if matter is None:
            assert not required, f"{path}: no YAML front matter"
            continue
        assert isinstance(matter, dict), f"{path}: front matter is not a mapping"
        if required:
            assert isinstance(matter.get("description"), str), f"{path}: front matter has no description"
    if not checked:
        pytest.skip("no agent command files rendered")


@pytest.mark.parametrize(("template", "fixture"), CASES)
def test_rendering_twice_gives_identical_bytes(template: Template, fixture: Fixture, tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    _render(template, fixture, first)
    _render(template, fixture, second)

    def hashes(root: Path) -> dict[str, str]:
        return {path: hashlib.sha256(data).hexdigest() for path, data in _files(root).items()}

    assert hashes(first) == hashes(second)


@pytest.mark.parametrize(("template", "fixture"), CASES)
def test_secrets_are_not_stored(template: Template, fixture: Fixture, tree: Path) -> None:
    secrets = [
        str(value)
        for name, value in fixture.answers.items()
        if name in template.manifest.variables and template.manifest.variables[name].type == "secret"
    ]
    for path, data in _files(tree).items():
        if path.startswith(f"{LOCK_DIR}/"):
            for secret in secrets:
                assert secret.encode() not in data, f"a secret answer is stored in {path}"


@pytest.mark.parametrize(("template", "fixture"), PROJECT_CASES)
def test_projects_hold_what_the_spec_lists(template: Template, fixture: Fixture, tree: Path) -> None:
    files = _files(tree)
    missing = [p for p in PROJECT_FILES if p not in files]
    assert not missing, f"a project must contain {missing}"
    # The sdlc commands and the AGENTS.md sdlc section belong to `sdlc init`, not to templates.
    assert not (tree / ".claude" / "commands").exists()
    owned = [p for p, data in files.items() if b"<!-- sdlc:begin -->" in data]
    assert not owned, f"the sdlc section is `sdlc init`'s: {owned}"
    settings = json.loads(files[".claude/settings.json"])
    allowed = settings.get("permissions", {}).get("allow", [])
    assert isinstance(allowed, list)
    assert any(str(rule).startswith("Bash(sdlc") for rule in allowed), "settings must allow the sdlc commands"


# --- CI steps that need nothing but a shell (slow: marked smoke) -------------------------------


def _shell_steps(pipeline: dict[str, Any]) -> list[tuple[str, list[str]]]:
    steps = pipeline.get("steps") or []
    items = list(steps.items()) if isinstance(steps, dict) else [(s.get("name", "?"), s) for s in steps]
    found = []
    for name, step in items:
        image = str(step.get("image", "")).rsplit("/", 1)[-1].split(":", 1)[0]
        if image in SHELL_IMAGES and step.get("commands"):
            commands = step["commands"]
            found.append((name, [commands] if isinstance(commands, str) else list(commands)))
    return found


@pytest.mark.smoke
@pytest.mark.parametrize(("template", "fixture"), CASES)
def test_shell_ci_steps_pass(template: Template, fixture: Fixture, tmp_path: Path) -> None:
    """The `.woodpecker.yml` steps whose image is a plain shell run here as they would in CI."""
    dest = tmp_path / "out"
    _render(template, fixture, dest)
    ran = 0
    for path in _woodpecker_files(_files(dest)):
        for name, commands in _shell_steps(yaml.safe_load((dest / path).read_text(encoding="utf-8"))):
            result = subprocess.run(
                ["sh", "-ec", "\n".join(commands)],
                cwd=dest,
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "CI": "woodpecker"},
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert result.returncode == 0, f"{path} step {name!r} failed:\n{result.stdout}\n{result.stderr}"
            ran += 1
    if not ran:
        pytest.skip("no step that needs only a shell")
