"""The listing cache (spec/sdlc.md §11) is never trusted over the files."""

from __future__ import annotations

import json
import marshal
import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import InProcess, write_artifact


def actions(sdlc: InProcess) -> dict[str, str]:
    return {c["feature"]: c["action"] for c in sdlc.json("next")}


def test_edits_to_an_approved_artifact_show_up(sdlc: InProcess) -> None:
    sdlc.json("feature", "create", "auth")
    write_artifact(sdlc.root, "auth", "spec.md", "one\n")
    sdlc.json("artifact", "draft", "auth", "spec")
    sdlc.json("artifact", "approve", "auth", "spec", "--by", "alice")
    assert actions(sdlc) == {"auth": "create_design"}
    write_artifact(sdlc.root, "auth", "spec.md", "two\n")  # same size, new content
    assert actions(sdlc) == {"auth": "approve_spec"}


def test_a_dependency_change_reclassifies_the_dependent(sdlc: InProcess) -> None:
    sdlc.json("feature", "create", "base")
    sdlc.json("feature", "create", "top", "--depends-on", "base")
    for kind in ("spec", "design", "tasks", "qa_plan"):
        sdlc.json("artifact", "waive", "top", kind, "--reason", "test")
    assert actions(sdlc)["top"] == "unblock_dependency"
    shutil.rmtree(sdlc.root / ".sdlc/features/base")  # removed by hand
    listed = sdlc.json("next")
    assert [c["feature"] for c in listed] == ["top"]
    assert "'base' does not exist" in listed[0]["message"]


def test_config_changes_reclassify_everything(sdlc: InProcess) -> None:
    sdlc.json("feature", "create", "auth")
    assert actions(sdlc) == {"auth": "create_spec"}
    config = sdlc.root / ".sdlc/config.yaml"
    config.write_text(config.read_text().replace("    specified:\n    - spec\n", "    specified: []\n"))
    assert actions(sdlc) == {"auth": "advance"}


def test_new_and_removed_features_and_a_broken_cache(sdlc: InProcess) -> None:
    sdlc.json("feature", "create", "one")
    assert list(actions(sdlc)) == ["one"]
    sdlc.json("feature", "create", "two")
    assert list(actions(sdlc)) == ["one", "two"]
    cache = sdlc.root / ".sdlc/.cache/index.bin"
    cache.write_bytes(b"not marshal data")
    assert list(actions(sdlc)) == ["one", "two"]
    assert marshal.loads(cache.read_bytes())["features"].keys() == {"one", "two"}


def test_concurrent_rebuilders_leave_a_valid_cache(project: Path) -> None:
    from sdlc.ops.features import create_feature
    from sdlc.store import Store

    store = Store(project)
    for n in range(40):
        create_feature(store, "tester", f"f{n}")
    env = {**os.environ, "SDLC_ROOT": str(project)}
    procs = [
        subprocess.Popen([sys.executable, "-m", "sdlc", "next", "--json"], env=env, stdout=subprocess.PIPE)
        for _ in range(6)
    ]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert len({o for o in outputs}) == 1
    assert len(json.loads(outputs[0])) == 40
    cache = marshal.loads((project / ".sdlc/.cache/index.bin").read_bytes())
    assert len(cache["features"]) == 40


def test_single_feature_lookups_follow_every_input(sdlc: InProcess) -> None:
    """`next --for` and `feature show` are served from a per-feature cache; each input of
    the classification invalidates it: the manifest, an artifact file, a dependency, the config."""
    sdlc.json("feature", "create", "base")
    sdlc.json("feature", "create", "top", "--depends-on", "base")
    for kind in ("spec", "design", "tasks", "qa_plan"):
        sdlc.json("artifact", "waive", "top", kind, "--reason", "test")
    assert sdlc.json("next", "--for", "top")["action"] == "unblock_dependency"
    sdlc.json("feature", "archive", "base")  # the dependency changes, not `top`'s own files
    assert sdlc.json("next", "--for", "top")["action"] == "create_review"

    write_artifact(sdlc.root, "base", "spec.md", "one\n")
    sdlc.json("feature", "unarchive", "base")
    sdlc.json("artifact", "draft", "base", "spec")
    sdlc.json("artifact", "approve", "base", "spec", "--by", "alice")
    assert sdlc.json("next", "--for", "base")["action"] == "create_design"
    write_artifact(sdlc.root, "base", "spec.md", "two\n")  # an artifact edit, same size
    assert sdlc.json("next", "--for", "base")["action"] == "approve_spec"

    config = sdlc.root / ".sdlc/config.yaml"
    config.write_text(config.read_text().replace("min_score_to_advance: 70", "min_score_to_advance: 71"))
    assert sdlc.json("next", "--for", "base")["action"] == "approve_spec"  # recomputed, same answer
    for cached in (sdlc.root / ".sdlc/.cache/features").iterdir():
        cached.write_bytes(b"garbage")
    assert sdlc.json("feature", "show", "top")["dependencies"] == ["base"]
    sdlc.json("feature", "update", "top", "--title", "Renamed")
    assert sdlc.json("feature", "show", "top")["title"] == "Renamed"
