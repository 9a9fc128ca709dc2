"""Lists: a bare JSON array, `limit` (default 100, max 1000) and `cursor`, and a
`Link: <url>; rel="next"` header when more exist."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, Response

Limit = Annotated[int, Query(ge=1, le=1000, description="Items per page (default 100, max 1000).")]
Cursor = Annotated[str | None, Query(description="The cursor of the Link header's next page.")]


def link_next(request: Request, response: Response, next_cursor: str | None) -> None:
    if next_cursor is not None:
        url = request.url.include_query_params(cursor=next_cursor)
        response.headers["Link"] = f'<{url}>; rel="next"'
