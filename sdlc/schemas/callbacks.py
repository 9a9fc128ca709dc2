"""Output models of `sdlc callbacks status|flush` (spec/sdlc.md §8-9)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from sdlc.schemas.models import NonEmpty, Out

EventId = Annotated[int, Field(ge=0)]
Url = Annotated[
    str | None,
    Field(description="Where batches go, user info and query masked as ***; null when callbacks are off."),
]


class CallbacksStatus(Out):
    """callbacks status."""

    enabled: bool = Field(description="A URL is set (RDEV_CALLBACK_URL, else callbacks.url).")
    url: Url
    source: Literal["RDEV_CALLBACK_URL", "callbacks.url"] | None = Field(
        description="Where the URL comes from; null when callbacks are off."
    )
    project: NonEmpty = Field(description="The `project` of every batch.")
    token_env: NonEmpty = Field(description="The variable holding the HMAC-SHA256 signing key.")
    offset: EventId = Field(description="Id of the last event the receiver acknowledged (0: none).")
    last_event_id: EventId = Field(description="Id of the last event in .sdlc/events.jsonl (0: none).")
    pending: EventId = Field(description="Events after the offset, not yet acknowledged.")


class CallbacksFlush(Out):
    """callbacks flush (a receiver that refuses gives the error object, code callback_failed)."""

    enabled: bool = Field(description="false: callbacks are off and nothing was sent.")
    url: Url
    delivered: EventId = Field(description="Events this command delivered.")
    batches: EventId = Field(description="Batches this command delivered (at most 100 events each).")
    offset: EventId = Field(description="Id of the last event acknowledged, after the flush.")
    pending: EventId = Field(description="Events after the offset once done (appended meanwhile).")


# file stem → (type of the document, title, description); see generate.SCHEMAS
SCHEMAS: dict[str, tuple[Any, str, str]] = {
    "callbacks-status": (CallbacksStatus, "Callbacks status", "sdlc callbacks status"),
    "callbacks-flush": (CallbacksFlush, "Callbacks flush result", "sdlc callbacks flush"),
}
# command (as a user types it) → schema stem; see generate.COMMANDS
COMMANDS: dict[str, str] = {
    "sdlc callbacks status": "callbacks-status",
    "sdlc callbacks flush": "callbacks-flush",
}
