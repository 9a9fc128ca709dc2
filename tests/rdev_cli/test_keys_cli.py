"""`rdev keys` against the real API: create prints only the secret (so `$(rdev keys create ...)`
works in a real shell) and the whole object with -o json; scopes, project restrictions, IP
allow-lists and expiry enforced on the CLI's own requests (exit 4 with a hint); revoke needs
--yes off a terminal; rotate; the audit trail; `--expires` durations."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

from conftest import RdevCli, Result
from rdev_cli.errors import CliError
from rdev_cli.keys import expires_at


def _failed(result: Result, code: int, *words: str) -> None:
    assert result.code == code, result
    assert "\nError: " in "\n" + result.err and "Traceback" not in result.err, result.err
    for word in words:
        assert word in result.err, (word, result.err)


def _create(rdev: RdevCli, *args: str) -> str:
    made = rdev.ok("keys", "create", "--name", "k", *args)
    return str(made.out).strip()


def test_create_prints_only_the_secret(rdev: RdevCli) -> None:
    made = rdev(
        "keys", "create", "--name", "ci", "--scope", "queue:read", "-s", "projects:read", "-p", "shop"
    )
    assert made.code == 0, made
    token = made.out.removesuffix("\n")
    assert made.out == token + "\n" and token.startswith("rdev_") and "\n" not in token
    key_id = token.split("_")[1]
    assert f"created key {key_id} (ci)" in made.err and token not in made.err
    shown = rdev.json("keys", "get", key_id)
    assert shown["scopes"] == ["queue:read", "projects:read"] and shown["projects"] == ["shop"]
    assert "token" not in shown and shown["expires_at"] is None
    # the new key works within its scopes, and only there
    assert rdev("work", "list", key=token).code == 0
    missing = rdev("keys", "list", key=token)
    _failed(missing, 4, "keys:admin")
    assert missing.out == ""
    # -o json: the whole object, the token included
    whole = rdev.json("keys", "create", "--name", "json", "--scope", "admin")
    assert whole["token"].startswith(f"rdev_{whole['id']}_") and whole["scopes"] == ["admin"]
    quiet = rdev.ok("keys", "create", "--name", "quiet", "--scope", "admin", "-q").out.strip()
    assert rdev.json("keys", "get", quiet)["name"] == "quiet"  # -q: the id, as everywhere
    listed = rdev.ok("keys", "list").out
    assert key_id in listed and token not in listed and whole["token"] not in listed
    _failed(rdev("keys", "get", "zzzzzzzz"), 3, "zzzzzzzz")
    _failed(rdev("keys", "create", "--name", "x"), 2, "--scope", "Hint:")
    _failed(rdev("keys", "create", "--name", "x", "--scope", "projects:sudo"), 2, "VALIDATION_FAILED")
    trail = [(e["action"], e["target"]) for e in rdev.json("audit", "list", "--all")]
    assert ("key.create", key_id) in trail and ("key.create", whole["id"]) in trail
    assert len(rdev.json("audit", "ls", "--limit", "1")) == 1


def test_a_shell_captures_the_secret(rdev: RdevCli) -> None:
    script = (
        "KEY=$(python -m rdev_cli keys create --name scripted --scope queue:read) || exit 9\n"
        'RDEV_API_KEY="$KEY" python -m rdev_cli work list >/dev/null || exit 10\n'
        'printf "[%s]" "$KEY"\n'
    )
    env = {
        **os.environ,
        **rdev.env,
        "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}",
    }
    done = subprocess.run(
        ["sh", "-c", script], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done
    assert done.stdout.startswith("[rdev_") and done.stdout.endswith("]") and "\n" not in done.stdout
    assert "created key" in done.stderr and "Traceback" not in done.stderr


def test_revoked_expired_and_ip_restricted_keys_exit_4_with_a_hint(rdev: RdevCli) -> None:
    token = _create(rdev, "--scope", "queue:read")
    key_id = token.split("_")[1]
    refused = rdev("keys", "revoke", key_id)
    _failed(refused, 2, "not a terminal", f"Hint: add --yes: rdev keys revoke {key_id} --yes")
    assert rdev.json("keys", "get", key_id)["revoked_at"] is None
    revoked = rdev.json("keys", "revoke", key_id, "--yes")
    assert revoked["revoked_at"] is not None
    _failed(rdev("work", "list", key=token), 4, "KEY_REVOKED", "Hint: this key was revoked")
    # expiry: a key that lives two seconds works, then stops with KEY_EXPIRED
    before = datetime.now(UTC)
    short = rdev.json("keys", "create", "--name", "short", "--scope", "queue:read", "--expires", "2s")
    ends = datetime.fromisoformat(short["expires_at"])
    assert before + timedelta(seconds=1) < ends < datetime.now(UTC) + timedelta(seconds=3)
    deadline = time.monotonic() + 30
    while (used := rdev("work", "list", key=short["token"])).code == 0:
        assert time.monotonic() < deadline, "the key did not expire"
        time.sleep(0.1)
    _failed(used, 4, "KEY_EXPIRED", "Hint: this key has expired")
    # an allow-list: 127.0.0.1 is not in 10.0.0.0/8
    elsewhere = _create(rdev, "--scope", "admin", "--allow-ip", "10.0.0.0/8", "--allow-ip", "192.168.0.0/16")
    _failed(rdev("keys", "list", key=elsewhere), 4, "IP_NOT_ALLOWED", "Hint: this key is not allowed from")
    here = _create(rdev, "--scope", "admin", "--allow-ip", "127.0.0.1/32")
    assert rdev("keys", "list", key=here).code == 0
    _failed(rdev("keys", "create", "--name", "x", "--scope", "admin", "--allow-ip", "nope"), 2, "allowed_ips")


def test_rotate_prints_the_new_secret_and_the_old_stops(rdev: RdevCli) -> None:
    old = _create(rdev, "--scope", "queue:read")
    key_id = old.split("_")[1]
    rotated = rdev("keys", "rotate", key_id)
    assert rotated.code == 0, rotated
    new = rotated.out.strip()
    assert rotated.out == new + "\n" and new.startswith(f"rdev_{key_id}_") and new != old
    assert "old secret no longer works" in rotated.err
    _failed(rdev("work", "list", key=old), 4)
    assert rdev("work", "list", key=new).code == 0
    assert rdev.json("keys", "rotate", key_id)["id"] == key_id
    _failed(rdev("keys", "rotate", "zzzzzzzz"), 3)


NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "after"),
    [
        ("30d", timedelta(days=30)),
        ("12h", timedelta(hours=12)),
        ("90m", timedelta(minutes=90)),
        ("1h30m", timedelta(minutes=90)),
        ("2w", timedelta(days=14)),
        ("45S", timedelta(seconds=45)),
    ],
)
def test_expires_takes_durations(text: str, after: timedelta) -> None:
    assert datetime.fromisoformat(expires_at(text, NOW)) == NOW + after


def test_expires_takes_times_with_a_zone_and_refuses_the_rest() -> None:
    assert expires_at("2030-01-01T00:00:00Z", NOW) == "2030-01-01T00:00:00+00:00"
    for bad, words in [
        ("soon", "expected a duration"),
        ("30x", "expected a duration"),
        ("0d", "in the future"),
        ("2030-01-01T00:00:00", "no time zone"),
        ("99999999999999d", "too far"),
    ]:
        with pytest.raises(CliError) as caught:
            expires_at(bad, NOW)
        assert words in caught.value.message and caught.value.exit_code == 2 and caught.value.hint
