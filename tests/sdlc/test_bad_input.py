"""Bad input is refused cleanly (spec/sdlc.md §1, §2, §4, §5, §7).

Every refusal is checked twice, in text mode and in JSON mode, and each time for:
the documented error code (JSON: exactly `{"error": {"code", "message", "hint"}}` on stdout,
nothing on stderr), the message (text: `error: <message>` on stderr, then a `hint: ...` line
whenever the JSON hint is not null, nothing on stdout), the exit code (1 error, 2 usage), no
"Traceback" anywhere, and no file changed (`tree_snapshot`, which skips `.sdlc/.cache`).

Subprocess-level checks (closed stdout pipe, SDLC_DEBUG, root discovery) live in
test_cli_process.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import InProcess, tree_snapshot, write_artifact
from sdlc.errors import InvalidSlug
from sdlc.names import check_comment_id, check_slug, check_task_id
from sdlc.ops.artifacts import move_artifact
from sdlc.ops.comments import create_comment
from sdlc.ops.features import create_feature, update_feature
from sdlc.ops.init import init_project
from sdlc.ops.milestones import create_milestone
from sdlc.ops.tasks import add_task, move_task
from sdlc.paths import ProjectPaths
from sdlc.store import Store

SLUG_MESSAGE = "invalid slug '{}': must be lowercase alphanumeric with hyphens"
BAD_SLUGS = ["../x", "A B", "x/", "-x", "x-", "a" * 65, ".."]
BAD_YAML = b"slug: bad\nphase: [draft\ntitle: {{{\n"
BAD_MANIFEST = ".sdlc/features/bad/manifest.yaml"


# -- helpers ------------------------------------------------------------------------------


def snapshot(root: Path) -> dict[str, bytes]:
    return dict(tree_snapshot(root))


def refused(
    run: InProcess,
    args: list[str],
    code: str,
    message: str | None = None,
    *,
    contains: tuple[str, ...] = (),
    exit_code: int = 1,
) -> dict[str, Any]:
    """Run `args` in text and in JSON mode: both refused alike, with nothing written.

    `message` is matched exactly, `contains` as fragments. Returns the JSON error object."""
    before = snapshot(run.root)

    text = run(*args)
    assert text.code == exit_code, text
    assert text.out == "", text
    assert "Traceback" not in text.err, text.err
    assert snapshot(run.root) == before, "text mode changed a file"
    lines = text.err.splitlines()
    assert lines, text
    assert lines[0].startswith("error: "), text.err
    text_message = lines[0][len("error: ") :]

    js = run("--json", *args)
    assert js.code == exit_code, js
    assert js.err == "", js
    assert snapshot(run.root) == before, "JSON mode changed a file"
    document = json.loads(js.out)
    assert set(document) == {"error"}, document
    error = document["error"]
    assert set(error) == {"code", "message", "hint"}, error
    assert error["code"] == code, error
    assert error["message"] == text_message
    if message is not None:
        assert error["message"] == message, error
    for fragment in contains:
        assert fragment in error["message"], (fragment, error)
    # text mode: the hint line is there exactly when there is a hint
    hints = [line for line in lines[1:] if line.startswith("hint: ")]
    assert hints == ([f"hint: {error['hint']}"] if error["hint"] else []), text.err
    assert len(lines) == 1 + len(hints), text.err
    return error


def usage_refused(run: InProcess, args: list[str], wording: str) -> dict[str, Any]:
    """A usage error: exit 2, the spec's wording in the message, nothing written. JSON code:
    `invalid_value` for a bad value (the code the engine's own value checks use too), else
    `usage_error` (the spec names neither; docs/schemas/error.schema.json lists both)."""
    code = "invalid_value" if wording == "invalid value" else "usage_error"
    error = refused(run, args, code, contains=(wording,), exit_code=2)
    assert error["hint"], error
    return error


def slug_args(command: str, slug: str) -> list[str]:
    """argv for `command` applied to `slug`; `--` keeps a leading '-' a positional value."""
    return {
        "feature create": ["feature", "create", "--", slug],
        "feature show": ["feature", "show", "--", slug],
        "next --for": ["next", f"--for={slug}"],
        "task add": ["task", "add", "--", slug, "a title"],
        "artifact draft": ["artifact", "draft", "--", slug, "spec"],
        "milestone create": ["milestone", "create", "--title", "T", "--", slug],
    }[command]


def corrupt(root: Path, slug: str = "bad", content: bytes = BAD_YAML) -> Path:
    path = root / ".sdlc" / "features" / slug / "manifest.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once: feature `alpha` in draft (tasks T1 completed, T2 pending; comment C1),
    feature `beta` whose spec is approved (auto-advanced to specified), milestone `m1`.
    Its `.sdlc/.lock` exists already, as in any project used once."""
    root = tmp_path_factory.mktemp("template") / "proj"
    root.mkdir()
    init_project(root)
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("SDLC_AGENT", raising=False)
        store = Store(root)
        create_feature(store, "tester", "alpha")
        add_task(store, "tester", "alpha", "first")
        add_task(store, "tester", "alpha", "second")
        move_task(store, "tester", "alpha", "T1", "complete")
        create_comment(store, "tester", "alpha", "hello")
        create_milestone(store, "tester", "m1", "One", None)
        create_feature(store, "tester", "beta")
        write_artifact(root, "beta", "spec.md")
        move_artifact(store, "agent", "beta", "spec", "draft", by="agent")
        move_artifact(store, "boss", "beta", "spec", "approve", by="boss")
        assert store.load_feature("beta").phase == "specified"
    return root


@pytest.fixture
def base(template: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> InProcess:
    """A fresh copy of the template project (without its cache)."""
    root = tmp_path / "proj"
    shutil.copytree(template, root, ignore=shutil.ignore_patterns(".cache"))
    return InProcess(root, capsys)


# -- slugs ----------------------------------------------------------------------------------

SLUG_COMMANDS = [
    "feature create",
    "feature show",
    "next --for",
    "task add",
    "artifact draft",
    "milestone create",
]


@pytest.mark.parametrize("command", SLUG_COMMANDS)
@pytest.mark.parametrize("slug", BAD_SLUGS, ids=lambda s: f"{s[:6]}({len(s)})")
def test_bad_slug_is_refused(base: InProcess, command: str, slug: str) -> None:
    refused(base, slug_args(command, slug), "invalid_slug", SLUG_MESSAGE.format(slug))


def test_leading_dash_without_separator_is_a_usage_error(base: InProcess) -> None:
    """`sdlc feature show -x` is parsed as an unknown option: a usage error, nothing read."""
    usage_refused(base, ["feature", "show", "-x"], "invalid value")


@pytest.mark.parametrize("slug", ["a", "a" * 64, "x-1", "0", "a-b-c9"])
def test_boundary_slugs_are_accepted(base: InProcess, slug: str) -> None:
    base.ok("feature", "create", slug)
    assert base.json("feature", "show", slug)["slug"] == slug


@pytest.mark.parametrize(
    "args",
    [
        ["feature", "update", "--title", "x", "--", "{s}"],
        ["feature", "transition", "--", "{s}", "specified"],
        ["feature", "archive", "--", "{s}"],
        ["feature", "block", "--", "{s}", "why"],
        ["feature", "create", "ok", "--depends-on", "{s}"],
        ["feature", "update", "alpha", "--depends-on", "{s}"],
        ["task", "list", "--", "{s}"],
        ["task", "start", "--", "{s}", "T1"],
        ["comment", "create", "--", "{s}", "body"],
        ["comment", "list", "--", "{s}"],
        ["artifact", "status", "--", "{s}"],
        ["artifact", "approve", "--", "{s}", "spec"],
        ["history", "--for", "{s}"],
        ["milestone", "info", "--", "{s}"],
        ["milestone", "add-feature", "m1", "--", "{s}"],
        ["milestone", "create", "m2", "--title", "T", "--feature", "{s}"],
        ["score", "show", "--", "{s}"],
        ["merge", "--", "{s}"],
        ["archive", "--", "{s}"],
    ],
    ids=lambda a: " ".join(a[:2]),
)
@pytest.mark.parametrize("slug", ["../x", "A B", "x/"])
def test_bad_slug_is_refused_everywhere(base: InProcess, args: list[str], slug: str) -> None:
    argv = [a.replace("{s}", slug) for a in args]
    refused(base, argv, "invalid_slug", SLUG_MESSAGE.format(slug))


@pytest.mark.parametrize(
    "args",
    [
        ["task", "start", "alpha", "{id}"],
        ["task", "get", "alpha", "{id}"],
        ["task", "remove", "alpha", "{id}"],
        ["task", "block", "alpha", "{id}", "why"],
        ["task", "edit", "alpha", "T2", "--depends", "{id}"],
        ["task", "add", "alpha", "new", "--depends", "{id}"],
        ["comment", "create", "alpha", "body", "--task", "{id}"],
        ["comment", "list", "alpha", "--task", "{id}"],
    ],
    ids=lambda a: " ".join(a[:2]),
)
@pytest.mark.parametrize("task_id", ["T0", "t1", "T1/..", "T", "T01", "../T1"])
def test_bad_task_id_is_refused(base: InProcess, args: list[str], task_id: str) -> None:
    argv = [a.replace("{id}", task_id) for a in args]
    refused(base, argv, "invalid_slug", f"invalid task id '{task_id}': must look like T1")


@pytest.mark.parametrize("command", ["resolve", "remove"])
@pytest.mark.parametrize("comment_id", ["C0", "c1", "C1/..", "C", "T1", "../C1"])
def test_bad_comment_id_is_refused(base: InProcess, command: str, comment_id: str) -> None:
    refused(
        base,
        ["comment", command, "alpha", comment_id],
        "invalid_slug",
        f"invalid comment id '{comment_id}': must look like C1",
    )


def _is_slug_reference(value: str) -> bool:
    """§1 written out without a regex."""
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789-")
    return (
        1 <= len(value) <= 64
        and all(c in allowed for c in value)
        and not value.startswith("-")
        and not value.endswith("-")
    )


SLUGGISH = st.text(alphabet="abz09-./ A_\n\x00é", max_size=70)
VALID = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?", fullmatch=True)
ANY_STRING = st.one_of(st.text(max_size=80), SLUGGISH, VALID, VALID.map(lambda s: s + "\n"))


@given(ANY_STRING)
def test_check_slug_accepts_exactly_the_slug_grammar(value: str) -> None:
    if _is_slug_reference(value):
        assert check_slug(value) == value
    else:
        with pytest.raises(InvalidSlug) as info:
            check_slug(value)
        assert info.value.message == SLUG_MESSAGE.format(value)


@given(st.one_of(st.text(max_size=20), st.from_regex(r"[TC][0-9]{1,10}", fullmatch=True)))
def test_task_and_comment_ids_follow_their_grammar(value: str) -> None:
    for prefix, check in (("T", check_task_id), ("C", check_comment_id)):
        ok = (
            len(value) >= 2
            and value[0] == prefix
            and value[1:].isascii()
            and value[1:].isdigit()
            and value[1] != "0"
            and len(value) <= 10
        )
        if ok:
            assert check(value) == value
        else:
            with pytest.raises(InvalidSlug):
                check(value)


class _PathRecorder:
    """Records every path an audit event (open, mkdir, rename, scandir, ...) names under
    one directory while armed. One audit hook per process; disarmed it does nothing."""

    EVENTS = frozenset(
        {
            "open",
            "os.mkdir",
            "os.rename",
            "os.replace",
            "os.remove",
            "os.rmdir",
            "os.scandir",
            "os.listdir",
            "os.chmod",
            "os.truncate",
            "os.link",
            "os.symlink",
            "os.utime",
            "shutil.rmtree",
            "shutil.move",
        }
    )

    def __init__(self) -> None:
        self.under: str | None = None
        self.seen: list[str] = []
        sys.addaudithook(self._hook)

    def _hook(self, event: str, args: tuple[Any, ...]) -> None:
        if self.under is None or event not in self.EVENTS:
            return
        for arg in args:
            if isinstance(arg, (str, bytes, Path)):
                text = str(arg if not isinstance(arg, bytes) else arg.decode(errors="replace"))
                if text.startswith(self.under):
                    self.seen.append(text)

    def watch(self, directory: Path) -> _Watch:
        return _Watch(self, directory)


class _Watch:
    def __init__(self, recorder: _PathRecorder, directory: Path) -> None:
        self.recorder = recorder
        self.directory = str(directory.resolve())

    def __enter__(self) -> list[str]:
        self.recorder.seen = []
        self.recorder.under = self.directory
        return self.recorder.seen

    def __exit__(self, *exc: object) -> None:
        self.recorder.under = None


_RECORDER: _PathRecorder | None = None


def _recorder() -> _PathRecorder:
    global _RECORDER
    if _RECORDER is None:
        _RECORDER = _PathRecorder()
    return _RECORDER


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=ANY_STRING.filter(lambda s: not _is_slug_reference(s)))
def test_refused_slug_touches_no_path(base: InProcess, value: str) -> None:
    """For a refused slug the library never opens, creates, lists, renames or removes a path
    outside .sdlc/features, and the tree is unchanged. Reads and creates refuse before they
    touch anything at all. Mutations of an existing feature first take `.sdlc/.lock` and look
    for `.sdlc/.journal`; those fixed paths are tolerated here (creating the lock is pinned by
    test_refused_slug_creates_no_lock_file), but no path holding `..` is ever used."""
    root = base.root.resolve()
    store = Store(root)
    features = str(root / ".sdlc" / "features")
    # the transaction's fixed bookkeeping paths, taken before the slug is read (see below)
    bookkeeping = {str(root / ".sdlc" / name) for name in ("", ".lock", ".journal")}
    bookkeeping.add(str(root / ".sdlc"))
    before = snapshot(root)
    untouched = [
        lambda: store.load_feature(value),
        lambda: store.load_milestone(value),
        lambda: create_feature(store, "t", value),
        lambda: create_milestone(store, "t", value, "T", None),
        lambda: ProjectPaths(root).feature_dir(value),
        lambda: ProjectPaths(root).artifact_file(value, "spec"),
        lambda: ProjectPaths(root).milestone_manifest(value),
    ]
    locked = [
        lambda: update_feature(store, "t", value, title="x"),
        lambda: create_feature(store, "t", "ok", depends_on=[value]),
        lambda: add_task(store, "t", value, "title"),
        lambda: move_artifact(store, "t", value, "spec", "draft"),
        lambda: create_comment(store, "t", value, "body"),
    ]
    recorder = _recorder()
    with recorder.watch(root.parent) as seen:
        for call in untouched:
            with pytest.raises(InvalidSlug):
                call()
        assert seen == [], seen
        for call in locked:
            with pytest.raises(InvalidSlug):
                call()
    assert not [p for p in seen if ".." in Path(p).parts], seen
    normal = [os.path.normpath(p) for p in seen]
    outside = [p for p in normal if p not in bookkeeping and not p.startswith(features + "/")]
    assert outside == [], outside
    assert snapshot(root) == before


@pytest.mark.parametrize(
    "args",
    [
        ["feature", "update", "--title", "x", "--", "../x"],
        ["task", "add", "--", "../x", "title"],
        ["artifact", "draft", "--", "../x", "spec"],
        ["comment", "create", "--", "../x", "body"],
        ["feature", "create", "ok", "--depends-on", "../x"],
        ["milestone", "add-feature", "--", "../x", "ok"],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_refused_slug_creates_no_lock_file(sdlc: InProcess, args: list[str]) -> None:
    """§1 "Every command checks a slug before it touches a path": in a project never
    mutated (no .sdlc/.lock yet), a command refused for its slug leaves the tree as it was."""
    lock = sdlc.root / ".sdlc" / ".lock"
    assert not lock.exists()
    result = sdlc(*args)
    assert result.code == 1 and SLUG_MESSAGE.format("../x") in result.err, result
    assert not lock.exists(), "a command refused for its slug created .sdlc/.lock"
    refused(sdlc, args, "invalid_slug", SLUG_MESSAGE.format("../x"))


@given(VALID)
def test_accepted_slug_stays_inside_features(value: str) -> None:
    paths = ProjectPaths(Path("/nonexistent/proj"))
    assert paths.feature_dir(value).parent == paths.features
    assert paths.feature_dir(value).name == value


# -- unknown things ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["feature", "show", "nope"],
        ["feature", "update", "nope", "--title", "x"],
        ["feature", "transition", "nope", "specified"],
        ["feature", "archive", "nope"],
        ["feature", "block", "nope", "why"],
        ["next", "--for", "nope"],
        ["task", "add", "nope", "title"],
        ["task", "list", "nope"],
        ["artifact", "draft", "nope", "spec"],
        ["artifact", "status", "nope"],
        ["comment", "create", "nope", "body"],
        ["history", "--for", "nope"],
        ["merge", "nope"],
        ["score", "show", "nope"],
    ],
    ids=" ".join,
)
def test_unknown_feature(base: InProcess, args: list[str]) -> None:
    refused(base, args, "feature_not_found", contains=("'nope'",))


def test_unknown_feature_message(base: InProcess) -> None:
    refused(base, ["feature", "show", "nope"], "feature_not_found", "feature 'nope' not found")


@pytest.mark.parametrize(
    "args",
    [
        ["feature", "create", "gamma", "--depends-on", "nope"],
        ["feature", "update", "alpha", "--depends-on", "nope"],
        ["milestone", "create", "m2", "--title", "T", "--feature", "nope"],
        ["milestone", "add-feature", "m1", "nope"],
    ],
    ids=" ".join,
)
def test_reference_to_unknown_feature(base: InProcess, args: list[str]) -> None:
    refused(base, args, "feature_not_found", contains=("'nope'",))


@pytest.mark.parametrize(
    "args",
    [
        ["task", "start", "alpha", "T99"],
        ["task", "complete", "alpha", "T99"],
        ["task", "get", "alpha", "T99"],
        ["task", "remove", "alpha", "T99"],
        ["task", "edit", "alpha", "T99", "--title", "x"],
        ["task", "edit", "alpha", "T2", "--depends", "T99"],
        ["task", "add", "alpha", "x", "--depends", "T99"],
        ["comment", "create", "alpha", "body", "--task", "T99"],
    ],
    ids=" ".join,
)
def test_unknown_task(base: InProcess, args: list[str]) -> None:
    refused(base, args, "task_not_found", contains=("T99",))


@pytest.mark.parametrize("command", ["resolve", "remove"])
def test_unknown_comment(base: InProcess, command: str) -> None:
    refused(base, ["comment", command, "alpha", "C9"], "comment_not_found", contains=("C9",))


@pytest.mark.parametrize(
    "args",
    [
        ["milestone", "info", "nope"],
        ["milestone", "tasks", "nope"],
        ["milestone", "review", "nope"],
        ["milestone", "add-feature", "nope", "alpha"],
        ["milestone", "remove-feature", "nope", "alpha"],
        ["milestone", "update", "nope", "--title", "x"],
        ["milestone", "release", "nope"],
        ["milestone", "skip", "nope"],
    ],
    ids=" ".join,
)
def test_unknown_milestone(base: InProcess, args: list[str]) -> None:
    refused(base, args, "milestone_not_found", contains=("'nope'",))


# -- corrupt files ----------------------------------------------------------------------------

WARNING = re.compile(r"^warning: corrupt file (\S+): (.+)$")


def corrupt_warnings(err: str) -> list[str]:
    """The paths named by `warning: corrupt file <path>: <reason>` lines; every stderr line
    must be one."""
    paths = []
    for line in err.splitlines():
        match = WARNING.match(line)
        assert match, f"unexpected stderr line: {line!r}"
        paths.append(match.group(1))
    return paths


CORRUPT_CONTENT = {
    "bad-yaml": BAD_YAML,
    "not-a-mapping": b"- just\n- a list\n",
    "bad-field": b"slug: bad\ntitle: Bad\nphase: nowhere\nartifacts: 7\n",
}


@pytest.fixture(params=list(CORRUPT_CONTENT))
def with_corrupt(request: pytest.FixtureRequest, base: InProcess) -> InProcess:
    """`alpha` and `beta` are fine; `bad` has a manifest that does not parse (or not as a
    feature)."""
    corrupt(base.root, content=CORRUPT_CONTENT[request.param])
    return base


def test_show_corrupt_feature(with_corrupt: InProcess) -> None:
    for args in (["feature", "show", "bad"], ["next", "--for", "bad"], ["artifact", "status", "bad"]):
        refused(with_corrupt, args, "corrupt_file", contains=(f"corrupt file {BAD_MANIFEST}",))


LISTINGS = [
    ["feature", "list"],
    ["next"],
    ["state"],
    ["query", "ready"],
    ["focus"],
    ["task", "list"],
    ["task", "search", "first"],
    ["query", "search", "a"],
]


@pytest.mark.parametrize("json_mode", [False, True], ids=["text", "json"])
@pytest.mark.parametrize("args", LISTINGS, ids=lambda a: " ".join(a[:2]))
@pytest.mark.parametrize("kind", list(CORRUPT_CONTENT))
def test_listing_skips_corrupt_feature(base: InProcess, kind: str, args: list[str], json_mode: bool) -> None:
    """Normal output for the others, one warning line for the bad file, exit 0, no write."""
    corrupt(base.root, content=CORRUPT_CONTENT[kind])
    before = snapshot(base.root)
    result = base(*args, json_mode=json_mode)
    assert result.code == 0, result
    assert "Traceback" not in result.err
    assert "alpha" in result.out, result.out
    if json_mode:
        assert '"bad"' not in result.out and "features/bad" not in result.out
        json.loads(result.out)
    else:
        assert not any(line.split()[:1] == ["bad"] for line in result.out.splitlines()), result.out
    assert snapshot(base.root) == before
    assert corrupt_warnings(result.err) == [BAD_MANIFEST]


def test_listing_warns_once_per_corrupt_file(base: InProcess) -> None:
    corrupt(base.root, "bad", CORRUPT_CONTENT["not-a-mapping"])
    corrupt(base.root, "worse", CORRUPT_CONTENT["bad-field"].replace(b"slug: bad", b"slug: worse"))
    for args in LISTINGS:
        result = base(*args)
        assert result.code == 0, result
        assert sorted(corrupt_warnings(result.err)) == [
            BAD_MANIFEST,
            ".sdlc/features/worse/manifest.yaml",
        ], (args, result.err)
        assert "alpha" in result.out


def test_feature_list_json_names_only_good_features(with_corrupt: InProcess) -> None:
    result = with_corrupt("feature", "list", json_mode=True)
    assert result.code == 0
    assert [f["slug"] for f in result.data] == ["alpha", "beta"]
    state = with_corrupt("state", json_mode=True)
    assert [f["feature"] for f in state.data["active_features"]] == ["alpha", "beta"]


@pytest.mark.parametrize(
    "args",
    [
        ["feature", "update", "bad", "--title", "x"],
        ["feature", "transition", "bad", "specified"],
        ["feature", "archive", "bad"],
        ["feature", "block", "bad", "why"],
        ["task", "add", "bad", "title"],
        ["artifact", "draft", "bad", "spec"],
        ["comment", "create", "bad", "body"],
        ["feature", "create", "gamma", "--depends-on", "bad"],
        ["feature", "update", "alpha", "--depends-on", "bad"],
        ["milestone", "add-feature", "m1", "bad"],
    ],
    ids=" ".join,
)
def test_mutating_corrupt_feature_is_refused(with_corrupt: InProcess, args: list[str]) -> None:
    write_artifact(with_corrupt.root, "bad", "spec.md")
    manifest = with_corrupt.root / BAD_MANIFEST
    content = manifest.read_bytes()
    refused(with_corrupt, args, "corrupt_file", contains=(f"corrupt file {BAD_MANIFEST}",))
    assert manifest.read_bytes() == content


def test_create_over_corrupt_feature_is_refused(with_corrupt: InProcess) -> None:
    manifest = with_corrupt.root / BAD_MANIFEST
    content = manifest.read_bytes()
    refused(with_corrupt, ["feature", "create", "bad"], "feature_exists", contains=("'bad'",))
    assert manifest.read_bytes() == content


def test_corrupt_milestone_is_skipped_and_refused(base: InProcess) -> None:
    path = base.root / ".sdlc" / "milestones" / "m1" / "manifest.yaml"
    path.write_bytes(BAD_YAML)
    result = base("milestone", "list")
    assert result.code == 0, result
    assert corrupt_warnings(result.err) == [".sdlc/milestones/m1/manifest.yaml"]
    refused(
        base, ["milestone", "info", "m1"], "corrupt_file", contains=(".sdlc/milestones/m1/manifest.yaml",)
    )
    refused(
        base,
        ["milestone", "add-feature", "m1", "alpha"],
        "corrupt_file",
        contains=(".sdlc/milestones/m1/manifest.yaml",),
    )
    assert path.read_bytes() == BAD_YAML


@pytest.mark.parametrize(
    "content",
    [b"version: 1\nproject: [unclosed\n", b"quality:\n  enforce: maybe\n", b"phases: 5\n"],
    ids=["bad-yaml", "bad-bool", "bad-type"],
)
@pytest.mark.parametrize(
    "args",
    [["feature", "create", "gamma"], ["next"], ["state"], ["task", "add", "alpha", "x"]],
    ids=" ".join,
)
def test_corrupt_config(base: InProcess, content: bytes, args: list[str]) -> None:
    (base.root / ".sdlc" / "config.yaml").write_bytes(content)
    refused(base, args, "config_invalid")


# -- not initialised ------------------------------------------------------------------------


@pytest.fixture
def bare(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> InProcess:
    root = tmp_path / "bare"
    root.mkdir()
    return InProcess(root, capsys)


@pytest.mark.parametrize(
    "args",
    [
        ["feature", "create", "x"],
        ["feature", "create", "x", "--depends-on", "y"],
        ["next"],
        ["next", "--for", "x"],
        ["state"],
        ["feature", "list"],
        ["feature", "show", "x"],
        ["task", "add", "x", "title"],
        ["artifact", "draft", "x", "spec"],
        ["milestone", "create", "m", "--title", "T"],
        ["query", "ready"],
        ["history"],
    ],
    ids=" ".join,
)
def test_not_initialized(bare: InProcess, tmp_path: Path, args: list[str]) -> None:
    refused(bare, args, "not_initialized")
    assert list(tmp_path.rglob(".sdlc")) == []
    assert list(tmp_path.rglob("manifest.yaml")) == []
    assert list(bare.root.iterdir()) == []


# -- refused moves -------------------------------------------------------------------------


def test_approve_missing_artifact(base: InProcess) -> None:
    """The file exists but was never drafted: missing → approved is not in the table."""
    write_artifact(base.root, "alpha", "spec.md")
    error = refused(
        base, ["artifact", "approve", "alpha", "spec", "--by", "boss"], "invalid_artifact_transition"
    )
    assert "missing" in error["message"] and "approved" in error["message"], error


@pytest.mark.parametrize(
    ("setup", "move", "statuses"),
    [
        ([], ["pass", "alpha", "spec"], ("missing", "passed")),
        ([], ["fail", "alpha", "spec", "--reason", "r"], ("missing", "failed")),
        ([], ["reject", "alpha", "spec"], ("missing", "rejected")),
        ([], ["unwaive", "alpha", "spec"], ("missing",)),
        (
            [["draft", "alpha", "spec"], ["waive", "alpha", "spec", "--reason", "r"]],
            ["approve", "alpha", "spec", "--by", "boss"],
            ("waived", "approved"),
        ),
        (
            [["draft", "alpha", "spec"], ["reject", "alpha", "spec"]],
            ["pass", "alpha", "spec"],
            ("rejected", "passed"),
        ),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) and v and isinstance(v[0], str) else None,
)
def test_refused_artifact_move_names_both_statuses(
    base: InProcess, setup: list[list[str]], move: list[str], statuses: tuple[str, ...]
) -> None:
    write_artifact(base.root, "alpha", "spec.md")
    for step in setup:
        base.ok("artifact", *step)
    error = refused(base, ["artifact", *move], "invalid_artifact_transition")
    for status in statuses:
        assert status in error["message"], error


def test_draft_without_file(base: InProcess) -> None:
    refused(
        base,
        ["artifact", "draft", "alpha", "spec"],
        "missing_artifact",
        contains=(".sdlc/features/alpha/spec.md",),
    )


def test_approve_without_file(base: InProcess) -> None:
    path = write_artifact(base.root, "alpha", "spec.md")
    base.ok("artifact", "draft", "alpha", "spec")
    path.unlink()
    refused(base, ["artifact", "approve", "alpha", "spec", "--by", "boss"], "missing_artifact")


@pytest.mark.parametrize(
    "move",
    [
        ["approve", "alpha", "spec", "--by", "boss"],
        ["approve", "alpha", "spec"],
        ["pass", "alpha", "spec"],
        ["waive", "alpha", "spec", "--reason", "r"],
        ["waive", "alpha", "design", "--reason", "r"],
    ],
    ids=" ".join,
)
@pytest.mark.parametrize("value", ["1", "true"])
def test_agent_may_not_approve_pass_or_waive(
    base: InProcess, monkeypatch: pytest.MonkeyPatch, move: list[str], value: str
) -> None:
    write_artifact(base.root, "alpha", "spec.md")
    base.ok("artifact", "draft", "alpha", "spec")
    monkeypatch.setenv("SDLC_AGENT", value)
    refused(base, ["artifact", *move], "agent_forbidden")


def test_agent_may_still_draft(base: InProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDLC_AGENT", "1")
    write_artifact(base.root, "alpha", "spec.md")
    base.ok("artifact", "draft", "alpha", "spec")


def test_no_self_approval(base: InProcess) -> None:
    write_artifact(base.root, "alpha", "spec.md")
    base.ok("artifact", "draft", "alpha", "spec", "--by", "alice")
    error = refused(base, ["artifact", "approve", "alpha", "spec", "--by", "alice"], "agent_forbidden")
    assert "alice" in error["message"]
    base.ok("artifact", "approve", "alpha", "spec", "--by", "bob")


def test_transition_backward(base: InProcess) -> None:
    refused(
        base,
        ["feature", "transition", "beta", "draft"],
        "invalid_transition",
        contains=("specified", "draft"),
    )


def test_transition_to_released(base: InProcess) -> None:
    refused(
        base,
        ["feature", "transition", "beta", "released"],
        "invalid_transition",
        contains=("released",),
    )
    refused(
        base,
        ["feature", "transition", "beta", "released", "--force", "--reason", "r"],
        "invalid_transition",
        contains=("released",),
    )


def test_transition_skipping_unmet_phase(base: InProcess) -> None:
    """alpha is in draft with no spec: the first unmet criterion is draft's (spec)."""
    error = refused(base, ["feature", "transition", "alpha", "planned"], "invalid_transition")
    assert "draft" in error["message"] and "spec" in error["message"], error


def test_transition_names_first_unmet_criterion(base: InProcess) -> None:
    error = refused(base, ["feature", "transition", "beta", "implementation"], "invalid_transition")
    assert "exit criteria of specified" in error["message"] and "design" in error["message"], error


def test_transition_of_archived_feature(base: InProcess) -> None:
    base.ok("feature", "archive", "alpha")
    refused(
        base, ["feature", "transition", "alpha", "specified"], "invalid_transition", contains=("archived",)
    )


def test_force_without_reason_is_usage(base: InProcess) -> None:
    usage_refused(base, ["feature", "transition", "alpha", "planned", "--force"], "missing required argument")


def test_merge_outside_merge_phase(base: InProcess) -> None:
    refused(base, ["merge", "alpha"], "invalid_transition", contains=("alpha",))


@pytest.mark.parametrize(
    ("task_id", "move"),
    [
        ("T1", "start"),
        ("T1", "block"),
        ("T1", "unblock"),
        ("T3", "start"),
        ("T3", "reopen"),
        ("T4", "reopen"),
        ("T4", "complete"),
    ],
)
def test_refused_task_move(base: InProcess, task_id: str, move: str) -> None:
    """T1 completed, T3 blocked, T4 in_progress: moves the task table does not allow."""
    base.ok("task", "add", "alpha", "third")
    base.ok("task", "block", "alpha", "T3", "stuck")
    base.ok("task", "add", "alpha", "fourth")
    base.ok("task", "start", "alpha", "T4")
    if move == "complete":
        base.ok("task", "block", "alpha", "T4", "stuck")
    args = ["task", move, "alpha", task_id, *(["why"] if move == "block" else [])]
    refused(base, args, "invalid_transition", contains=(task_id,))


def test_remove_task_others_depend_on(base: InProcess) -> None:
    base.ok("task", "add", "alpha", "third", "--depends", "T2")
    refused(base, ["task", "remove", "alpha", "T2"], "invalid_transition", contains=("T3",))


def test_feature_dependency_cycle(base: InProcess) -> None:
    base.ok("feature", "create", "a")
    base.ok("feature", "create", "b", "--depends-on", "a")
    refused(
        base,
        ["feature", "update", "a", "--depends-on", "b"],
        "dependency_cycle",
        "dependency cycle detected: 'a' → 'b' → 'a'",
    )


def test_feature_dependency_long_cycle_and_self(base: InProcess) -> None:
    base.ok("feature", "create", "a")
    base.ok("feature", "create", "b", "--depends-on", "a")
    base.ok("feature", "create", "c", "--depends-on", "b")
    refused(
        base,
        ["feature", "update", "a", "--depends-on", "c"],
        "dependency_cycle",
        "dependency cycle detected: 'a' → 'c' → 'b' → 'a'",
    )
    refused(
        base,
        ["feature", "update", "a", "--depends-on", "a"],
        "dependency_cycle",
        "dependency cycle detected: 'a' → 'a'",
    )


def test_task_dependency_cycle(base: InProcess) -> None:
    base.ok("task", "edit", "alpha", "T2", "--depends", "T1")
    error = refused(base, ["task", "edit", "alpha", "T1", "--depends", "T2"], "dependency_cycle")
    assert "dependency cycle detected" in error["message"] and "T1" in error["message"]
    error = refused(base, ["task", "edit", "alpha", "T2", "--depends", "T2"], "dependency_cycle")
    assert "T2" in error["message"]


def test_comment_with_task_and_artifact(base: InProcess) -> None:
    refused(
        base,
        ["comment", "create", "alpha", "body", "--task", "T1", "--artifact", "spec"],
        "usage_error",
        exit_code=2,
    )


# -- usage errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["feature", "create"],
        ["feature", "show"],
        ["task", "add", "alpha"],
        ["task", "start", "alpha"],
        ["artifact", "draft", "alpha"],
        ["milestone", "create", "m2"],
        ["comment", "create", "alpha"],
        ["feature", "transition", "alpha"],
        ["feature", "update", "alpha"],
        ["task", "block", "alpha", "T2"],
        ["artifact", "waive", "alpha", "spec"],
        ["artifact", "fail", "alpha", "spec"],
    ],
    ids=" ".join,
)
def test_missing_argument(base: InProcess, args: list[str]) -> None:
    usage_refused(base, args, "missing required argument")


@pytest.mark.parametrize(
    "args",
    [
        ["history", "--limit", "abc"],
        ["history", "--limit", "0"],
        ["task", "search", "x", "--limit", "-3"],
        ["feature", "list", "--phase", "bogus"],
        ["feature", "list", "--bogus"],
        ["milestone", "add-feature", "m1", "alpha", "--position", "x"],
    ],
    ids=" ".join,
)
def test_invalid_value(base: InProcess, args: list[str]) -> None:
    usage_refused(base, args, "invalid value")


@pytest.mark.parametrize(
    "args",
    [
        ["artifact", "draft", "alpha", "bogus"],
        ["feature", "transition", "alpha", "nowhere"],
        ["comment", "create", "alpha", "body", "--flag", "bogus"],
    ],
    ids=" ".join,
)
def test_invalid_value_from_the_engine(base: InProcess, args: list[str]) -> None:
    """Values the engine (not the parser) checks: exit 2 and the wording `invalid value`.
    Their JSON code is `invalid_value`, as for the parser's bad values (§5 lists neither it
    nor `usage_error`; docs/schemas/error.schema.json has both)."""
    error = refused(base, args, "invalid_value", contains=("invalid value",), exit_code=2)
    assert error["hint"]


@pytest.mark.parametrize(
    "args",
    [["feature", "frobnicate"], ["frobnicate"], ["task", "frobnicate", "x"], ["milestone", "nope"]],
    ids=" ".join,
)
def test_unknown_subcommand(base: InProcess, args: list[str]) -> None:
    usage_refused(base, args, "unknown subcommand")


# -- every error carries a hint --------------------------------------------------------------


HINT_CASES = [
    # (id, args, known to lack a hint)
    ("transition-backward", ["feature", "transition", "beta", "draft"], True),
    ("feature-cycle", ["feature", "update", "a", "--depends-on", "b"], True),
    ("task-cycle", ["task", "edit", "alpha", "T1", "--depends", "T2"], True),
    ("depends-unknown-task", ["task", "edit", "alpha", "T1", "--depends", "T9"], True),
    ("comment-unknown-task", ["comment", "create", "alpha", "body", "--task", "T9"], True),
    ("remove-non-member", ["milestone", "remove-feature", "m1", "alpha"], True),
    ("skip-released-milestone", ["milestone", "skip", "rel"], True),
    ("release-skipped-milestone", ["milestone", "release", "skp"], True),
    ("corrupt-manifest", ["feature", "show", "bad"], True),
    ("config-bad-value", ["next"], True),
    ("feature-not-found", ["feature", "show", "nope"], False),
    ("task-move", ["task", "start", "alpha", "T1"], False),
    ("missing-artifact", ["artifact", "draft", "alpha", "design"], False),
    ("invalid-slug", ["feature", "show", "A"], False),
    ("config-bad-yaml", ["state"], False),
]


@pytest.mark.parametrize(
    ("case", "args"),
    [pytest.param(i, a, id=i) for i, a, _ in HINT_CASES],
)
def test_every_error_has_a_hint(base: InProcess, case: str, args: list[str]) -> None:
    """§5: text mode prints `error: <message>` and `hint: ...`; the JSON hint is a string."""
    base.ok("feature", "create", "a")
    base.ok("feature", "create", "b", "--depends-on", "a")
    base.ok("task", "edit", "alpha", "T2", "--depends", "T1")
    base.ok("milestone", "create", "rel", "--title", "R")
    base.ok("milestone", "release", "rel")
    base.ok("milestone", "create", "skp", "--title", "S")
    base.ok("milestone", "skip", "skp")
    corrupt(base.root)
    config = base.root / ".sdlc" / "config.yaml"
    if case == "config-bad-value":
        config.write_bytes(b"quality:\n  enforce: maybe\n")
    elif case == "config-bad-yaml":
        config.write_bytes(b"version: [1\n")
    result = base(*args, json_mode=True)
    assert result.code == 1, result
    assert isinstance(result.data["error"]["hint"], str) and result.data["error"]["hint"], result.data
    text = base(*args)
    assert text.err.splitlines()[-1].startswith("hint: "), text.err


# -- --json placement ---------------------------------------------------------------------------


def test_json_before_or_after_subcommand(base: InProcess) -> None:
    before = base("--json", "feature", "list")
    after = base("feature", "list", "--json")
    short = base("-j", "feature", "list")
    for result in (before, after, short):
        assert result.code == 0, result
        assert result.err == ""
    assert before.data == after.data == short.data
    assert [f["slug"] for f in before.data] == ["alpha", "beta"]


def test_next_without_features_prints_empty_list(sdlc: InProcess) -> None:
    for args in (["--json", "next"], ["next", "--json"]):
        result = sdlc(*args)
        assert result.code == 0, result
        assert result.out.strip() == "[]"
        assert result.err == ""


def test_listing_results_are_one_json_document(sdlc: InProcess) -> None:
    for args in (["feature", "list"], ["query", "ready"], ["task", "list"], ["milestone", "list"]):
        result = sdlc(*args, json_mode=True)
        assert result.code == 0, result
        assert json.loads(result.out) == []
