"""Lists: a bare JSON array, `limit` (default 100, max 1000) and `cursor`, and a
`Link: <url>; rel="next"` header when more exist."""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import Query, Request, Response

from rdev_api.domain.errors import BadRequest

Limit = Annotated[int, Query(ge=1, le=1000, description="Items per page (default 100, max 1000).")]
Cursor = Annotated[str | None, Query(description="The cursor of the Link header's next page.")]


def link_next(request: Request, response: Response, next_cursor: str | None) -> None:
    if next_cursor is not None:
        url = request.url.include_query_params(cursor=next_cursor)
        response.headers["Link"] = f'<{url}>; rel="next"'


def page_in_memory(
    items: list[dict[str, Any]], key: str, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of a list computed in full (e.g. read from a workspace): the items after the one
    whose `key` the cursor names; the cursor of the next page when more exist."""
    start = 0
    if cursor is not None:
        try:
            after = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        except ValueError:
            after = None
        keys = [str(item.get(key)) for item in items]
        if after is None or after not in keys:
            raise BadRequest("invalid cursor: pass the cursor of a Link header unchanged")
        start = keys.index(after) + 1
    chosen = items[start : start + limit]
    more = start + limit < len(items)
    next_cursor = (
        base64.urlsafe_b64encode(str(chosen[-1][key]).encode()).decode().rstrip("=")
        if more and chosen
        else None
    )
    return chosen, next_cursor
