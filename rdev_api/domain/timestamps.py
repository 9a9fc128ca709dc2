"""Timestamps as the API stores and shows them: RFC 3339 UTC text ending in `Z`."""

from __future__ import annotations

from datetime import datetime


def rfc3339(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def rfc3339_or_none(value: datetime | None) -> str | None:
    return rfc3339(value) if value is not None else None
