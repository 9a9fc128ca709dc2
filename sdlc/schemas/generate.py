"""The published schemas: which model describes each `docs/schemas/<name>.schema.json`,
`index.json` (each command → the schema of what it prints), and the generator behind
`python -m sdlc.schemas`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from sdlc.schemas import agent_commands, callbacks, config, run
from sdlc.schemas.models import (
    ArtifactStatusRow,
    Classification,
    ClassificationExplained,
    CommentRow,
    Feature,
    FeatureSummary,
    Milestone,
    MilestoneReview,
    ScoreRow,
    ScoreShow,
    TaskRow,
)
from sdlc.schemas.results import (
    ArtifactResult,
    CommentResult,
    Doctor,
    Error,
    Event,
    FeatureResult,
    Init,
    ProjectStats,
    ScoreResult,
    State,
    TaskResult,
)

DRAFT = "https://json-schema.org/draft/2020-12/schema"
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "docs" / "schemas"
INDEX_FILE = "index.json"
PROG = "python -m sdlc.schemas"

# file stem → (type of the document, title, description)
SCHEMAS: dict[str, tuple[Any, str, str]] = {
    "classification": (Classification, "Classification", "sdlc next --for SLUG"),
    "classification-explain": (
        ClassificationExplained,
        "Classification with rule trace",
        "sdlc next --for SLUG --explain",
    ),
    "classification-list": (
        list[Classification],
        "Classifications",
        "sdlc next; sdlc query blocked|ready|needs-approval; sdlc project blockers ([] when none)",
    ),
    "focus": (Classification | None, "Focus", "sdlc focus: the most urgent item, or null"),
    "feature-summary-list": (
        list[FeatureSummary],
        "Feature summaries",
        "sdlc feature list; sdlc query search",
    ),
    "feature": (Feature, "Feature", "sdlc feature show SLUG: the whole manifest"),
    "feature-result": (
        FeatureResult,
        "Feature mutation result",
        "sdlc feature create|update|transition|archive|unarchive|block|unblock; sdlc archive; sdlc merge",
    ),
    "artifact-result": (ArtifactResult, "Artifact move result", "sdlc artifact draft|approve|...|unwaive"),
    "artifact-status-list": (list[ArtifactStatusRow], "Artifact status", "sdlc artifact status SLUG"),
    "task-result": (TaskResult, "Task mutation result", "sdlc task add|start|complete|...|edit|remove"),
    "task": (TaskRow, "Task", "sdlc task get SLUG ID"),
    "task-list": (list[TaskRow], "Tasks", "sdlc task list [SLUG]; sdlc task search; sdlc milestone tasks"),
    "comment-result": (CommentResult, "Comment mutation result", "sdlc comment create|resolve|remove"),
    "comment-list": (list[CommentRow], "Comments", "sdlc comment list SLUG"),
    "score-result": (ScoreResult, "Score set result", "sdlc score set"),
    "score-show": (ScoreShow, "Counted scores", "sdlc score show SLUG"),
    "score-history": (list[ScoreRow], "Score history", "sdlc score history SLUG"),
    "milestone": (Milestone, "Milestone", "sdlc milestone create|info|update|release|skip|..."),
    "milestone-list": (list[Milestone], "Milestones", "sdlc milestone list"),
    "milestone-review": (MilestoneReview, "Milestone review", "sdlc milestone review SLUG"),
    "state": (State, "Project state", "sdlc state; sdlc project status"),
    "project-stats": (ProjectStats, "Project statistics", "sdlc project stats"),
    "history": (list[Event], "Events", "sdlc history"),
    "doctor": (Doctor, "Doctor report", "sdlc doctor [--fix]"),
    "init": (Init, "Init result", "sdlc init"),
    "error": (Error, "Error", "Any command that fails, in JSON mode"),
}

_M = "milestone"
# command (as a user types it) → schema stem
COMMANDS: dict[str, str] = {
    "sdlc init": "init",
    "sdlc state": "state",
    "sdlc next": "classification-list",
    "sdlc next --for SLUG": "classification",
    "sdlc next --for SLUG --explain": "classification-explain",
    "sdlc focus": "focus",
    "sdlc history": "history",
    "sdlc merge SLUG": "feature-result",
    "sdlc archive SLUG": "feature-result",
    "sdlc doctor": "doctor",
    "sdlc feature create SLUG": "feature-result",
    "sdlc feature list": "feature-summary-list",
    "sdlc feature show SLUG": "feature",
    "sdlc feature update SLUG": "feature-result",
    "sdlc feature transition SLUG PHASE": "feature-result",
    "sdlc feature archive SLUG": "feature-result",
    "sdlc feature unarchive SLUG": "feature-result",
    "sdlc feature block SLUG REASON...": "feature-result",
    "sdlc feature unblock SLUG": "feature-result",
    **{
        f"sdlc artifact {move} SLUG TYPE": "artifact-result"
        for move in ("draft", "approve", "reject", "pass", "fail", "waive", "unwaive")
    },
    "sdlc artifact status SLUG": "artifact-status-list",
    "sdlc task add SLUG TITLE...": "task-result",
    **{
        f"sdlc task {move} SLUG ID": "task-result"
        for move in ("start", "complete", "unblock", "reopen", "remove", "edit")
    },
    "sdlc task block SLUG ID REASON...": "task-result",
    "sdlc task get SLUG ID": "task",
    "sdlc task list [SLUG]": "task-list",
    "sdlc task search QUERY": "task-list",
    "sdlc comment create SLUG BODY": "comment-result",
    "sdlc comment list SLUG": "comment-list",
    "sdlc comment resolve SLUG ID": "comment-result",
    "sdlc comment remove SLUG ID": "comment-result",
    f"sdlc {_M} create SLUG --title T": "milestone",
    f"sdlc {_M} list": "milestone-list",
    f"sdlc {_M} info SLUG": "milestone",
    f"sdlc {_M} tasks SLUG": "task-list",
    f"sdlc {_M} add-feature SLUG FEATURE": "milestone",
    f"sdlc {_M} remove-feature SLUG FEATURE": "milestone",
    f"sdlc {_M} reorder SLUG FEATURE...": "milestone",
    f"sdlc {_M} review SLUG": "milestone-review",
    f"sdlc {_M} update SLUG": "milestone",
    f"sdlc {_M} release SLUG": "milestone",
    f"sdlc {_M} complete SLUG": "milestone",
    f"sdlc {_M} skip SLUG": "milestone",
    f"sdlc {_M} cancel SLUG": "milestone",
    "sdlc score set SLUG --lens L --value N": "score-result",
    "sdlc score show SLUG": "score-show",
    "sdlc score history SLUG": "score-history",
    "sdlc query blocked": "classification-list",
    "sdlc query ready": "classification-list",
    "sdlc query needs-approval": "classification-list",
    "sdlc query search TEXT": "feature-summary-list",
    "sdlc project status": "state",
    "sdlc project stats": "project-stats",
    "sdlc project blockers": "classification-list",
    "sdlc ... (any error)": "error",
}


# The orchestration commands (§8-9) describe their outputs in their own modules; their tests
# validate real outputs against the published files (tests/conftest.py `assert_schema`).
AREAS = (agent_commands, callbacks, config, run)
for _area in AREAS:
    SCHEMAS.update(_area.SCHEMAS)
    COMMANDS.update(_area.COMMANDS)
AREA_COMMANDS = frozenset(command for area in AREAS for command in area.COMMANDS)


class _Generator(GenerateJsonSchema):
    """Pydantic's Draft 2020-12 output without property titles and defaults: the defaults
    only mark keys the CLI omits, they are never printed."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])


def file_name(stem: str) -> str:
    return f"{stem}.schema.json"


def schema_files() -> dict[str, dict[str, Any]]:
    """Every published schema, keyed by file name."""
    files: dict[str, dict[str, Any]] = {}
    for stem, (kind, title, description) in SCHEMAS.items():
        generated = TypeAdapter(kind).json_schema(schema_generator=_Generator)
        generated.pop("title", None)
        generated.pop("description", None)
        files[file_name(stem)] = {
            "$schema": DRAFT,
            "title": title,
            "description": description,
            **generated,
        }
    return files


def schema_index() -> dict[str, str]:
    """`index.json`: each command → the file name of the schema of what it prints."""
    return {command: file_name(stem) for command, stem in COMMANDS.items()}


def render(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def rendered_files() -> dict[str, str]:
    """The exact content of every file under docs/schemas/, keyed by file name."""
    files = {name: render(doc) for name, doc in schema_files().items()}
    files[INDEX_FILE] = render(schema_index())
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description="Regenerate docs/schemas/.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"default: {DEFAULT_OUT}")
    out: Path = parser.parse_args(argv).out
    out.mkdir(parents=True, exist_ok=True)
    files = rendered_files()
    for stale in sorted(out.glob("*.schema.json")):
        if stale.name not in files:
            stale.unlink()
            sys.stdout.write(f"removed {stale}\n")
    for name, text in files.items():
        path = out / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            sys.stdout.write(f"wrote {path}\n")
    return 0
