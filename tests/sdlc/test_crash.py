"""kill -9 at random instants of a write leaves every file old or new (spec/sdlc.md §7).

Each of ITERATIONS rounds forks a child (sdlc is already imported, so a fork is cheap) that
signals readiness through a pipe and then adds tasks `t<k+1>`, `t<k+2>`, ... to one feature
until the parent SIGKILLs it after a random delay. After every kill the parent checks that
each file under .sdlc parses, that the manifest is exactly some complete state t1..tk, that
events.jsonl is numbered 1..N without tears, and that listings still work without warnings.
The same project is reused across rounds, so the files keep growing."""

from __future__ import annotations

import json
import os
import random
import re
import select
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import pytest
import yaml
from filelock import FileLock

from sdlc.index import load_index
from sdlc.journal import replay_journal
from sdlc.ops.doctor import doctor
from sdlc.ops.features import create_feature
from sdlc.ops.tasks import add_task
from sdlc.paths import ProjectPaths
from sdlc.store import Store

ITERATIONS = 200
SLUG = "f"
MAX_DELAY = 0.15  # seconds between readiness and SIGKILL; a mutation takes ~20-150 ms
READY_DEADLINE = 30.0
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# files a killed writer may leave behind: write_atomic's unique temp files
TEMP = re.compile(r"^\.(manifest\.yaml|state\.yaml|index\.bin|\.journal)\.[^/]+\.tmp$")
KNOWN = {
    ".sdlc/.gitignore",
    ".sdlc/.lock",
    ".sdlc/config.yaml",
    ".sdlc/state.yaml",
    ".sdlc/events.jsonl",
    ".sdlc/.cache/index.bin",
    ".sdlc/.journal",
    ".sdlc/commands.lock",  # written by init (agent command files, spec §8)
    f".sdlc/features/{SLUG}/manifest.yaml",
}


def _child(root: Path, ready_fd: int) -> None:
    """Runs in the forked child: never returns."""
    code = 1
    try:
        store = Store(root)
        k = len(store.load_feature(SLUG).tasks)
        os.write(ready_fd, b"R")
        while True:
            k += 1
            add_task(store, "crasher", SLUG, f"t{k}")
    except BaseException:
        sys.stderr.write(traceback.format_exc())
    finally:
        os._exit(code)


def _run_and_kill(root: Path, delay: float) -> None:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        os.close(read_fd)
        _child(root, write_fd)
    os.close(write_fd)
    try:
        ready, _, _ = select.select([read_fd], [], [], READY_DEADLINE)
        assert ready, f"child not ready within {READY_DEADLINE} s"
        assert os.read(read_fd, 1) == b"R", "child died before it was ready"
        time.sleep(delay)  # a random instant, not a wait for anything
        os.kill(pid, signal.SIGKILL)
    finally:
        os.close(read_fd)
        _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, (
        f"child ended by itself (status {status}) instead of being killed"
    )


def _check(root: Path, previous_k: int) -> dict[str, Any]:
    """Every invariant after a kill; returns what the round left behind."""
    sdlc_dir = root / ".sdlc"
    parsed: dict[str, Any] = {}
    events: list[dict[str, Any]] = []
    temps: list[str] = []
    for path in sorted(sdlc_dir.rglob("*")):
        if not path.is_file():
            continue
        rel = str(path.relative_to(root))
        if rel.startswith(".sdlc/.cache/"):
            continue  # derived data, never trusted over the files (checked by test_index_cache)
        if TEMP.match(path.name):
            temps.append(rel)  # may hold anything; nothing must read it as a manifest
            continue
        assert rel in KNOWN, f"unexpected file {rel}"
        data = path.read_bytes()
        if path.suffix == ".yaml":
            parsed[rel] = yaml.load(data, Loader=_LOADER)
            assert isinstance(parsed[rel], dict), f"{rel} is not a mapping: {data[:200]!r}"
        elif path.suffix == ".json" or path.name == ".journal":
            json.loads(data)
        elif path.suffix == ".jsonl":
            assert data == b"" or data.endswith(b"\n"), "torn last line in events.jsonl"
            for line in data.split(b"\n")[:-1]:
                event = json.loads(line)
                assert isinstance(event, dict), line
                events.append(event)

    manifest = parsed[f".sdlc/features/{SLUG}/manifest.yaml"]
    tasks = manifest["tasks"]
    k = len(tasks)
    assert k >= previous_k, f"manifest went back from {previous_k} to {k} tasks"
    assert [t["title"] for t in tasks] == [f"t{i}" for i in range(1, k + 1)], tasks
    assert [t["id"] for t in tasks] == [f"T{i}" for i in range(1, k + 1)], tasks
    assert all(t["status"] == "pending" for t in tasks)
    assert manifest["next_task_seq"] == k + 1
    assert manifest["revision"] == k + 1  # `feature create` + one write per task
    assert manifest["comments"] == [] and manifest["next_comment_seq"] == 1
    assert Store(root).load_feature(SLUG).revision == k + 1

    ids = [e["id"] for e in events]
    assert ids == list(range(1, len(ids) + 1)), f"event ids not 1..N: {ids[-5:]}"
    assert events[0]["type"] == "feature.created"
    added = [e["data"]["title"] for e in events[1:]]
    assert all(e["type"] == "task.added" for e in events[1:])
    # manifests are written before events.jsonl: an event never names a task the manifest
    # lacks, and they come in order
    numbers = [int(title[1:]) for title in added]
    assert numbers == sorted(set(numbers)) and (not numbers or numbers[-1] <= k), added[-5:]

    state = parsed[".sdlc/state.yaml"]
    assert state["active_features"] == [SLUG]
    assert isinstance(state["history"], list)

    store = Store(root)
    assert store.feature_slugs() == [SLUG]
    index = load_index(store)
    assert index.warnings == [], index.warnings
    assert [e.slug for e in index.entries] == [SLUG]
    assert index.entries[0].summary["tasks"]["total"] == k
    return {"k": k, "events": len(events), "temps": temps}


def test_kill_9_leaves_every_file_old_or_new(project: Path) -> None:
    store = Store(project)
    create_feature(store, "tester", SLUG)
    config = (project / ".sdlc" / "config.yaml").read_bytes()
    seed = int(os.environ.get("SDLC_CRASH_SEED", random.SystemRandom().randrange(2**32)))
    rng = random.Random(seed)
    k = 0
    replayed = 0
    torn_writes = 0  # rounds that left a temp file: killed between mkstemp and rename
    temps_before: set[str] = set()
    started = time.monotonic()
    for round_ in range(ITERATIONS):
        delay = rng.uniform(0, MAX_DELAY)
        _run_and_kill(project, delay)
        try:
            seen = _check(project, k)
        except AssertionError as err:
            raise AssertionError(f"round {round_} (seed {seed}, delay {delay:.4f} s): {err}") from err
        new_temps = set(seen["temps"]) - temps_before
        torn_writes += bool(new_temps)
        temps_before = set(seen["temps"])
        # what the next command does first: finish an interrupted transaction
        with FileLock(str(project / ".sdlc" / ".lock")):
            replayed += replay_journal(ProjectPaths(project))
        seen = _check(project, seen["k"])
        assert seen["events"] == seen["k"] + 1, "a committed change has no event"
        k = seen["k"]
        assert (project / ".sdlc" / "config.yaml").read_bytes() == config
    elapsed = time.monotonic() - started

    # the project still works after all that: the next task gets the next id and event id
    out = add_task(Store(project), "tester", SLUG, f"t{k + 1}")
    assert out["task"]["id"] == f"T{k + 1}"
    final = _check(project, k + 1)
    assert final["k"] == k + 1
    report = doctor(Store(project), fix=False)
    assert {p["message"] for p in report["problems"]} <= {"temp file left by an interrupted write"}
    report = doctor(Store(project), fix=True)  # removes what killed writers left behind
    assert report["ok"], report["problems"]
    assert not list((project / ".sdlc").rglob(".*.tmp"))
    print(
        f"{ITERATIONS} kills in {elapsed:.1f} s (seed {seed}): {k} tasks written, "
        f"{torn_writes} rounds left a temp file, {replayed} journals replayed",
        file=sys.stderr,
    )
    assert k >= ITERATIONS // 10, "the child hardly ever wrote: kills did not land during writes"


def _kill_self(*_args: Any, **_kwargs: Any) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _die_at(point: str) -> None:
    """In the child: make the next add_task SIGKILL itself at `point` of its write sequence."""
    import sdlc.journal
    import sdlc.transaction

    if point == "events_append":
        setattr(sdlc.journal, "append_numbered", _kill_self)  # noqa: B010
        return
    target = {"journal_rename": ".journal", "manifest_rename": "manifest.yaml", "state_rename": "state.yaml"}[
        point
    ]
    real_replace = os.replace

    def replace(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        if Path(dst).name == target:
            _kill_self()
        real_replace(src, dst, *args, **kwargs)

    os.replace = replace


@pytest.mark.parametrize("point", ["journal_rename", "manifest_rename", "events_append"])
def test_kill_at_each_write_step(project: Path, point: str) -> None:
    """A kill -9 at each step of a transaction's write sequence (manifest → events.jsonl →
    state.yaml), placed exactly: files stay old or new, the next command works, and once it
    has run every committed mutation is in events.jsonl (the audit trail and callback spool,
    §7 and §9: "one line per mutation", "nothing is lost")."""
    create_feature(Store(project), "tester", SLUG)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            _die_at(point)
            add_task(Store(project), "crasher", SLUG, "t1")
        finally:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, status

    seen = _check(project, 0)
    assert seen["k"] == (0 if point in ("journal_rename", "manifest_rename") else 1)
    assert bool(seen["temps"]) == (point != "events_append"), seen["temps"]
    journal = project / ".sdlc" / ".journal"
    assert journal.exists() == (point != "journal_rename")

    # The next command finishes the interrupted one (all of it, or none of it), then runs.
    survived = point != "journal_rename"
    out = add_task(Store(project), "tester", SLUG, "t2" if survived else "t1")
    assert out["task"]["id"] == ("T2" if survived else "T1")
    assert not journal.exists()
    seen = _check(project, 1)
    events = [json.loads(line) for line in (project / ".sdlc" / "events.jsonl").read_bytes().splitlines()]
    logged = [e["data"]["task_id"] for e in events if e["type"] == "task.added"]
    assert logged == [f"T{i}" for i in range(1, seen["k"] + 1)], (
        f"tasks committed to the manifest without a task.added event: {logged} for {seen['k']} tasks"
    )


def test_kill_before_state_rename(project: Path) -> None:
    """state.yaml is rewritten last, and only when what it summarises changes (here: a
    blocker). A kill just before its rename leaves it old; the next command completes it."""
    from sdlc.ops.features import block_feature

    create_feature(Store(project), "tester", SLUG)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            _die_at("state_rename")
            block_feature(Store(project), "crasher", SLUG, "waiting for keys")
        finally:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, status
    state = yaml.load((project / ".sdlc" / "state.yaml").read_bytes(), Loader=_LOADER)
    assert state["blocked"] == []  # old content
    assert Store(project).load_feature(SLUG).blockers == ["waiting for keys"]  # new content
    assert (project / ".sdlc" / ".journal").exists()

    add_task(Store(project), "tester", SLUG, "t1")
    state = yaml.load((project / ".sdlc" / "state.yaml").read_bytes(), Loader=_LOADER)
    assert [b["feature"] for b in state["blocked"]] == [SLUG]
    events = [json.loads(line) for line in (project / ".sdlc" / "events.jsonl").read_bytes().splitlines()]
    assert [e["type"] for e in events] == ["feature.created", "feature.blocked", "task.added"]
