"""The renderer's rules (spec/skeletons.md): sandbox, StrictUndefined, safe paths, answers
validated before writing, nothing left behind on failure, lock files, update and check."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
import yaml

from skeletons.errors import DestinationNotEmpty, RenderFailed, UnsafePath, VariableInvalid
from skeletons.units import check, render, update

ANSWERS = {"name": "demo", "token": "sentinel-SECRET-42"}


def tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_render_applies_rules_and_writes_a_lock(templates: Path, tmp_path: Path) -> None:
    dest = tmp_path / "out"
    result = render("basic", dest, {**ANSWERS, "port": "9090"}, env={}, directory=templates)
    assert (dest / "README.md").read_text() == "# demo\n\nhello demo! Flavour: plain. Port 9090.\n"
    assert (dest / "config/demo.yaml").exists()
    assert not (dest / "docs").exists()  # `when: with_docs` is false
    assert (dest / "logo.bin").read_bytes() == b"BIN{{ not rendered }}\x00\x01"  # render: false
    lock = yaml.safe_load((dest / ".skeletons/root.lock.yaml").read_text())
    assert lock["template"] == "basic" and lock["version"] == "1.0.0"
    assert lock["answers"]["port"] == 9090 and "token" not in lock["answers"]
    assert lock["outputs"] == {"run_cmd": "serve --port 9090", "port": "9090"}
    assert lock["files"]["seed/notes.md"]["ownership"] == "seeded"
    assert result["outputs"]["port"] == "9090"


def test_secrets_are_never_stored(templates: Path, tmp_path: Path) -> None:
    dest = tmp_path / "out"
    render("basic", dest, ANSWERS, env={}, directory=templates)
    for path in dest.rglob("*"):
        if path.is_file():
            assert b"sentinel-SECRET-42" not in path.read_bytes(), path


def test_rendering_twice_gives_identical_bytes(templates: Path, tmp_path: Path) -> None:
    render("basic", tmp_path / "a", ANSWERS, env={}, directory=templates)
    render("basic", tmp_path / "b", ANSWERS, env={}, directory=templates)
    assert tree(tmp_path / "a") == tree(tmp_path / "b")


def test_every_bad_answer_is_named_before_anything_is_written(templates: Path, tmp_path: Path) -> None:
    dest = tmp_path / "out"
    with pytest.raises(VariableInvalid) as caught:
        render(
            "basic",
            dest,
            {"name": "Bad Name", "port": "99999", "flavour": "odd", "colour": "red"},
            env={},
            directory=templates,
        )
    problems = " | ".join(caught.value.problems)
    for expected in (
        "variable 'name' (slug)",
        "variable 'port' (port)",
        "variable 'flavour' (enum)",
        "unknown variable 'colour'",
        "variable 'token' is required or set BASIC_TOKEN",
    ):
        assert expected in problems
    assert not dest.exists()


def test_a_secret_may_come_from_its_environment_variable(templates: Path, tmp_path: Path) -> None:
    render("basic", tmp_path / "out", {"name": "demo"}, env={"BASIC_TOKEN": "t"}, directory=templates)
    assert (tmp_path / "out/README.md").exists()


def test_destination_not_empty_needs_force(templates: Path, tmp_path: Path) -> None:
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "mine.txt").write_text("keep me")
    with pytest.raises(DestinationNotEmpty) as caught:
        render("basic", dest, ANSWERS, env={}, directory=templates)
    assert caught.value.hint and "--force" in caught.value.hint
    assert sorted(os.listdir(dest)) == ["mine.txt"]
    render("basic", dest, ANSWERS, env={}, force=True, directory=templates)
    assert (dest / "mine.txt").read_text() == "keep me" and (dest / "README.md").exists()


def test_dry_run_writes_nothing(templates: Path, tmp_path: Path) -> None:
    result = render("basic", tmp_path / "out", ANSWERS, env={}, dry_run=True, directory=templates)
    assert {"path": "README.md", "action": "create", "ownership": "managed"} in result["files"]
    assert not (tmp_path / "out").exists()


def _hostile(templates: Path, files: dict[str, str], variables: str = "") -> None:
    root = templates / "hostile"
    (root / "files").mkdir(parents=True)
    (root / "skeleton.yaml").write_text(
        "schema: 1\nkind: project\nname: hostile\nversion: 0.0.1\ndescription: tries to escape\n"
        + (f"variables:\n{variables}" if variables else "")
    )
    for name, text in files.items():
        path = root / "files" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.mark.parametrize(
    ("files", "variables", "given", "error"),
    [
        ({"{{ where }}/x.txt": "x"}, "  where: {type: str}\n", {"where": "../../outside"}, UnsafePath),
        ({"{{ where }}": "x"}, "  where: {type: str}\n", {"where": "/etc/passwd"}, UnsafePath),
        ({"ok.txt": "{{ ''.__class__.__mro__[1].__subclasses__() }}"}, "", {}, RenderFailed),
        ({"ok.txt": "{{ undefined_variable }}"}, "", {}, RenderFailed),
        ({"ok.txt": "{{ cycler.__init__.__globals__ }}"}, "", {}, RenderFailed),
    ],
)
def test_hostile_templates_write_nothing(
    templates: Path, tmp_path: Path, files: dict[str, str], variables: str, given: dict[str, str], error: type
) -> None:
    _hostile(templates, {"first.txt": "written first?", **files}, variables)
    dest = tmp_path / "out"
    with pytest.raises(error):
        render("hostile", dest, given, env={}, directory=templates)
    assert not dest.exists()
    assert not list(tmp_path.glob(".out.rendering-*"))
    assert not (tmp_path / "outside").exists()


def test_symlinks_pointing_out_are_refused(templates: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "config").symlink_to(outside)
    with pytest.raises(UnsafePath):
        render("basic", dest, ANSWERS, env={}, force=True, directory=templates)
    assert list(outside.iterdir()) == []
    assert sorted(os.listdir(dest)) == ["config"]
    (templates / "basic/files/link").symlink_to("/etc/hostname")
    with pytest.raises(UnsafePath):
        render("basic", tmp_path / "other", ANSWERS, env={}, directory=templates)


def _bump(templates: Path, readme: str, version: str = "1.1.0") -> None:
    manifest = templates / "basic/skeleton.yaml"
    manifest.write_text(manifest.read_text().replace("version: 1.0.0", f"version: {version}"))
    (templates / "basic/files/README.md.j2").write_text(readme)


def test_update_respects_ownership_and_edits(templates: Path, tmp_path: Path) -> None:
    dest = tmp_path / "out"
    render("basic", dest, ANSWERS, env={}, directory=templates)
    (dest / "seed/notes.md").write_text("my own notes\n")
    (dest / "config/demo.yaml").write_text("edited by hand\n")
    assert {(f["path"], f["problem"]) for f in check(dest, templates)} == {("config/demo.yaml", "drifted")}
    _bump(templates, "# {{ name }} v2\n")
    (templates / "basic/files/seed/notes.md").write_text("new seed\n")
    (templates / "basic/files/new.txt").write_text("added in 1.1\n")
    behind = check(dest, templates)
    assert any(f["problem"].startswith("behind: 1.0.0 < 1.1.0") for f in behind)
    result = update(dest, given={"token": "t"}, env={}, directory=templates)
    assert (dest / "README.md").read_text() == "# demo v2\n"  # unedited managed: upgraded
    assert (dest / "config/demo.yaml").read_text() == "edited by hand\n"  # edited: kept, reported
    assert (dest / "seed/notes.md").read_text() == "my own notes\n"  # seeded: never touched
    assert (dest / "new.txt").exists()
    kept = {k["path"]: k["reason"] for k in result["kept"]}
    assert kept == {"config/demo.yaml": "edited", "seed/notes.md": "seeded"}
    assert [f["path"] for f in check(dest, templates)] == ["config/demo.yaml"]  # still drifted
    update(dest, given={"token": "t"}, env={}, force=True, directory=templates)
    assert check(dest, templates) == []


def test_update_needs_the_secret_again_and_removes_what_is_gone(templates: Path, tmp_path: Path) -> None:
    dest = tmp_path / "out"
    render("basic", dest, {**ANSWERS, "with_docs": "true"}, env={}, directory=templates)
    assert (dest / "docs/guide.md").exists()
    with pytest.raises(VariableInvalid) as caught:
        update(dest, env={}, directory=templates)
    assert "variable 'token' is required" in caught.value.problems[0]
    (templates / "basic/files/docs/guide.md").unlink()
    update(dest, env={"BASIC_TOKEN": "t"}, directory=templates)
    assert not (dest / "docs").exists()  # unedited and no longer produced: removed
