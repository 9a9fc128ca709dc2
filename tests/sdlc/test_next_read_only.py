"""`sdlc next` over random on-disk projects: deterministic, and it writes nothing outside
`.sdlc/.cache/` (spec/sdlc.md §3, §7)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import InProcess, tree_snapshot
from sdlc import yamlio
from sdlc.atomic import write_atomic
from sdlc.lifecycle import ARTIFACT_FILES, ARTIFACT_STATUSES, PHASES, TASK_STATUSES
from sdlc.model import Comment, Feature, Score, Task
from sdlc.ops.init import init_project

SLUGS = ["a", "b", "c", "d"]

feature_specs = st.fixed_dictionaries(
    {
        "phase": st.sampled_from(PHASES),
        "archived": st.booleans(),
        "artifacts": st.dictionaries(
            st.sampled_from(list(ARTIFACT_FILES)),
            st.tuples(st.sampled_from(ARTIFACT_STATUSES), st.sampled_from(["none", "same", "edited"])),
        ),
        "tasks": st.lists(
            st.tuples(st.sampled_from(TASK_STATUSES), st.lists(st.integers(1, 4), max_size=2)), max_size=4
        ),
        "comment": st.sampled_from([None, "blocker", "question", "fyi"]),
        "blocker": st.booleans(),
        "deps": st.lists(st.sampled_from([*SLUGS, "ghost"]), max_size=2, unique=True),
        "scores": st.lists(st.integers(0, 100), max_size=2),
    }
)


def write_feature(root: Path, slug: str, spec: dict) -> None:  # type: ignore[type-arg]
    import hashlib

    feature = Feature.new(slug, slug.upper(), None, "2026-01-01T00:00:00Z")
    feature.phase, feature.archived = spec["phase"], spec["archived"]
    directory = root / ".sdlc/features" / slug
    directory.mkdir(parents=True)
    for kind, (status, file_state) in spec["artifacts"].items():
        art = feature.artifact(kind)
        art.status = status
        if file_state != "none":
            content = f"{kind}\n".encode()
            (directory / ARTIFACT_FILES[kind]).write_bytes(
                content + (b"edit\n" if file_state == "edited" else b"")
            )
            art.content_sha256 = hashlib.sha256(content).hexdigest()
    feature.tasks = [
        Task(f"T{i + 1}", f"task {i + 1}", status, depends_on=[f"T{d}" for d in deps])
        for i, (status, deps) in enumerate(spec["tasks"])
    ]
    if spec["comment"]:
        feature.comments = [Comment("C1", "why?", {"kind": "feature"}, flag=spec["comment"])]
    feature.blockers = ["waiting"] if spec["blocker"] else []
    feature.dependencies = [d for d in spec["deps"] if d != slug]
    feature.scores = [
        Score("implementation", v, "critic", f"2026-01-0{i + 1}T00:00:00Z")
        for i, v in enumerate(spec["scores"])
    ]
    write_atomic(directory / "manifest.yaml", yamlio.dumps(feature.to_dict()).encode(), durable=False)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=st.lists(feature_specs, min_size=1, max_size=4))
def test_next_is_deterministic_and_read_only(specs: list[dict], capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[type-arg]
    root = Path(tempfile.mkdtemp(prefix="sdlc-ro-"))
    try:
        init_project(root)
        for slug, spec in zip(SLUGS, specs, strict=False):
            write_feature(root, slug, spec)
        runner = InProcess(root, capsys)
        before = list(tree_snapshot(root))
        first = runner.json("next")
        second = runner.json("next")  # served from the cache this time
        assert first == second
        for slug in SLUGS[: len(specs)]:
            one = runner.json("next", "--for", slug)
            assert one == runner.json("next", "--for", slug)
            assert one["rule"] != "unclassified"
            listed = [c for c in first if c["feature"] == slug]
            assert listed in ([one], [])  # archived features are not listed
        assert list(tree_snapshot(root)) == before
    finally:
        shutil.rmtree(root)
