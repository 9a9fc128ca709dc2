"""Parallel writers on one feature lose nothing and never share an id (spec/sdlc.md §7).

Eight real processes (spawn context, library calls) hammer one feature at the same time;
the test then checks the manifest, events.jsonl, state.yaml and the listing against what
every worker says it did. A second test holds `.sdlc/.lock` and checks `lock_timeout`."""

from __future__ import annotations

import json
import multiprocessing
import random
import re
import sys
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from filelock import FileLock

from conftest import run_process
from sdlc.index import load_index
from sdlc.ops.features import create_feature
from sdlc.store import Store

WORKERS = 8
MUTATIONS = 50
SLUG = "f"
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _worker(root: str, worker: int, barrier: Any, results: Any) -> None:
    """Do MUTATIONS random-but-valid mutations on its own tasks; report what it did."""
    try:
        from sdlc.ops.comments import create_comment
        from sdlc.ops.tasks import add_task, move_task
        from sdlc.store import Store

        store = Store(Path(root))
        actor = f"w{worker}"
        rng = random.Random(worker)
        tasks: dict[str, dict[str, str]] = {}  # task id -> {title, status}
        comments: dict[str, str] = {}  # comment id -> body
        log: list[str] = []
        barrier.wait(timeout=60)
        for step in range(MUTATIONS):
            pending = [t for t, v in tasks.items() if v["status"] == "pending"]
            started = [t for t, v in tasks.items() if v["status"] == "in_progress"]
            # mostly moves, so the manifest (re-read and re-written by every mutation) stays
            # small enough for a quick test; every kind of mutation still happens often
            if step == 0:
                op = "add"
            elif rng.random() < 0.2:
                op = "comment"
            elif started and rng.random() < 0.8:
                op = "complete"
            elif pending and rng.random() < 0.8:
                op = rng.choice(["start", "start", "start", "complete"])
            else:
                op = "add"
            if op == "add":
                title = f"w{worker}-task-{step}"
                out = add_task(store, actor, SLUG, title)
                tasks[out["task"]["id"]] = {"title": title, "status": "pending"}
            elif op == "start":
                task_id = rng.choice(pending)
                out = move_task(store, actor, SLUG, task_id, "start")
                assert out["changed"], out
                tasks[task_id]["status"] = "in_progress"
            elif op == "complete":
                task_id = rng.choice(started) if started else rng.choice(pending)
                out = move_task(store, actor, SLUG, task_id, "complete")
                assert out["changed"], out
                tasks[task_id]["status"] = "completed"
            else:
                body = f"w{worker}-comment-{step}"
                on_task = rng.choice([None, *tasks])
                out = create_comment(store, actor, SLUG, body, task=on_task)
                comments[out["comment"]["id"]] = body
            log.append(op)
        results.put({"worker": worker, "tasks": tasks, "comments": comments, "log": log})
    except BaseException:
        results.put({"worker": worker, "error": traceback.format_exc()})


def _parse_every_file(root: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Parse every file under .sdlc; return {relative yaml path: data} and the events."""
    parsed: dict[str, Any] = {}
    events: list[dict[str, Any]] = []
    for path in sorted((root / ".sdlc").rglob("*")):
        if not path.is_file():
            continue
        rel = str(path.relative_to(root))
        data = path.read_bytes()
        if path.name.endswith(".tmp"):
            raise AssertionError(f"leftover temp file after clean exits: {rel}")
        if path.suffix == ".yaml":
            parsed[rel] = yaml.load(data, Loader=_LOADER)
            assert isinstance(parsed[rel], dict), rel
        elif path.suffix == ".jsonl":
            assert data.endswith(b"\n"), rel
            for number, line in enumerate(data.split(b"\n")[:-1], 1):
                event = json.loads(line)
                assert isinstance(event, dict), (rel, number)
                events.append(event)
        elif path.suffix == ".json":
            json.loads(data)
    return parsed, events


def test_parallel_writers_lose_nothing(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(project)
    create_feature(store, "tester", SLUG)
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(WORKERS)
    results = ctx.Queue()
    # Waiting is fine here (the lock is not fair); this test is about lost updates.
    monkeypatch.setenv("SDLC_LOCK_TIMEOUT", "120")
    procs = [ctx.Process(target=_worker, args=(str(project), w, barrier, results)) for w in range(WORKERS)]
    started = time.monotonic()
    for proc in procs:
        proc.start()
    reports = [results.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
        assert proc.exitcode == 0, proc
    elapsed = time.monotonic() - started
    errors = [r["error"] for r in reports if "error" in r]
    assert not errors, errors[0]
    print(f"{WORKERS}x{MUTATIONS} mutations in {elapsed:.1f} s", file=sys.stderr)

    expected_tasks: dict[str, dict[str, str]] = {}
    expected_comments: dict[str, str] = {}
    ops: Counter[str] = Counter()
    for report in reports:
        assert len(report["log"]) == MUTATIONS
        ops.update(report["log"])
        for task_id in report["tasks"]:
            assert task_id not in expected_tasks, f"task id {task_id} handed out twice"
        for comment_id in report["comments"]:
            assert comment_id not in expected_comments, f"comment id {comment_id} handed out twice"
        expected_tasks.update(report["tasks"])
        expected_comments.update(report["comments"])
    writes = WORKERS * MUTATIONS
    print(f"mix: {dict(ops)}", file=sys.stderr)
    assert sum(ops.values()) == writes
    assert len(expected_tasks) == ops["add"]
    assert len(expected_comments) == ops["comment"]

    parsed, events = _parse_every_file(project)
    manifest = parsed[f".sdlc/features/{SLUG}/manifest.yaml"]
    tasks = manifest["tasks"]
    comments = manifest["comments"]
    # exactly the expected tasks and comments, ids T1..Tn and C1..Cm without gaps
    assert [t["id"] for t in tasks] == [f"T{i}" for i in range(1, len(expected_tasks) + 1)]
    assert [c["id"] for c in comments] == [f"C{i}" for i in range(1, len(expected_comments) + 1)]
    assert manifest["next_task_seq"] == len(tasks) + 1
    assert manifest["next_comment_seq"] == len(comments) + 1
    for task in tasks:
        want = expected_tasks[task["id"]]
        assert task["title"] == want["title"], task
        assert task["status"] == want["status"], task
        if want["status"] == "completed":
            assert task["completed_at"], task
    for comment in comments:
        assert comment["body"] == expected_comments[comment["id"]], comment
    # one write per mutation, plus `feature create`
    assert manifest["revision"] == writes + 1
    assert manifest["phase"] == "draft"

    # events.jsonl: ids 1..N, one per mutation
    assert [e["id"] for e in events] == list(range(1, writes + 2))
    kinds = Counter(e["type"] for e in events)
    assert kinds == Counter(
        {
            "feature.created": 1,
            "task.added": ops["add"],
            "task.start": ops["start"],
            "task.complete": ops["complete"],
            "comment.created": ops["comment"],
        }
    )
    added = {e["data"]["task_id"]: e["data"]["title"] for e in events if e["type"] == "task.added"}
    assert added == {task_id: v["title"] for task_id, v in expected_tasks.items()}
    created = [e["data"]["comment_id"] for e in events if e["type"] == "comment.created"]
    assert sorted(created) == sorted(expected_comments)

    state = parsed[".sdlc/state.yaml"]
    assert state["active_features"] == [SLUG]
    assert store.read_state() is not None

    index = load_index(Store(project))
    assert index.warnings == []
    (entry,) = index.entries
    counts = Counter(v["status"] for v in expected_tasks.values())
    assert entry.summary["tasks"]["total"] == len(expected_tasks)
    for status in ("pending", "in_progress", "completed"):
        assert entry.summary["tasks"][status] == counts[status]


def test_lock_timeout_writes_nothing(project: Path) -> None:
    create_feature(Store(project), "tester", SLUG)
    sdlc_dir = project / ".sdlc"
    watched = [
        sdlc_dir / "features" / SLUG / "manifest.yaml",
        sdlc_dir / "events.jsonl",
        sdlc_dir / "state.yaml",
    ]
    before = {path: path.read_bytes() for path in watched}
    lock = FileLock(str(sdlc_dir / ".lock"))
    with lock.acquire(timeout=5):
        started = time.monotonic()
        result = run_process(
            ["--root", str(project), "task", "add", SLUG, "X", "--json"],
            cwd=project,
            env={"SDLC_LOCK_TIMEOUT": "0.5"},
        )
        elapsed = time.monotonic() - started
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr, result.stderr
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "lock_timeout", error
    assert re.search(r"0\.5 s", error["message"]), error
    assert elapsed >= 0.5
    for path, data in before.items():
        assert path.read_bytes() == data, f"{path} changed although the lock timed out"
    assert not list(sdlc_dir.rglob("*.tmp"))
    # once the lock is free the same command goes through
    ok = run_process(["--root", str(project), "task", "add", SLUG, "X", "--json"], cwd=project)
    assert ok.returncode == 0, ok
    assert json.loads(ok.stdout)["task"]["id"] == "T1"
