"""The JSON Schemas under docs/schemas/ (spec/sdlc.md §5, "JSON mode").

(a) The committed files are exactly what `sdlc.schemas` generates.
(b) A real project is driven through every command with --json, in process; each output,
    error objects included, is validated (Draft 2020-12) against the committed schema that
    docs/schemas/index.json names for the command. Every schema and every index entry must
    be exercised, and every CLI command must have an index entry.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any, get_args

import pytest
import typer.main
from jsonschema import Draft202012Validator
from pydantic import TypeAdapter

from conftest import InProcess, run_process, write_artifact
from sdlc import errors, schemas, yamlio
from sdlc.cli.main import build_app
from sdlc.lifecycle import ACTIONS, ARTIFACT_STATUSES, ARTIFACTS, COMMENT_FLAGS, PHASES, TASK_STATUSES

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "docs" / "schemas"
REGENERATE = "run `python -m sdlc.schemas` and commit docs/schemas/"
ERROR_KEY = "sdlc ... (any error)"
MISSING = "missing required argument: a subcommand is required"
# The objects sdlc reads from a manifest and prints with the unknown fields it preserves.
PRESERVED = {
    "Feature",
    "ArtifactEntry",
    "Task",
    "Comment",
    "Milestone",
    "FeatureTarget",
    "TaskTarget",
    "ArtifactTarget",
    "Score",
    "PhaseEntry",
    "Deduction",
}
PRESERVED_ROWS = {"ArtifactStatusRow", "TaskRow", "CommentRow", "MilestoneReview", "ScoreRow"}


def _committed_index() -> dict[str, str]:
    data: dict[str, str] = json.loads((SCHEMA_DIR / schemas.INDEX_FILE).read_text(encoding="utf-8"))
    return data


# -- (a) the committed files are the generated ones ---------------------------------------------


def test_committed_schemas_match_the_models() -> None:
    expected = schemas.rendered_files()
    committed = {p.name: p.read_text(encoding="utf-8") for p in SCHEMA_DIR.glob("*.json")}
    assert sorted(committed) == sorted(expected), (
        f"docs/schemas/ has other files than generated: {REGENERATE}"
    )
    stale = [name for name in expected if committed[name] != expected[name]]
    assert not stale, f"out of date: {', '.join(stale)}: {REGENERATE}"


def test_every_schema_is_a_valid_draft_2020_12_schema() -> None:
    for name, schema in schemas.schema_files().items():
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema", name
        Draft202012Validator.check_schema(schema)


def test_only_manifest_objects_allow_unknown_keys() -> None:
    allowing = set()
    for kind, _, _ in schemas.SCHEMAS.values():
        schema = TypeAdapter(kind).json_schema()
        objects = {**schema.get("$defs", {}), getattr(kind, "__name__", "<root>"): schema}
        for name, sub in objects.items():
            if sub.get("type") == "object" and sub.get("additionalProperties") is not False:
                assert sub.get("additionalProperties") is True, name
                allowing.add(name)
    assert allowing == PRESERVED | PRESERVED_ROWS


def test_vocabulary_matches_the_engine() -> None:
    assert get_args(schemas.Phase) == PHASES
    assert get_args(schemas.ArtifactType) == ARTIFACTS
    assert get_args(schemas.ArtifactStatus) == ARTIFACT_STATUSES
    assert get_args(schemas.TaskStatus) == TASK_STATUSES
    assert get_args(schemas.CommentFlag) == COMMENT_FLAGS
    assert set(get_args(schemas.Action)) == set(ACTIONS)
    codes = {c.code for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.SdlcError)}
    assert codes <= set(get_args(schemas.ErrorCode)), codes - set(get_args(schemas.ErrorCode))


def test_nothing_in_the_engine_imports_the_schema_models() -> None:
    package = Path(schemas.__file__).parents[1]
    importing = re.compile(r"sdlc\.schemas|from (sdlc|\.+) import .*\bschemas\b|from \.+schemas\b")
    for path in package.rglob("*.py"):
        if package / "schemas" not in path.parents:
            assert not importing.search(path.read_text(encoding="utf-8")), path


def test_running_a_command_does_not_load_the_schema_models(project: Path) -> None:
    done = run_process(["--json", "feature", "list"], project, env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert done.returncode == 0 and "sdlc.cli.main" in done.stderr and "sdlc.schemas" not in done.stderr


# -- the index names every command --------------------------------------------------------------


def _command_words(key: str) -> tuple[str, ...]:
    """`sdlc task list [SLUG]` → ('task', 'list')."""
    words = []
    for token in key.split()[1:]:
        if not re.fullmatch(r"[a-z][a-z-]*", token):
            break
        words.append(token)
    return tuple(words)


def _cli_commands(command: Any = None, path: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Every leaf command of the CLI, as its words."""
    subs = getattr(command or typer.main.get_command(build_app(None)), "commands", None)
    return set().union(*(_cli_commands(sub, (*path, name)) for name, sub in subs.items())) if subs else {path}


def test_index_names_every_cli_command_and_existing_schemas() -> None:
    index = _committed_index()
    listed = {_command_words(key) for key in index if key != ERROR_KEY}
    missing = sorted(" ".join(c) for c in _cli_commands() - listed)
    assert not missing, (
        f"commands with no JSON Schema: {missing}; describe their output in sdlc/schemas/ "
        f"(models.py or results.py, then SCHEMAS and COMMANDS in generate.py), then {REGENERATE}"
    )
    unknown = sorted(" ".join(c) for c in listed - _cli_commands())
    assert not unknown, f"index.json names commands the CLI does not have: {unknown}"
    assert set(index.values()) == {p.name for p in SCHEMA_DIR.glob("*.schema.json")}


# -- (b) real outputs validate ------------------------------------------------------------------


def _matches(data: Any, expected: Any) -> bool:
    """`expected` is `data`, except that a dict only names the keys it checks."""
    if isinstance(expected, dict):
        return isinstance(data, dict) and all(k in data and _matches(data[k], expected[k]) for k in expected)
    return bool(data == expected)


class Checker:
    """`check("feature show alpha", {...})` runs `sdlc feature show alpha --json`, checks the exit
    code and that the output matches the optional expectation (see `_matches`), validates it
    against the schema index.json names for the most specific command key the arguments match
    (command words, then `--options`), and records what was exercised."""

    def __init__(self, sdlc: InProcess) -> None:
        self.sdlc = sdlc
        self.index = _committed_index()
        self.validators = {
            p.name: Draft202012Validator(json.loads(p.read_text(encoding="utf-8")))
            for p in SCHEMA_DIR.glob("*.schema.json")
        }
        self.used_keys: set[str] = set()
        self.used_schemas: set[str] = set()
        self.last: Any = None  # the Result of the last run

    def key_for(self, args: list[str]) -> str:
        matches = []
        for key in self.index:
            words, options = _command_words(key), [t for t in key.split() if t.startswith("--")]
            if key != ERROR_KEY and tuple(args[: len(words)]) == words and set(options) <= set(args):
                matches.append(((len(words), len(options)), key))
        found = [key for rank, key in matches if rank == max(matches)[0]]
        assert len(found) == 1, (args, found)
        return found[0]

    def validate(self, key: str, data: Any, what: Any) -> None:
        name = self.index[key]
        problems = [
            f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            for e in self.validators[name].iter_errors(data)
        ]
        assert not problems, f"{what} does not match {name}:\n" + "\n".join(problems)
        self.used_keys.add(key)
        self.used_schemas.add(name)

    def _run(self, line: str, exit_code: int, runner: InProcess | None) -> tuple[list[str], Any]:
        args = shlex.split(line)
        result = self.last = (runner or self.sdlc)(*args, json_mode=True)
        assert result.code == exit_code, (args, result)
        assert "Traceback" not in result.err, result.err
        return args, json.loads(result.out)  # exactly one document

    def __call__(self, line: str, expect: Any = None, code: int = 0, runner: InProcess | None = None) -> Any:
        args, data = self._run(line, code, runner)
        self.validate(self.key_for(args), data, args)
        assert expect is None or _matches(data, expect), (args, data, expect)
        return data

    def each(self, *lines: str, expect: Any = None) -> None:
        for line in lines:
            self(line, expect)

    def error(self, code: str, *lines: str, exit_code: int = 1, runner: InProcess | None = None) -> Any:
        """The error body of the (last) line; each line must fail with `code`."""
        for line in lines:
            args, data = self._run(line, exit_code, runner)
            self.validate(ERROR_KEY, data, args)
            assert data["error"]["code"] == code, (args, data)
            assert data["error"]["message"], (args, data)
        return data["error"]


def _edit_yaml(path: Path, change: Any) -> None:
    data = yamlio.loads(path.read_bytes())
    change(data)
    path.write_text(yamlio.dumps(data), encoding="utf-8")


def _approve(check: Checker, root: Path, slug: str, kind: str, name: str) -> Any:
    write_artifact(root, slug, name, f"# {kind} of {slug}\n")
    check(f"artifact draft {slug} {kind}", {"changed": True, "artifact": {"status": "draft"}})
    return check(f"artifact approve {slug} {kind} --by alice", {"artifact": {"status": "approved"}})


def _empty_project(check: Checker, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    check("init", {"root": str(project), "already_initialized": True, "created": [], "updated": []})
    fresh, existing = (InProcess(project.parent / name, capsys) for name in ("fresh", "existing"))
    fresh.root.mkdir(), existing.root.mkdir()
    (existing.root / "AGENTS.md").write_text("# Our agents\n")
    created = check("init", {"already_initialized": False, "updated": []}, runner=fresh)["created"]
    assert {".sdlc/", "AGENTS.md"} <= set(created)
    assert "AGENTS.md" not in check("init", {"updated": ["AGENTS.md"]}, runner=existing)["created"]
    check("init", {"already_initialized": True, "updated": []}, runner=existing)
    check.each("next", "feature list", "feature list --all", "history", "task list", expect=[])
    check.each("milestone list", "query blocked", "query ready", "query needs-approval", expect=[])
    check.each("query search x", "project blockers", expect=[])
    assert check("focus") is None and check("focus --include-human") is None
    check("state", {"active_features": [], "features": {"total": 0}})
    check.each("project status", "project stats")
    check("doctor", {"ok": True})


def _errors(check: Checker, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every error path the engine has a code for, and command-line errors (exit 2)."""
    check.error("feature_not_found", "feature show nope", "next --for nope")
    check.error("invalid_slug", "feature show ../x", "task get alpha X1")
    check.error("feature_exists", "feature create alpha")
    check.error("task_not_found", "task get alpha T99")
    check.error("comment_not_found", "comment resolve alpha C99")
    check.error("milestone_not_found", "milestone info nope")
    check.error("milestone_exists", "milestone create m1 --title again")
    check.error("dependency_cycle", "feature update alpha --depends-on beta")
    check.error("missing_artifact", "artifact draft gamma design")
    check.error("invalid_artifact_transition", "artifact unwaive gamma spec")
    check.error("invalid_transition", "feature transition gamma released", "merge gamma")
    for line in (
        "feature create",  # missing argument
        "frobnicate",  # unknown command
        "feature frobnicate",  # unknown subcommand
        "feature",  # group without a subcommand
        "feature transition gamma qa --force",  # --force needs --reason
        "comment create gamma x --task T1 --artifact spec",
    ):
        check.error("usage_error", line, exit_code=2)
    for line in (
        "artifact draft gamma bogus",  # checked by the engine
        "score set gamma --lens x --value 101",
        "feature list --phase bogus",  # checked by the parser (click BadParameter)
        "history --limit abc",
        "history --limit 0",
        "feature list --bogus",  # an unknown option has the same wording, "invalid value"
    ):
        assert check.error("invalid_value", line, exit_code=2)["message"].startswith("invalid value"), line
    elsewhere = project.parent / "uninitialized"
    elsewhere.mkdir()
    check.error("not_initialized", "feature list", runner=InProcess(elsewhere, capsys))


def _features_and_tasks(check: Checker) -> None:
    created = check("feature create alpha --description 'First one'")
    assert created == {"feature": "alpha", "phase": "draft", "title": "alpha", "transitioned": []}
    check.each("feature create beta --depends-on alpha", "feature create gamma --title Gamma")
    check("feature update gamma --title G --description ''", {"changes": {"title": "G", "description": None}})
    check.each("feature update gamma --description third", "feature update beta --clear-depends-on")
    check.each("feature update beta --depends-on alpha", "feature list --phase draft")
    rows = check("feature list")
    assert [r["slug"] for r in rows] == ["alpha", "beta", "gamma"] and "description" not in rows[1]
    check("feature show alpha", {"description": "First one", "scores": []})
    assert check("query search gam")[0]["slug"] == "gamma"
    check("next --for alpha", {"action": "create_spec", "output_path": ".sdlc/features/alpha/spec.md"})
    assert check("next --for alpha --explain")["explain"][-1]["matched"] is True
    assert len(check("next")) == 3 and check("query ready")
    check("focus", {"feature": "alpha"})

    check("task add alpha Write the code", {"task": {"id": "T1", "depends_on": []}})
    check.each("task add alpha 'Test it' --depends T1", "task add alpha Scratch --description tmp")
    check("task remove alpha T3", {"task": {"id": "T3"}})
    check.error("invalid_transition", "task remove alpha T1")  # T2 depends on it
    edited = check("task edit alpha T2 --title Test --description ''")
    assert edited["changes"] == {"title": "Test", "description": None}
    check.each("task edit alpha T2 --depends T1", "task start alpha T1")
    check("task block alpha T2 waiting on T1", {"task": {"blocker": "waiting on T1"}, "changed": True})
    check.each("task unblock alpha T2", "task complete alpha T1")
    check("task complete alpha T1", {"changed": False})
    check.each("task reopen alpha T1", "task start alpha T1")
    got = check("task get alpha T1", {"feature": "alpha", "status": "in_progress"})
    assert "started_at" in got
    assert len(check("task list alpha")) == 2 and len(check("task list")) == 2
    assert check("task search test")[0]["id"] == "T2"
    check("task search nothing-like-this --slug alpha", [])


def _comments_and_blockers(check: Checker) -> None:
    check("comment create alpha 'Which DB?' --flag question", {"comment": {"target": {"kind": "feature"}}})
    check("comment create alpha 'On T1' --task T1")
    check("comment create alpha 'Spec note' --artifact spec --flag fyi --by bob")
    check("next --for alpha", {"rule": "blocker_comment"})
    assert [c["feature"] for c in check("query blocked")] == ["alpha"] and check("project blockers")
    check("focus --include-human", {"feature": "alpha"})
    assert len(check("comment list alpha")) == 3 and len(check("comment list alpha --task T1")) == 1
    check("comment resolve alpha C1 --by bob", {"changed": True, "comment": {"resolved_by": "bob"}})
    check("comment resolve alpha C1", {"changed": False})
    check("comment remove alpha C2")
    assert len(check("comment list alpha --all")) == 2
    check("comment list beta", [])

    check.each("feature block gamma needs legal", "feature block gamma 'and budget'")
    check("next --for gamma", {"action": "unblock_dependency"})
    check("state", {"blocked": [{"feature": "gamma", "reason": "needs legal; and budget"}]})
    check("feature unblock gamma", {"removed": ["and budget"], "blockers": ["needs legal"]})
    check("feature unblock gamma --all")


def _artifact_moves(check: Checker, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_artifact(project, "gamma", "spec.md", "v1\n")
    check("artifact draft gamma spec")
    check("artifact draft gamma spec", {"changed": False})
    assert check("query needs-approval")[0]["action"] == "approve_spec"
    rejected = check("artifact reject gamma spec --needs-fix --reason 'too vague'")
    assert rejected["artifact"]["status"] == "needs_fix"
    write_artifact(project, "gamma", "spec.md", "v2\n")
    check.each("artifact draft gamma spec", "artifact fail gamma spec --reason lint")
    check("artifact pass gamma spec --by ci", {"transitioned": ["specified"]})
    check.each("artifact reject gamma spec", "artifact draft gamma spec")
    monkeypatch.setenv("SDLC_AGENT", "1")
    check.error("agent_forbidden", "artifact approve gamma spec")
    monkeypatch.delenv("SDLC_AGENT")
    check.error("agent_forbidden", "artifact approve gamma spec --by tester")
    assert check("artifact approve gamma spec --by al", {"transitioned": []})["artifact"]["content_sha256"]
    check("artifact waive gamma design --reason tiny", {"artifact": {"waive_reason": "tiny"}})
    check("artifact unwaive gamma design")
    assert [r["condition"] for r in check("artifact status gamma")[:2]] == ["fresh", "missing"]
    same = check("feature transition gamma specified")
    assert same == {"feature": "gamma", "phase": "specified", "changed": False, "transitioned": []}
    forced = check("feature transition gamma planned --force --reason 'design later'", {"changed": True})
    assert forced["transitioned"][0] == "planned"


def _scores_and_lifecycle(check: Checker, project: Path) -> None:
    config = project / ".sdlc" / "config.yaml"
    gate = {"name": "lint", "type": "shell", "command": "true"}
    _edit_yaml(config, lambda c: c.update(gates={"create_spec": [gate]}))
    check("next --for alpha", {"gates": [{"name": "lint", "type": "shell"}]})
    _edit_yaml(config, lambda c: c.pop("gates"))

    scored = check("score set alpha --lens implementation --value 90 --evaluator bob")
    assert scored["score"]["score"] == 90 and scored["score"]["deductions"] == []
    check("score set alpha --lens product_fit --value 85")
    assert {r["lens"] for r in check("score show alpha")["lenses"]} == {"implementation", "product_fit"}
    check("score show beta", {"lenses": []})
    assert len(check("score history alpha")) == 2
    check("score history beta", [])

    check("comment resolve alpha C3")
    for kind, name in (("spec", "spec.md"), ("design", "design.md"), ("tasks", "tasks.md")):
        _approve(check, project, "alpha", kind, name)
    last = _approve(check, project, "alpha", "qa_plan", "qa-plan.md")
    assert last["transitioned"] == ["planned", "ready", "implementation"]
    check("next --for alpha", {"task_id": "T1"})
    check("next --for beta", {"rule": "artifact_next"})
    check.each("task complete alpha T1", "task complete alpha T2")
    _approve(check, project, "alpha", "review", "review.md")
    _approve(check, project, "alpha", "audit", "audit.md")
    write_artifact(project, "alpha", "qa-results.md", "all green\n")
    check("artifact draft alpha qa_results")
    check("artifact pass alpha qa_results --by ci", {"phase": "merge"})
    check("next --for alpha", {"action": "merge"})
    check("merge alpha", {"feature": "alpha", "phase": "released", "transitioned": ["released"]})
    check.error("invalid_transition", "task add alpha late")  # new work after review
    check("next --for alpha", {"action": "done", "next_command": ""})
    check("project stats")


def _milestones_archive_history(check: Checker) -> None:
    check("milestone create m1 --title One --feature alpha", {"status": "verifying", "vision": None})
    check("milestone add-feature m1 beta --position 1")
    check("milestone reorder m1 alpha beta", {"features": ["alpha", "beta"]})
    check("milestone update m1 --vision 'ship it' --description d")
    check("milestone info m1", {"vision": "ship it"})
    assert len(check("milestone tasks m1")) == 2
    assert [c["feature"] for c in check("milestone review m1")["review"]] == ["alpha", "beta"]
    check.each("milestone remove-feature m1 beta", "milestone create m2 --title Two --feature beta")
    check.each("milestone create m3 --title Three", "milestone create m4 --title Four")
    check.error("invalid_transition", "milestone release m2")
    check("milestone release m1", {"status": "released"})
    assert check("milestone complete m2 --force")["released_at"]
    check("milestone skip m3", {"status": "skipped"})
    assert check("milestone cancel m4")["skipped_at"]
    assert {m["status"] for m in check("milestone list")} == {"released", "skipped"}
    check("state")

    check("archive gamma", {"archived": True})
    check.each("feature unarchive gamma", "feature archive gamma")
    assert [r["slug"] for r in check("feature list")] == ["alpha", "beta"]
    check("next --for gamma", {"rule": "archived"})

    events = check("history --limit 500")
    assert {"feature.created", "milestone.created"} <= {e["type"] for e in events}
    assert any("feature" not in e for e in events)  # project-wide events omit it
    assert len(check("history --for beta --limit 3")) == 3


def test_every_command_output_matches_its_schema(
    project: Path, sdlc: InProcess, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    check = Checker(sdlc)
    _empty_project(check, project, capsys)
    _features_and_tasks(check)
    _comments_and_blockers(check)
    _artifact_moves(check, project, monkeypatch)
    _scores_and_lifecycle(check, project)
    _milestones_archive_history(check)

    # -- shapes only hand-written files produce ------------------------------------------------------
    deduction = {"severity": "minor", "points": 5, "description": "naming", "location": "a.py:3"}
    manifest = project / ".sdlc" / "features" / "alpha" / "manifest.yaml"
    _edit_yaml(manifest, lambda m: m["scores"][0]["deductions"].append(deduction))
    assert check("score history alpha")[0]["deductions"] == [deduction]
    check("feature show alpha")
    state_file = project / ".sdlc" / "state.yaml"
    work = dict(feature="beta", action="create_spec", started_at="2024-01-01T00:00:00Z", timeout_minutes=1)
    _edit_yaml(state_file, lambda s: s.update(active_work=[work]))
    check("state", {"active_work": [work]})

    # -- doctor with problems, and --fix ------------------------------------------------------------
    state_file.unlink()
    assert check("doctor", {"ok": False}, code=1)["problems"][0]["fixable"] is True
    assert check("doctor --fix", {"ok": True})["fixed"]

    # -- errors, then a corrupt manifest --------------------------------------------------------------
    _errors(check, project, capsys)
    bad = project / ".sdlc" / "features" / "broken"
    bad.mkdir()
    (bad / "manifest.yaml").write_text("slug: [unclosed\n")
    check.error("corrupt_file", "feature show broken")
    listed = sdlc("feature", "list", json_mode=True)
    assert listed.code == 0 and listed.err.startswith("warning: ")
    check.validate("sdlc feature list", listed.data, "feature list with a corrupt manifest")
    _edit_yaml(project / ".sdlc" / "config.yaml", lambda c: c["phases"].update(enabled=["draft", "bogus"]))
    check.error("config_invalid", "next --for beta")

    # -- everything was exercised --------------------------------------------------------------------
    area_schemas = {schemas.file_name(stem) for area in schemas.generate.AREAS for stem in area.SCHEMAS}
    unused = sorted(set(check.validators) - check.used_schemas - area_schemas)
    assert not unused, f"schemas never validated against a real output: {unused}"
    untested = sorted(set(check.index) - check.used_keys - schemas.generate.AREA_COMMANDS)
    assert not untested, f"index.json commands never run in this test: {untested}"


@pytest.mark.parametrize("group", ["feature", "task", "milestone"])
def test_group_without_subcommand_prints_one_error_document(sdlc: InProcess, group: str) -> None:
    check = Checker(sdlc)
    body = check.error("usage_error", group, exit_code=2)  # one document, validated
    assert body == {"code": "usage_error", "message": MISSING, "hint": f"see `sdlc {group} --help`"}
    assert "Usage" not in check.last.out + check.last.err


def test_unknown_manifest_fields_are_printed_and_still_validate(
    project: Path, sdlc: InProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    """A hand-written or reference-tool manifest may hold fields sdlc does not know; it keeps
    them and prints them: the feature, artifact entries, tasks, comments allow extra keys."""
    check = Checker(sdlc)
    check.each("feature create alpha", "task add alpha First", "comment create alpha note")
    check("milestone create m1 --title One --feature alpha")

    def add_unknown(m: dict[str, Any]) -> None:
        m["reference_owner"] = {"team": "core", "since": 2023}
        m["tasks"][0]["estimate_hours"] = 3
        m["artifacts"][0]["reviewers"] = ["bob"]
        m["comments"][0]["reactions"] = ["+1"]

    _edit_yaml(project / ".sdlc" / "features" / "alpha" / "manifest.yaml", add_unknown)
    _edit_yaml(project / ".sdlc" / "milestones" / "m1" / "manifest.yaml", lambda m: m.update(owner="ann"))

    shown = check("feature show alpha", {"reference_owner": {"team": "core", "since": 2023}})
    assert shown["tasks"][0]["estimate_hours"] == 3 and shown["artifacts"][0]["reviewers"] == ["bob"]
    assert shown["comments"][0]["reactions"] == ["+1"]
    check("task get alpha T1", {"estimate_hours": 3})
    check("task start alpha T1", {"task": {"estimate_hours": 3}})
    check("comment resolve alpha C1", {"comment": {"reactions": ["+1"]}})
    assert check("task list alpha")[0]["estimate_hours"] == 3
    assert check("comment list alpha --all")[0]["reactions"] == ["+1"]
    assert check("artifact status alpha")[0]["reviewers"] == ["bob"]
    check.each("milestone info m1", "milestone review m1")
    # what is not read from a manifest still refuses unknown keys
    summary = Draft202012Validator(schemas.schema_files()["feature-summary-list.schema.json"])
    assert not summary.is_valid([{**check("feature list")[0], "reference_owner": "x"}])
