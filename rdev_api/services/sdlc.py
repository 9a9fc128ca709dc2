"""SDLC over the API (spec/rdev-api.md "SDLC"): a project's features read and changed through
the `sdlc` library on its workspace (the same locks and rules as the `sdlc` CLI), `sdlc` work
items submitted, and the events a project's `sdlc` posts verified, deduplicated, stored and
turned into webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Final, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rdev_api.domain.errors import BadSignature, Conflict, DomainError, NotFound, ValidationFailed
from rdev_api.domain.keys import KeyGrant
from rdev_api.ports.clock import Clock
from rdev_api.services.projects import ProjectService
from rdev_api.services.work import WorkRequest, WorkService

SIGNATURE_PREFIX: Final = "sha256="
WORK_TYPE: Final = "sdlc"
RELEASED: Final = "released"
# sdlc error codes by the envelope code they become; any other sdlc error is a CONFLICT
NOT_FOUND_CODES: Final = frozenset(
    {"feature_not_found", "not_initialized", "task_not_found", "comment_not_found", "milestone_not_found"}
)
VALIDATION_CODES: Final = frozenset({"invalid_slug", "invalid_value", "usage_error"})
ARTIFACT_MOVES: Final = frozenset({"approve", "reject"})


class SdlcEvent(BaseModel):
    """One line of a project's .sdlc/events.jsonl as `sdlc` posts it."""

    model_config = ConfigDict(extra="allow")

    id: int = Field(ge=1)
    ts: str
    actor: str
    feature: str | None = None
    type: str = Field(min_length=1, max_length=200)
    data: dict[str, Any] = Field(default_factory=dict)


class SdlcEventBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    project: str = Field(min_length=1, max_length=200)
    events: list[SdlcEvent] = Field(max_length=1000)


class SdlcEventStore(Protocol):
    def insert_new(
        self, project_id: str, events: list[dict[str, Any]], received_at: datetime
    ) -> list[dict[str, Any]]: ...

    def list(
        self, project_id: str, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]: ...


Emit = Callable[[str, Mapping[str, Any]], Any]


def signature(token: str, body: bytes) -> str:
    """What `sdlc` sends in X-Rdev-Signature for `body` (sdlc/callbacks.py)."""
    return SIGNATURE_PREFIX + hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


@contextmanager
def sdlc_errors() -> Iterator[None]:
    """sdlc's typed errors as domain errors (the envelope), never a 500."""
    from sdlc.errors import SdlcError

    try:
        yield
    except SdlcError as err:
        message = err.full_message() + (f" (hint: {err.hint})" if err.hint else "")
        details = [{"sdlc_code": err.code}]
        error: DomainError
        if err.code in NOT_FOUND_CODES:
            error = NotFound(message, details)
        elif err.code in VALIDATION_CODES:
            error = ValidationFailed(message, details)
        else:
            error = Conflict(message, details)
        raise error from err


class SdlcService:
    def __init__(
        self, projects: ProjectService, events: SdlcEventStore, work: WorkService, emit: Emit, clock: Clock
    ) -> None:
        self.projects = projects
        self.events = events
        self.work = work
        self.emit = emit
        self.clock = clock

    def _store(self, project_id: str) -> Any:
        from sdlc.store import Store

        return Store(self.projects.workspace(project_id))

    # --- features -------------------------------------------------------------------------

    def features(self, project_id: str, phase: str | None, archived: bool) -> list[dict[str, Any]]:
        """`sdlc feature list [--phase P] [--all]`: summaries in creation order."""
        from sdlc.index import load_index
        from sdlc.lifecycle import PHASES

        if phase is not None and phase not in PHASES:
            raise ValidationFailed(f"unknown phase {phase!r} (phases: {', '.join(PHASES)})")
        store = self._store(project_id)
        with sdlc_errors():
            store.require_initialized()
            index = load_index(store, classify=False)
        return [
            e.summary
            for e in index.entries
            if (archived or not e.archived) and (phase is None or e.phase == phase)
        ]

    def feature(self, project_id: str, slug: str) -> dict[str, Any]:
        """`sdlc feature show`: the whole manifest."""
        from sdlc.names import check_slug
        from sdlc.ops.lookup import show_feature

        store = self._store(project_id)
        with sdlc_errors():
            check_slug(slug)
            store.require_initialized()
            data: dict[str, Any] = json.loads(show_feature(store, slug))
        return data

    def next(self, project_id: str, slug: str) -> dict[str, Any]:
        """`sdlc next --for`: the feature's classification."""
        from sdlc.ops.lookup import next_for

        store = self._store(project_id)
        with sdlc_errors():
            data: dict[str, Any] = json.loads(next_for(store, slug))
        return data

    def create(
        self, project_id: str, actor: str, slug: str, title: str | None, description: str | None
    ) -> dict[str, Any]:
        """`sdlc feature create`: the new feature in draft."""
        from sdlc.ops.features import create_feature

        store = self._store(project_id)
        with sdlc_errors():
            create_feature(store, actor, slug, title, description)
        return self.feature(project_id, slug)

    def move_artifact(
        self,
        project_id: str,
        actor: str,
        slug: str,
        artifact: str,
        move: str,
        by: str | None,
        reason: str | None,
    ) -> dict[str, Any]:
        """`sdlc artifact approve|reject`: {feature, phase, artifact, changed, transitioned}."""
        from sdlc.ops.artifacts import move_artifact

        if move not in ARTIFACT_MOVES:
            raise NotFound(f"no artifact move {move!r} (moves: approve, reject)")
        store = self._store(project_id)
        with sdlc_errors():
            return move_artifact(store, by or actor, slug, artifact, move, by=by or actor, reason=reason)

    def run(self, project_id: str, slug: str, max_steps: int, grant: KeyGrant | None) -> dict[str, Any]:
        """An `sdlc` work item running the feature's loop (the feature must exist)."""
        self.feature(project_id, slug)
        request = WorkRequest(WORK_TYPE, {"feature": slug, "max_steps": max_steps}, project=project_id)
        return self.work.submit(request, grant)

    # --- events posted by the project's sdlc ---------------------------------------------

    def verify(self, project_id: str, body: bytes, given: str | None) -> None:
        """BadSignature unless `given` is the HMAC of `body` with the project's callback token
        (an unknown project gets the same answer: nothing to tell an unsigned caller)."""
        try:
            token = self.projects.callback_token(project_id)
        except NotFound as err:
            raise BadSignature("bad or missing X-Rdev-Signature") from err
        if not given or not hmac.compare_digest(given.strip(), signature(token, body)):
            raise BadSignature("bad or missing X-Rdev-Signature")

    def receive(self, project_id: str, body: bytes, given: str | None) -> dict[str, Any]:
        """Verify, store the events not seen before, emit their webhooks: {received, stored}."""
        self.verify(project_id, body, given)
        try:
            batch = SdlcEventBatch.model_validate_json(body)
        except ValidationError as err:
            raise ValidationFailed(
                "invalid event batch",
                details=[
                    {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in err.errors()
                ],
            ) from err
        events = [e.model_dump(mode="json") for e in batch.events]
        fresh = self.events.insert_new(project_id, events, self.clock.now())
        self._emit_for(project_id, fresh)
        return {"received": len(events), "stored": len(fresh), "duplicates": len(events) - len(fresh)}

    def stored_events(
        self, project_id: str, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        self.projects.get(project_id)
        return self.events.list(project_id, limit, cursor)

    def _emit_for(self, project_id: str, events: list[dict[str, Any]]) -> None:
        touched: list[str] = []
        for event in events:
            slug = event.get("feature")
            if event["type"] != "feature.transitioned" or not slug:
                if slug and slug not in touched:
                    touched.append(slug)
                continue
            data = event.get("data") or {}
            base = {"project": project_id, "feature": slug, "event_id": event["id"], "ts": event["ts"]}
            transition = {**base, "from": data.get("from"), "to": data.get("to"), "actor": event["actor"]}
            self.emit("feature.transitioned", transition)
            if data.get("to") == RELEASED:
                self.emit("feature.released", base)
            if slug not in touched:
                touched.append(slug)
        for slug in touched:
            classification = self._human_action(project_id, slug)
            if classification is not None:
                self.emit("feature.action_required", {"project": project_id, **classification})

    def _human_action(self, project_id: str, slug: str) -> dict[str, Any] | None:
        """The feature's classification when its next action is a human's; None otherwise
        (also when it cannot be classified any more: deleted, or its files are broken)."""
        from sdlc.lifecycle import HUMAN_ACTIONS

        try:
            classification = self.next(project_id, slug)
        except DomainError:
            return None
        return classification if classification.get("action") in HUMAN_ACTIONS else None
