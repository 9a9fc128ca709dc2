"""Composition (docs/templates.md): components and architectures added to and removed from a
monorepo, slots assembled deterministically, hand edits protected, add-then-remove returning
the tree to its previous bytes."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
import yaml

from skeletons.compose import add_component, remove_component
from skeletons.errors import CompositionRefused, SlotEdited, UnitNotFound, VariableInvalid
from skeletons.registry import TEMPLATES_DIR
from skeletons.units import check, render, update


@pytest.fixture
def mono(templates: Path, tmp_path: Path) -> Path:
    """A rendered monorepo (the shipped template) next to the test component templates."""
    shutil.copytree(TEMPLATES_DIR / "monorepo", templates / "monorepo")
    dest = tmp_path / "shop"
    render("monorepo", dest, {"project_name": "shop"}, env={}, directory=templates)
    return dest


def hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def dirs(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_dir()}


def add(mono: Path, templates: Path, template: str, **answers: object) -> dict[str, object]:
    return add_component(mono, template, answers, env={}, directory=templates)


def test_add_renders_under_the_target_and_fills_every_slot(mono: Path, templates: Path) -> None:
    result = add(mono, templates, "comp", name="billing", port=9000)
    assert result["unit"] == "billing" and result["path"] == "services/billing"
    assert (mono / "services/billing/main.txt").read_text() == (
        "module example.com/shop/billing on 9000 in services/billing of shop\n"
    )
    steps = yaml.safe_load((mono / ".woodpecker.yml").read_text())["steps"]
    assert [s["name"] for s in steps] == ["repo-check", "billing-test"]
    compose = yaml.safe_load((mono / "docker-compose.yml").read_text())
    assert compose["services"]["billing"]["environment"] == {"PORT": "9000"}
    assert "use ./services/billing\n" in (mono / "go.work").read_text()
    assert "- [billing](services/billing/): a test component" in (mono / "README.md").read_text()
    assert "docker compose up -d billing" in (mono / ".claude/commands/deploy.md").read_text()
    assert check(mono, templates) == []


def test_add_then_remove_returns_the_previous_bytes(mono: Path, templates: Path) -> None:
    before, before_dirs = hashes(mono), dirs(mono)
    add(mono, templates, "comp", name="api")
    middle = hashes(mono)
    add(mono, templates, "comp", name="billing", with_compose=False)
    add(mono, templates, "arch")
    remove_component(mono, "arch", directory=templates)
    remove_component(mono, "billing", directory=templates)
    assert hashes(mono) == middle
    remove_component(mono, "api", directory=templates)
    assert hashes(mono) == before
    assert dirs(mono) == before_dirs


def test_assembly_is_sorted_by_order_then_unit_name(mono: Path, templates: Path) -> None:
    for name in ("zeta", "alpha", "mid"):
        add(mono, templates, "comp", name=name)
    steps = yaml.safe_load((mono / ".woodpecker.yml").read_text())["steps"]
    assert [s["name"] for s in steps] == ["repo-check", "alpha-test", "mid-test", "zeta-test"]
    first = hashes(mono)
    # the same units added in another order give the same bytes
    other = mono.parent / "other"
    render("monorepo", other, {"project_name": "shop"}, env={}, directory=templates)
    for name in ("mid", "zeta", "alpha"):
        add(other, templates, "comp", name=name)
    assert hashes(other) == first


def test_architecture_deep_merges_into_a_component_service(mono: Path, templates: Path) -> None:
    add(mono, templates, "comp", name="api")
    add(mono, templates, "arch")
    assert (mono / "services/hub/hub.txt").read_text() == "hub wired to services/api\n"
    services = yaml.safe_load((mono / "docker-compose.yml").read_text())["services"]
    assert services["api"]["environment"] == {"PORT": "8080", "HUB_URL": "http://hub:9000"}
    assert services["api"]["build"] == "./services/api"
    assert list(services) == ["api", "hub"]


def test_requirements_and_names_are_checked_before_writing(mono: Path, templates: Path) -> None:
    before = hashes(mono)
    with pytest.raises(CompositionRefused, match="'arch' requires 'comp'"):
        add(mono, templates, "arch")
    add(mono, templates, "comp", name="api")
    middle = hashes(mono)
    with pytest.raises(CompositionRefused, match="a unit named 'api' is already"):
        add(mono, templates, "comp", name="api")
    with pytest.raises(VariableInvalid, match="variable 'port'"):
        add(mono, templates, "comp", name="other", port="http")
    with pytest.raises(CompositionRefused, match="only components and architectures"):
        add(mono, templates, "basic")
    assert hashes(mono) == middle
    add(mono, templates, "arch")
    with pytest.raises(CompositionRefused, match="'arch' requires a 'comp' unit"):
        remove_component(mono, "api", directory=templates)
    with pytest.raises(UnitNotFound, match="no unit 'ghost'"):
        remove_component(mono, "ghost", directory=templates)
    with pytest.raises(CompositionRefused, match="root unit cannot be removed"):
        remove_component(mono, "root", directory=templates)
    assert before != middle


def test_components_only_go_into_a_monorepo(templates: Path, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    render("basic", plain, {"name": "x", "token": "t"}, env={}, directory=templates)
    with pytest.raises(CompositionRefused, match="not a monorepo"):
        add(plain, templates, "comp")
    with pytest.raises(CompositionRefused, match="not a rendered monorepo"):
        add(tmp_path / "nowhere", templates, "comp")


def test_hand_edited_slot_files_are_protected(mono: Path, templates: Path) -> None:
    pipeline = mono / ".woodpecker.yml"
    pipeline.write_text(pipeline.read_text() + "# my own change\n")
    assert {"unit": "root", "path": ".woodpecker.yml", "problem": "edited"} in check(mono, templates)
    with pytest.raises(SlotEdited, match=r"\.woodpecker\.yml"):
        add(mono, templates, "comp", name="api")
    assert not (mono / "services").exists()
    add_component(mono, "comp", {"name": "api"}, env={}, directory=templates, force=True)
    assert "# my own change" not in pipeline.read_text()
    assert check(mono, templates) == []


def test_user_text_around_a_markdown_slot_survives(mono: Path, templates: Path) -> None:
    readme = mono / "README.md"
    readme.write_text(readme.read_text() + "\n## Our notes\n\nKeep this.\n")
    add(mono, templates, "comp", name="api")
    remove_component(mono, "api", directory=templates)
    text = readme.read_text()
    assert text.endswith("## Our notes\n\nKeep this.\n")
    assert "- [api]" not in text


def test_removing_an_edited_component_needs_force(mono: Path, templates: Path) -> None:
    add(mono, templates, "comp", name="api")
    (mono / "services/api/notes.md").write_text("my notes\n")
    with pytest.raises(CompositionRefused, match=r"services/api/notes\.md"):
        remove_component(mono, "api", directory=templates)
    assert (mono / ".skeletons/api.lock.yaml").exists()
    remove_component(mono, "api", directory=templates, force=True)
    assert not (mono / "services").exists()


def test_dry_run_writes_nothing(mono: Path, templates: Path) -> None:
    before = hashes(mono)
    plan = add_component(mono, "comp", {"name": "api"}, env={}, directory=templates, dry_run=True)
    assert {f["path"] for f in plan["files"]} >= {"services/api/main.txt", ".woodpecker.yml"}
    assert hashes(mono) == before
    add(mono, templates, "comp", name="api")
    middle = hashes(mono)
    plan = remove_component(mono, "api", directory=templates, dry_run=True)
    assert {"path": "services/api/main.txt", "action": "delete", "ownership": "managed"} in plan["files"]
    assert hashes(mono) == middle


def test_updating_a_component_reassembles_the_slots(mono: Path, templates: Path) -> None:
    add(mono, templates, "comp", name="api")
    manifest = templates / "comp/skeleton.yaml"
    manifest.write_text(manifest.read_text().replace("version: 1.0.0", "version: 1.1.0"))
    steps = templates / "comp/contrib/steps.yml.j2"
    steps.write_text(steps.read_text().replace("go test ./...", "go test -race ./..."))
    assert any(f["problem"].startswith("behind") for f in check(mono, templates))
    result = update(mono, "api", env={}, directory=templates)
    assert result["from_version"] == "1.0.0" and result["to_version"] == "1.1.0"
    assert "go test -race ./..." in (mono / ".woodpecker.yml").read_text()
    assert check(mono, templates) == []
