"""The data model of spec/sdlc.md §2 as plain dataclasses, read from and written to the
reference's file shapes. Unknown fields are kept in `extra` and written back unchanged.

sdlc's dataclasses are declared `eq=False, repr=False`: generating those methods for every
class costs ~15 ms at start-up, on every command (spec/sdlc.md §11), and nothing compares
these objects by value."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sdlc.lifecycle import (
    ARTIFACT_FILES,
    ARTIFACT_STATUSES,
    ARTIFACTS,
    COMMENT_FLAGS,
    PHASES,
    TASK_STATUSES,
    normalize_artifact,
)

SCHEMA_VERSION = 1
Data = dict[str, Any]


class ModelError(ValueError):
    """A manifest that parses as YAML but does not hold a valid model."""


def now() -> str:
    """The current time as an RFC 3339 UTC string."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def unknown_fields(data: Data, known: tuple[str, ...]) -> Data:
    return {k: v for k, v in data.items() if k not in known}


def optional_str(data: Data, key: str, default: str | None = None) -> str | None:
    value = data.get(key, default)
    if value is None:
        return None
    if isinstance(value, datetime):  # a loader that resolved a timestamp
        return value.isoformat()
    if isinstance(value, bool | dict | list):
        raise ModelError(f"field '{key}' must be a string, got {type(value).__name__}")
    return str(value)


def required_str(data: Data, key: str) -> str:
    value = optional_str(data, key)
    if value is None:
        raise ModelError(f"missing field '{key}'")
    return value


def as_list(data: Data, key: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ModelError(f"field '{key}' must be a list, got {type(value).__name__}")
    return value


def as_map(value: Any, what: str) -> Data:
    if not isinstance(value, dict):
        raise ModelError(f"{what} must be a mapping, got {type(value).__name__}")
    return value


def one_of(value: str, choices: tuple[str, ...], what: str) -> str:
    if value not in choices:
        raise ModelError(f"{what} '{value}' is not one of {', '.join(choices)}")
    return value


def clean(data: Data, keep_none: tuple[str, ...] = ()) -> Data:
    return {k: v for k, v in data.items() if v is not None or k in keep_none}


@dataclass(eq=False, repr=False)
class Artifact:
    artifact_type: str
    status: str = "missing"
    path: str = ""
    created_at: str | None = None
    approved_at: str | None = None
    rejected_at: str | None = None
    rejection_reason: str | None = None
    approved_by: str | None = None
    waived_at: str | None = None
    waive_reason: str | None = None
    content_sha256: str | None = None
    drafted_by: str | None = None
    drafted_at: str | None = None
    extra: Data = field(default_factory=dict)

    FIELDS = (
        "artifact_type",
        "status",
        "path",
        "created_at",
        "approved_at",
        "rejected_at",
        "rejection_reason",
        "approved_by",
        "waived_at",
        "waive_reason",
        "content_sha256",
        "drafted_by",
        "drafted_at",
    )

    @classmethod
    def new(cls, slug: str, artifact_type: str) -> Artifact:
        return cls(artifact_type, path=f".sdlc/features/{slug}/{ARTIFACT_FILES[artifact_type]}")

    @classmethod
    def from_dict(cls, raw: Any) -> Artifact:
        data = as_map(raw, "artifact")
        kind = normalize_artifact(required_str(data, "artifact_type"))
        if kind is None:
            raise ModelError(f"unknown artifact type '{data.get('artifact_type')}'")
        values = {k: optional_str(data, k) for k in cls.FIELDS[3:]}
        return cls(
            artifact_type=kind,
            status=one_of(required_str(data, "status"), ARTIFACT_STATUSES, "artifact status"),
            path=optional_str(data, "path") or "",
            extra=unknown_fields(data, cls.FIELDS),
            **values,
        )

    def to_dict(self) -> Data:
        data: Data = {k: getattr(self, k) for k in self.FIELDS}
        # The reference always writes these five, null or not.
        return {
            **clean(
                data,
                keep_none=(
                    "created_at",
                    "approved_at",
                    "rejected_at",
                    "rejection_reason",
                    "approved_by",
                ),
            ),
            **self.extra,
        }

    def clear_approval(self) -> None:
        self.approved_at = self.approved_by = self.content_sha256 = None


@dataclass(eq=False, repr=False)
class Task:
    id: str
    title: str
    status: str = "pending"
    description: str | None = None
    created_at: str = ""
    started_at: str | None = None
    completed_at: str | None = None
    blocker: str | None = None
    depends_on: list[str] = field(default_factory=list)
    extra: Data = field(default_factory=dict)

    FIELDS = (
        "id",
        "title",
        "description",
        "status",
        "created_at",
        "started_at",
        "completed_at",
        "blocker",
        "depends_on",
    )

    @classmethod
    def from_dict(cls, raw: Any) -> Task:
        data = as_map(raw, "task")
        return cls(
            id=required_str(data, "id"),
            title=optional_str(data, "title") or "",
            status=one_of(required_str(data, "status"), TASK_STATUSES, "task status"),
            description=optional_str(data, "description"),
            created_at=optional_str(data, "created_at") or "",
            started_at=optional_str(data, "started_at"),
            completed_at=optional_str(data, "completed_at"),
            blocker=optional_str(data, "blocker"),
            depends_on=[str(d) for d in as_list(data, "depends_on")],
            extra=unknown_fields(data, cls.FIELDS),
        )

    def to_dict(self) -> Data:
        data = {k: getattr(self, k) for k in self.FIELDS}
        return {**clean(data), **self.extra}


@dataclass(eq=False, repr=False)
class Comment:
    id: str
    body: str
    target: Data
    author: str | None = None
    flag: str | None = None
    created_at: str = ""
    resolved_at: str | None = None
    resolved_by: str | None = None
    extra: Data = field(default_factory=dict)

    FIELDS = ("id", "author", "body", "flag", "target", "created_at", "resolved_at", "resolved_by")

    @classmethod
    def from_dict(cls, raw: Any) -> Comment:
        data = as_map(raw, "comment")
        flag = optional_str(data, "flag")
        if flag is not None:
            one_of(flag, COMMENT_FLAGS, "comment flag")
        target = as_map(data.get("target") or {"kind": "feature"}, "comment target")
        if target.get("kind") not in ("feature", "task", "artifact"):
            raise ModelError(f"comment target kind '{target.get('kind')}' is unknown")
        return cls(
            id=required_str(data, "id"),
            body=optional_str(data, "body") or "",
            target=dict(target),
            author=optional_str(data, "author"),
            flag=flag,
            created_at=optional_str(data, "created_at") or "",
            resolved_at=optional_str(data, "resolved_at"),
            resolved_by=optional_str(data, "resolved_by"),
            extra=unknown_fields(data, cls.FIELDS),
        )

    def to_dict(self) -> Data:
        data = {k: getattr(self, k) for k in self.FIELDS}
        return {**clean(data), **self.extra}

    @property
    def stops_pipeline(self) -> bool:
        return self.resolved_at is None and self.flag in ("blocker", "question")


@dataclass(eq=False, repr=False)
class Score:
    lens: str
    score: int
    evaluator: str
    timestamp: str
    deductions: list[Data] = field(default_factory=list)
    extra: Data = field(default_factory=dict)

    FIELDS = ("lens", "score", "evaluator", "timestamp", "deductions")

    @classmethod
    def from_dict(cls, raw: Any) -> Score:
        data = as_map(raw, "score")
        value = data.get("score")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ModelError(f"score value must be a number, got {value!r}")
        return cls(
            lens=required_str(data, "lens"),
            score=int(value),
            evaluator=optional_str(data, "evaluator") or "",
            timestamp=optional_str(data, "timestamp") or "",
            deductions=[as_map(d, "deduction") for d in as_list(data, "deductions")],
            extra=unknown_fields(data, cls.FIELDS),
        )

    def to_dict(self) -> Data:
        return {
            "lens": self.lens,
            "score": self.score,
            "evaluator": self.evaluator,
            "timestamp": self.timestamp,
            "deductions": self.deductions,
            **self.extra,
        }


@dataclass(eq=False, repr=False)
class PhaseEntry:
    phase: str
    entered: str
    exited: str | None = None
    extra: Data = field(default_factory=dict)

    @classmethod
    def from_dict(cls, raw: Any) -> PhaseEntry:
        data = as_map(raw, "phase history entry")
        return cls(
            phase=one_of(required_str(data, "phase"), PHASES, "phase"),
            entered=optional_str(data, "entered") or "",
            exited=optional_str(data, "exited"),
            extra=unknown_fields(data, ("phase", "entered", "exited")),
        )

    def to_dict(self) -> Data:
        return {"phase": self.phase, "entered": self.entered, "exited": self.exited, **self.extra}


@dataclass(eq=False, repr=False)
class Feature:
    slug: str
    title: str
    phase: str = "draft"
    description: str | None = None
    created_at: str = ""
    updated_at: str = ""
    artifacts: list[Artifact] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    next_comment_seq: int = 1
    next_task_seq: int = 1
    blockers: list[str] = field(default_factory=list)
    phase_history: list[PhaseEntry] = field(default_factory=list)
    dependencies: list[str] = field(default_factory=list)
    archived: bool = False
    scores: list[Score] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION
    revision: int = 0
    extra: Data = field(default_factory=dict)

    FIELDS = (
        "slug",
        "title",
        "description",
        "phase",
        "created_at",
        "updated_at",
        "artifacts",
        "tasks",
        "comments",
        "next_comment_seq",
        "next_task_seq",
        "blockers",
        "phase_history",
        "dependencies",
        "archived",
        "scores",
        "schema_version",
        "revision",
    )

    @classmethod
    def new(cls, slug: str, title: str, description: str | None, at: str) -> Feature:
        return cls(
            slug=slug,
            title=title,
            description=description,
            created_at=at,
            updated_at=at,
            artifacts=[Artifact.new(slug, a) for a in ARTIFACTS],
            phase_history=[PhaseEntry("draft", at)],
        )

    def find_artifact(self, artifact_type: str) -> Artifact:
        """The artifact entry, or a fresh `missing` one; never changes the feature."""
        for art in self.artifacts:
            if art.artifact_type == artifact_type:
                return art
        return Artifact.new(self.slug, artifact_type)

    def artifact(self, artifact_type: str) -> Artifact:
        """The artifact entry, added to the feature when it is absent."""
        for art in self.artifacts:
            if art.artifact_type == artifact_type:
                return art
        art = Artifact.new(self.slug, artifact_type)
        self.artifacts.append(art)
        self.artifacts.sort(key=lambda a: ARTIFACTS.index(a.artifact_type))
        return art

    def task(self, task_id: str) -> Task | None:
        return next((t for t in self.tasks if t.id == task_id), None)

    def comment(self, comment_id: str) -> Comment | None:
        return next((c for c in self.comments if c.id == comment_id), None)

    def counted_scores(self) -> dict[str, int]:
        """Per lens, the newest score (later entries win ties)."""
        newest: dict[str, Score] = {}
        for score in self.scores:
            if score.lens not in newest or score.timestamp >= newest[score.lens].timestamp:
                newest[score.lens] = score
        return {lens: s.score for lens, s in newest.items()}

    def to_dict(self) -> Data:
        data: Data = {
            "slug": self.slug,
            "title": self.title,
            "description": self.description,
            "phase": self.phase,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "artifacts": [a.to_dict() for a in self.artifacts],
            "tasks": [t.to_dict() for t in self.tasks],
            "comments": [c.to_dict() for c in self.comments],
            "next_comment_seq": self.next_comment_seq,
            "next_task_seq": self.next_task_seq,
            "blockers": self.blockers,
            "phase_history": [p.to_dict() for p in self.phase_history],
            "dependencies": self.dependencies,
            "archived": self.archived,
            "scores": [s.to_dict() for s in self.scores] or None,
            "schema_version": self.schema_version,
            "revision": self.revision,
        }
        return {**clean(data), **self.extra}


def feature_from_dict(raw: Any) -> Feature:
    """Build a Feature from a manifest mapping (already migrated to SCHEMA_VERSION)."""
    data = as_map(raw, "manifest")
    tasks = [Task.from_dict(t) for t in as_list(data, "tasks")]
    comments = [Comment.from_dict(c) for c in as_list(data, "comments")]
    seq = data.get("next_comment_seq")
    task_seq = data.get("next_task_seq")
    feature = Feature(
        slug=required_str(data, "slug"),
        title=optional_str(data, "title") or "",
        phase=one_of(required_str(data, "phase"), PHASES, "phase"),
        description=optional_str(data, "description"),
        created_at=optional_str(data, "created_at") or "",
        updated_at=optional_str(data, "updated_at") or "",
        artifacts=[Artifact.from_dict(a) for a in as_list(data, "artifacts")],
        tasks=tasks,
        comments=comments,
        next_comment_seq=seq if isinstance(seq, int) else _next_seq(c.id for c in comments),
        next_task_seq=task_seq if isinstance(task_seq, int) else _next_seq(t.id for t in tasks),
        blockers=[str(b) for b in as_list(data, "blockers")],
        phase_history=[PhaseEntry.from_dict(p) for p in as_list(data, "phase_history")],
        dependencies=[str(d) for d in as_list(data, "dependencies")],
        archived=bool(data.get("archived", False)),
        scores=[Score.from_dict(s) for s in as_list(data, "scores")],
        schema_version=int(data.get("schema_version", SCHEMA_VERSION)),
        revision=int(data.get("revision", 0)),
        extra=unknown_fields(data, Feature.FIELDS),
    )
    for kind in ARTIFACTS:  # a manifest that lists fewer artifacts still knows all seven
        feature.artifact(kind)
    return feature


def _next_seq(ids: Any) -> int:
    numbers = [int(i[1:]) for i in ids if isinstance(i, str) and i[1:].isdigit()]
    return max(numbers, default=0) + 1
