"""API key rules: format, hashing, scopes, expiry, revocation, IP allow-lists, no escalation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rdev_api.domain.errors import (
    Forbidden,
    IpNotAllowed,
    KeyExpired,
    KeyRevoked,
    ProjectForbidden,
    Unauthorized,
    ValidationFailed,
)
from rdev_api.domain.keys import (
    SCOPES,
    KeyGrant,
    mint,
    parse_token,
    secret_matches,
    validate_networks,
    validate_scopes,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_minted_keys_parse_and_only_the_hash_matches() -> None:
    key = mint()
    key_id, secret = parse_token(key.token)
    assert key_id == key.key_id and len(secret) >= 32
    assert secret_matches(secret, key.secret_hash)
    assert not secret_matches(secret[:-1] + ("A" if secret[-1] != "A" else "B"), key.secret_hash)
    assert secret not in key.secret_hash
    assert mint().token != key.token


@given(st.text(max_size=80))
def test_malformed_tokens_are_unauthorized(token: str) -> None:
    if token.startswith("rdev_"):
        return
    with pytest.raises(Unauthorized):
        parse_token(token)


def test_usability_checks() -> None:
    KeyGrant("k", ("projects:read",), ("*",)).check_usable(NOW, "1.2.3.4")
    with pytest.raises(KeyRevoked):
        KeyGrant("k", ("admin",), ("*",), revoked_at=NOW).check_usable(NOW, None)
    with pytest.raises(KeyExpired):
        KeyGrant("k", ("admin",), ("*",), expires_at=NOW - timedelta(seconds=1)).check_usable(NOW, None)
    KeyGrant("k", ("admin",), ("*",), expires_at=NOW + timedelta(days=1)).check_usable(NOW, None)
    limited = KeyGrant("k", ("admin",), ("*",), allowed_ips=("10.0.0.0/8", "127.0.0.1/32"))
    limited.check_usable(NOW, "10.2.3.4")
    limited.check_usable(NOW, "127.0.0.1")
    for address in ("192.168.1.1", None, "not-an-ip"):
        with pytest.raises(IpNotAllowed):
            limited.check_usable(NOW, address)


def test_scopes_and_projects() -> None:
    reader = KeyGrant("k", ("projects:read",), ("p1",))
    reader.require("projects:read")
    with pytest.raises(Forbidden, match="projects:write"):
        reader.require("projects:write")
    reader.require_project("p1")
    with pytest.raises(ProjectForbidden):
        reader.require_project("p2")
    admin = KeyGrant("a", ("admin",), ("*",))
    for scope in SCOPES:
        admin.require(scope)
    admin.require_project("anything")


def test_a_key_cannot_mint_a_broader_key() -> None:
    minter = KeyGrant("k", ("keys:admin", "projects:read"), ("p1", "p2"))
    minter.require_subset(["projects:read"], ["p1"])
    with pytest.raises(Forbidden, match="projects:write"):
        minter.require_subset(["projects:write"], ["p1"])
    with pytest.raises(Forbidden, match="projects"):
        minter.require_subset(["projects:read"], ["p3"])
    with pytest.raises(Forbidden):
        minter.require_subset(["projects:read"], ["*"])
    with pytest.raises(Forbidden, match="admin"):
        minter.require_subset(["admin"], ["p1"])
    KeyGrant("a", ("admin",), ("*",)).require_subset(["admin"], ["*"])


def test_validation_names_the_field() -> None:
    assert validate_scopes(["projects:read", "projects:read"]) == ["projects:read"]
    with pytest.raises(ValidationFailed, match="unknown scopes"):
        validate_scopes(["projects:sudo"])
    with pytest.raises(ValidationFailed, match="at least one"):
        validate_scopes([])
    assert validate_networks(["10.1.2.3/8"]) == ["10.0.0.0/8"]
    with pytest.raises(ValidationFailed) as caught:
        validate_networks(["10.0.0.0/8", "nope"])
    assert caught.value.details == [
        {"field": "allowed_ips[1]", "message": "expected an address or CIDR, e.g. 10.0.0.0/8"}
    ]
