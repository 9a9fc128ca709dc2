"""The JSON documents `sdlc ... --json` prints, as pydantic models, and the JSON Schemas
published from them under `docs/schemas/` (spec/sdlc.md §5, "JSON mode").

This package only describes outputs: the CLI never imports it (it would cost start-up time,
spec §11). `python -m sdlc.schemas` regenerates `docs/schemas/`: one `<name>.schema.json` per
output shape, and `index.json` mapping each command to the schema of what it prints.
`tests/sdlc/test_json_schemas.py` fails when the committed files drift from these models, and
validates real CLI outputs against the committed files.

Layout. `models` holds the vocabulary and the entities (classification, feature, artifact,
task, comment, score, milestone and their listing rows); `results` the command results,
project views, doctor, init and the error object; `generate` the published files.

Conventions. Models forbid unknown keys, so a new key in an output fails the test until it is
described here. The exception is what sdlc reads from a manifest and prints back with the
unknown fields a hand-written or reference-tool manifest holds (sdlc preserves them): the
feature of `feature show`, artifact entries, tasks, comments, milestones (and the rows built
from them) allow additional keys. A field the code omits when it has no value is optional and
never null (`T | SkipJsonSchema[None] = None`); a field the code always prints, possibly as
null, is required and nullable (`T | None`). Timestamps are RFC 3339 UTC strings.
"""

from sdlc.schemas.generate import (
    COMMANDS,
    DEFAULT_OUT,
    DRAFT,
    INDEX_FILE,
    SCHEMAS,
    file_name,
    main,
    rendered_files,
    schema_files,
    schema_index,
)
from sdlc.schemas.models import (
    Action,
    ArtifactCondition,
    ArtifactStatus,
    ArtifactType,
    CommentFlag,
    MilestoneStatus,
    Out,
    Phase,
    Preserved,
    Rule,
    TaskStatus,
)
from sdlc.schemas.results import ErrorCode

__all__ = [
    "COMMANDS",
    "DEFAULT_OUT",
    "DRAFT",
    "INDEX_FILE",
    "SCHEMAS",
    "Action",
    "ArtifactCondition",
    "ArtifactStatus",
    "ArtifactType",
    "CommentFlag",
    "ErrorCode",
    "MilestoneStatus",
    "Out",
    "Phase",
    "Preserved",
    "Rule",
    "TaskStatus",
    "file_name",
    "main",
    "rendered_files",
    "schema_files",
    "schema_index",
]
