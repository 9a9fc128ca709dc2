"""API keys (spec/rdev-api.md "Auth"): `rdev_<8-char id>_<32+ char secret>`; only a SHA-256
of the secret is stored. Scopes, project restriction, IP allow-lists, expiry and revocation,
and the rule that a key can only mint keys no broader than itself."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
import string
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from pydantic import BaseModel, Field

from rdev_api.domain.errors import (
    Forbidden,
    IpNotAllowed,
    KeyExpired,
    KeyRevoked,
    ProjectForbidden,
    Unauthorized,
    ValidationFailed,
)

SCOPES: Final = (
    "admin",
    "keys:admin",
    "projects:read",
    "projects:write",
    "projects:execute",
    "queue:read",
    "queue:write",
    "workers",
    "credentials:read",
    "credentials:write",
    "webhooks:read",
    "webhooks:write",
)
ALL_PROJECTS: Final = "*"
KEY_PATTERN: Final = re.compile(r"rdev_(?P<id>[a-z0-9]{8})_(?P<secret>[A-Za-z0-9]{32,128})")
_ID_ALPHABET: Final = string.ascii_lowercase + string.digits
_SECRET_ALPHABET: Final = string.ascii_letters + string.digits
SECRET_LENGTH: Final = 40


@dataclass(frozen=True)
class NewKey:
    """A freshly minted key: `token` is shown once; `secret_hash` is what is stored."""

    key_id: str
    token: str
    secret_hash: str


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def mint() -> NewKey:
    key_id = "".join(secrets.choice(_ID_ALPHABET) for _ in range(8))
    secret = "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(SECRET_LENGTH))
    return NewKey(key_id, f"rdev_{key_id}_{secret}", hash_secret(secret))


def parse_token(token: str) -> tuple[str, str]:
    """(key id, secret) of a presented key; Unauthorized when it is not shaped like one."""
    match = KEY_PATTERN.fullmatch(token.strip())
    if match is None:
        raise Unauthorized("invalid API key: expected rdev_<id>_<secret> in the X-API-Key header")
    return match["id"], match["secret"]


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)


def validate_scopes(scopes: Iterable[str]) -> list[str]:
    wanted = list(dict.fromkeys(scopes))
    unknown = [s for s in wanted if s not in SCOPES]
    if unknown or not wanted:
        detail = f"unknown scopes {unknown}" if unknown else "at least one scope is required"
        raise ValidationFailed(
            f"invalid scopes: {detail}",
            details=[{"field": "scopes", "message": f"allowed: {', '.join(SCOPES)}"}],
        )
    return wanted


def validate_networks(cidrs: Iterable[str]) -> list[str]:
    result = []
    for index, cidr in enumerate(cidrs):
        try:
            result.append(str(ipaddress.ip_network(cidr, strict=False)))
        except ValueError:
            raise ValidationFailed(
                f"invalid CIDR {cidr!r}",
                details=[
                    {
                        "field": f"allowed_ips[{index}]",
                        "message": "expected an address or CIDR, e.g. 10.0.0.0/8",
                    }
                ],
            ) from None
    return result


@dataclass(frozen=True)
class KeyGrant:
    """What a stored key may do: the part of a key record the rules need."""

    key_id: str
    scopes: tuple[str, ...]
    projects: tuple[str, ...]  # project ids, or ("*",)
    allowed_ips: tuple[str, ...] = ()
    expires_at: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def is_admin(self) -> bool:
        return "admin" in self.scopes

    @property
    def all_projects(self) -> bool:
        return ALL_PROJECTS in self.projects

    def check_usable(self, now: datetime, client_ip: str | None) -> None:
        """Revoked, expired or from a refused address → the matching error."""
        if self.revoked_at is not None:
            raise KeyRevoked("this API key was revoked")
        if self.expires_at is not None and now >= self.expires_at:
            raise KeyExpired(f"this API key expired at {self.expires_at.isoformat()}")
        if self.allowed_ips:
            try:
                address = ipaddress.ip_address(client_ip or "")
            except ValueError:
                raise IpNotAllowed(
                    "the client address is unknown and this key has an IP allow-list"
                ) from None
            if not any(address in ipaddress.ip_network(cidr) for cidr in self.allowed_ips):
                raise IpNotAllowed(f"requests from {address} are not allowed for this key")

    def require(self, scope: str) -> None:
        if not self.is_admin and scope not in self.scopes:
            raise Forbidden(f"this key lacks the scope '{scope}'")

    def can_see(self, project_id: str) -> bool:
        return self.is_admin or self.all_projects or project_id in self.projects

    def require_project(self, project_id: str) -> None:
        if not self.can_see(project_id):
            raise ProjectForbidden(f"this key is restricted to other projects than {project_id}")

    def require_subset(self, scopes: Iterable[str], projects: Iterable[str]) -> None:
        """A key may only mint keys whose scopes and projects are within its own."""
        if self.is_admin:
            return
        broader = sorted(set(scopes) - set(self.scopes))
        if broader:
            raise Forbidden(f"cannot create a key with scopes this key does not hold: {', '.join(broader)}")
        if self.all_projects:
            return
        wanted = set(projects)
        if ALL_PROJECTS in wanted or not wanted <= set(self.projects):
            raise Forbidden("cannot create a key for projects this key cannot access")


class ApiKey(BaseModel):
    """A key as the API shows it: never its secret or the secret's hash."""

    id: str
    name: str
    scopes: list[str]
    projects: list[str]
    allowed_ips: list[str] = Field(default_factory=list)
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None
    created_by: str | None = None
    created_at: datetime

    def grant(self) -> KeyGrant:
        return KeyGrant(
            self.id,
            tuple(self.scopes),
            tuple(self.projects),
            tuple(self.allowed_ips),
            self.expires_at,
            self.revoked_at,
        )
