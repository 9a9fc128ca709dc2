"""API keys: authenticate a presented key, mint, list, revoke and rotate keys, and the
bootstrap admin key of a fresh server (spec/rdev-api.md "Auth")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from rdev_api.domain.errors import NotFound, Unauthorized, ValidationFailed
from rdev_api.domain.keys import (
    ALL_PROJECTS,
    ApiKey,
    KeyGrant,
    hash_secret,
    mint,
    parse_token,
    secret_matches,
    validate_networks,
    validate_scopes,
)
from rdev_api.ports.clock import Clock
from rdev_api.ports.stores import KeyStore
from rdev_api.services.recent import Recent

# last_used_at is written at most this often per key: a busy key must not turn every read
# into a write transaction.
TOUCH_EVERY = timedelta(seconds=60)
# Keys read for authentication are kept this long: every request authenticates, and the read
# and parse of the key's row were a tenth of a busy server's time. Revocation and rotation
# through this server drop the entry at once; this bounds how late a change made by another
# process to the database (none does today while the server runs) can take effect.
KEY_CACHE_S = 2.0


@dataclass(frozen=True)
class _Cached:
    key: ApiKey
    secret_hash: str
    grant: KeyGrant


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key record and what it may do."""

    key: ApiKey
    grant: KeyGrant


@dataclass(frozen=True)
class KeyRequest:
    name: str
    scopes: list[str]
    projects: list[str]
    allowed_ips: list[str]
    expires_at: datetime | None


class KeyService:
    def __init__(self, keys: KeyStore, clock: Clock) -> None:
        self.keys = keys
        self.clock = clock
        self._recent: Recent[str, _Cached] = Recent(KEY_CACHE_S)

    def authenticate(self, token: str | None, client_ip: str | None) -> Principal:
        if not token:
            raise Unauthorized("missing API key: send it in the X-API-Key header")
        key_id, secret = parse_token(token)
        cached = self._recent.get(key_id, partial(self._load, key_id))
        if cached is None or not secret_matches(secret, cached.secret_hash):
            raise Unauthorized("invalid API key")
        now = self.clock.now()
        cached.grant.check_usable(now, client_ip)
        key = cached.key
        if key.last_used_at is None or now - key.last_used_at >= TOUCH_EVERY:
            self.keys.touch(key.id, now)
            key = key.model_copy(update={"last_used_at": now})
            self._recent.replace(key_id, _Cached(key, cached.secret_hash, cached.grant))
        return Principal(key, cached.grant)

    def _load(self, key_id: str) -> _Cached | None:
        found = self.keys.get(key_id)
        return _Cached(found[0], found[1], found[0].grant()) if found is not None else None

    def create(self, caller: Principal | None, request: KeyRequest) -> tuple[ApiKey, str]:
        """A new key (its token is returned once); `caller` None is the server itself."""
        scopes = validate_scopes(request.scopes)
        projects = list(dict.fromkeys(request.projects)) or [ALL_PROJECTS]
        networks = validate_networks(request.allowed_ips)
        now = self.clock.now()
        if not request.name.strip():
            raise ValidationFailed(
                "invalid key: name is empty", details=[{"field": "name", "message": "required"}]
            )
        if request.expires_at is not None and request.expires_at <= now:
            raise ValidationFailed(
                "invalid key: expires_at is in the past",
                details=[{"field": "expires_at", "message": "must be in the future"}],
            )
        if caller is not None:
            caller.grant.require_subset(scopes, projects)
        minted = mint()
        key = ApiKey(
            id=minted.key_id,
            name=request.name.strip(),
            scopes=scopes,
            projects=projects,
            allowed_ips=networks,
            expires_at=request.expires_at,
            created_by=caller.key.id if caller is not None else None,
            created_at=now,
        )
        self.keys.insert(key, minted.secret_hash)
        return key, minted.token

    def get(self, key_id: str) -> ApiKey:
        found = self.keys.get(key_id)
        if found is None:
            raise NotFound(f"no API key {key_id}")
        return found[0]

    def list(self, limit: int, cursor: str | None) -> tuple[list[ApiKey], str | None]:
        return self.keys.list(limit, cursor)

    def revoke(self, key_id: str) -> ApiKey:
        self.get(key_id)
        self.keys.revoke(key_id, self.clock.now())
        self._recent.forget(key_id)
        return self.get(key_id)

    def rotate(self, key_id: str) -> tuple[ApiKey, str]:
        """A new secret for the same key id, scopes and projects; the old secret stops working."""
        key = self.get(key_id)
        if key.revoked_at is not None:
            raise ValidationFailed(f"API key {key_id} is revoked and cannot be rotated")
        minted = mint()
        secret = minted.token.rsplit("_", 1)[1]
        self.keys.replace_secret(key_id, hash_secret(secret))
        self._recent.forget(key_id)
        return key, f"rdev_{key_id}_{secret}"

    def bootstrap_admin(self, name: str) -> tuple[ApiKey, str]:
        return self.create(None, KeyRequest(name, ["admin"], [ALL_PROJECTS], [], None))
