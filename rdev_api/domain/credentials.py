"""Credentials (spec/rdev-api.md "Credentials"): named secrets sealed under the master key,
bound to projects as environment variables. A value never leaves the service except through
`reveal` and a command's environment."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Final

from pydantic import BaseModel

from rdev_api.domain.errors import ValidationFailed

NAME: Final = re.compile(r"[A-Za-z0-9_.-]{1,100}")
MAX_VALUE_BYTES: Final = 64 * 1024


class Credential(BaseModel):
    """A credential as the API shows it: names and metadata, never the value."""

    name: str
    description: str | None = None
    created_at: datetime
    updated_at: datetime


def validate_name(name: str, field: str = "name") -> str:
    """`name` when it is env-var-like ([A-Za-z0-9_.-], 1 to 100 characters, not only dots)."""
    if not NAME.fullmatch(name) or not name.strip("."):
        raise ValidationFailed(
            f"invalid credential name {name[:100]!r}",
            details=[{"field": field, "message": "1 to 100 of A-Z a-z 0-9 _ . - (not only dots)"}],
        )
    return name


def sealing_context(name: str) -> bytes:
    """The associated data a credential's value is sealed with: it opens under its own name only."""
    return b"credential:" + name.encode()
