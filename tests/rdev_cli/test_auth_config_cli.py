"""`rdev auth` and `rdev config` against the real API on a loopback port: a key is checked with
/whoami before it is saved, the profile file stays 0600, profiles are added, used and deleted,
and `config show --sources` names where each value came from (flag > env > profile > default)
with the key masked (spec/rdev-cli.md "Config")."""

from __future__ import annotations

import os
import pty
import select
import signal
import stat
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import RdevCli, Result

CLOSED_URL = "http://127.0.0.1:9"  # discard port: nothing listens


@pytest.fixture
def cli(rdev: RdevCli, monkeypatch: pytest.MonkeyPatch) -> RdevCli:
    """`rdev` with a private config dir and neither key nor URL in the environment."""
    for name in ("RDEV_API_KEY", "RDEV_API_URL", "RDEV_PROFILE"):
        monkeypatch.delenv(name, raising=False)
        rdev.env.pop(name, None)
    return rdev


def config_file(cli: RdevCli) -> Path:
    return Path(cli.env["RDEV_CONFIG_DIR"]) / "config.yaml"


def saved(cli: RdevCli) -> dict[str, Any]:
    path = config_file(cli)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    return data


def failed(result: Result, code: int, *needles: str) -> None:
    assert result.code == code, result
    assert result.err.startswith("Error: "), result.err
    assert "Hint: " in result.err, result.err
    assert "Traceback" not in result.err
    for needle in needles:
        assert needle in result.err, (needle, result.err)


def new_key(cli: RdevCli, name: str, scopes: list[str], *, revoke: bool = False) -> str:
    with cli.server.admin() as admin:
        created = admin.post("/keys", json={"name": name, "scopes": scopes})
        assert created.status_code == 201, created.text
        if revoke:
            assert admin.delete(f"/keys/{created.json()['id']}").status_code in (200, 204)
    token = created.json()["token"]
    assert isinstance(token, str)
    return token


def login(cli: RdevCli, token: str, *args: str) -> Result:
    return cli("auth", "login", "--with-key", "--url", cli.server.url, *args, stdin=token + "\n")


def test_login_checks_the_key_saves_it_0600_and_logout_removes_it(cli: RdevCli) -> None:
    token = cli.server.admin_token
    result = login(cli, token)
    assert result.code == 0, result
    assert result.out == ""
    assert "Logged in to" in result.err and "profile 'local'" in result.err
    data = saved(cli)
    assert data == {
        "current_profile": "local",
        "profiles": {"local": {"url": cli.server.url, "api_key": token}},
    }

    status = cli("auth", "status")
    assert status.code == 0, status
    assert token not in status.out
    assert token[:9] + "…" in status.out
    assert "profile 'local'" in status.out and cli.server.url in status.out
    assert "admin" in status.out and "test-admin" in status.out and "never" in status.out
    as_json = cli.json("auth", "status")
    assert as_json["api_key"] == token[:9] + "…"
    assert as_json["whoami"]["name"] == "test-admin" and as_json["whoami"]["scopes"] == ["admin"]
    assert as_json["sources"]["api_key"] == "profile 'local'"
    assert cli.ok("auth", "token").out == token + "\n"
    assert cli.json("api", "/whoami")["name"] == "test-admin"  # the saved profile is used

    out = cli("auth", "logout")
    assert out.code == 0 and out.out == "" and "Removed the key of profile 'local'" in out.err
    assert saved(cli) == {"current_profile": "local", "profiles": {"local": {"url": cli.server.url}}}
    assert "nothing to do" in cli.ok("auth", "logout").err
    failed(cli("auth", "token"), 4, "no API key", "rdev auth login")
    failed(cli("auth", "status"), 4, "no API key")


def test_a_refused_key_is_not_saved(cli: RdevCli) -> None:
    failed(login(cli, "rdev_notakey"), 4, "nothing saved", "rdev server admin-key")
    assert not config_file(cli).exists()
    revoked = new_key(cli, "gone", ["projects:read"], revoke=True)
    failed(login(cli, revoked), 4, "nothing saved", "KEY_REVOKED")
    assert not config_file(cli).exists()

    assert login(cli, cli.server.admin_token).code == 0
    failed(login(cli, revoked), 4, "nothing saved")  # a bad key does not replace a good one
    assert saved(cli)["profiles"]["local"]["api_key"] == cli.server.admin_token

    failed(cli("auth", "login", "--with-key", stdin="  \n"), 2, "no key given")
    failed(cli("auth", "login", stdin=""), 2, "no terminal", "--with-key")
    failed(cli("auth", "login", "--with-key", stdin="two words\n"), 2, "one word")


def test_login_into_a_named_profile_keeps_the_current_one(cli: RdevCli) -> None:
    assert login(cli, cli.server.admin_token).code == 0
    narrow = new_key(cli, "reader", ["projects:read"])
    result = login(cli, narrow, "--profile", "ci")
    assert result.code == 0, result
    assert "profile 'ci'" in result.err and "rdev config profiles use ci" in result.err
    data = saved(cli)
    assert data["current_profile"] == "local"
    assert data["profiles"]["ci"] == {"url": cli.server.url, "api_key": narrow}
    assert cli.json("--profile", "ci", "auth", "status")["whoami"]["scopes"] == ["projects:read"]
    assert cli.ok("--profile", "ci", "auth", "token").out.strip() == narrow


def test_profiles_add_use_current_and_delete(cli: RdevCli) -> None:
    assert login(cli, cli.server.admin_token).code == 0
    added = cli("config", "profiles", "add", "staging", "--url", "https://staging.example.com/")
    assert added.code == 0, added
    assert "Added profile 'staging'" in added.err and "rdev auth login --profile staging" in added.err
    assert saved(cli)["profiles"]["staging"] == {"url": "https://staging.example.com"}
    listed = cli.json("config", "profiles", "list")
    assert [(p["name"], p["current"]) for p in listed] == [("local", True), ("staging", False)]
    assert listed[0]["api_key"] == cli.server.admin_token[:9] + "…"
    assert cli.server.admin_token not in str(listed)
    assert cli.ok("config", "profiles", "ls").out.splitlines()[1].split("\t")[:3] == [
        "staging",
        "false",
        "https://staging.example.com",
    ]

    failed(cli("config", "profiles", "add", "staging", "--url", "https://x.example"), 5, "exists")
    failed(
        cli("config", "profiles", "add", "bad name", "--url", "https://x.example"), 2, "invalid profile name"
    )
    failed(cli("config", "profiles", "add", "other", "--url", "ftp://x"), 2, "invalid URL")
    failed(cli("config", "profiles", "use", "nope"), 3, "no profile 'nope'", "profiles add nope")

    assert "Now using profile 'staging'" in cli.ok("config", "profiles", "use", "staging").err
    assert cli.ok("config", "profiles", "current").out == "staging\n"
    assert saved(cli)["current_profile"] == "staging"
    assert cli.ok("--profile", "local", "config", "profiles", "current").out == "local\n"

    refused = cli("config", "profiles", "delete", "staging")
    failed(refused, 2, "--yes")
    assert "staging" in saved(cli)["profiles"]
    deleted = cli("config", "profiles", "rm", "staging", "--yes")
    assert deleted.code == 0, deleted
    assert "Deleted profile 'staging'" in deleted.err and "rdev config profiles use" in deleted.err
    assert saved(cli) == {"profiles": {"local": {"url": cli.server.url, "api_key": cli.server.admin_token}}}
    failed(cli("config", "profiles", "delete", "staging", "--yes"), 3, "no profile 'staging'")


def test_show_sources_masks_the_key_env_beats_profile_and_flags_beat_env(
    cli: RdevCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = cli.server.admin_token
    assert login(cli, token).code == 0
    assert cli("config", "profiles", "add", "down", "--url", CLOSED_URL).code == 0

    shown = cli.json("config", "show", "--sources")
    assert shown["api_key"] == token[:9] + "…" and shown["url"] == cli.server.url
    assert shown["sources"] == {
        "profile": "profile file current_profile",
        "url": "profile 'local'",
        "api_key": "profile 'local'",
        "config_file": "env RDEV_CONFIG_DIR",
    }
    text = cli.ok("config", "show", "--sources").out
    assert token not in text
    assert f"api_key\t{token[:9]}…\tprofile 'local'" in text.splitlines()
    assert all(len(line.split("\t")) == 3 for line in text.splitlines())
    assert all(len(line.split("\t")) == 2 for line in cli.ok("config", "show").out.splitlines())

    other = new_key(cli, "env-key", ["projects:read"])
    monkeypatch.setenv("RDEV_API_KEY", other)
    monkeypatch.setenv("RDEV_PROFILE", "down")
    shown = cli.json("config", "show", "--sources")
    assert shown["profile"] == "down" and shown["sources"]["profile"] == "env RDEV_PROFILE"
    assert shown["url"] == CLOSED_URL and shown["sources"]["url"] == "profile 'down'"
    assert shown["api_key"] == other[:9] + "…" and shown["sources"]["api_key"] == "env RDEV_API_KEY"

    by_flag = cli.json("--profile", "local", "config", "show", "--sources")
    assert by_flag["profile"] == "local" and by_flag["sources"]["profile"] == "flag --profile"
    assert by_flag["url"] == cli.server.url
    # env RDEV_API_KEY still beats the profile's key: the whoami is the env key's
    assert cli.json("--profile", "local", "auth", "status")["whoami"]["name"] == "env-key"
    monkeypatch.setenv("RDEV_API_URL", CLOSED_URL)
    assert (
        cli.json("--profile", "local", "config", "show", "--sources")["sources"]["url"] == "env RDEV_API_URL"
    )
    flag_url = cli.json("--api-url", cli.server.url, "config", "show", "--sources")
    assert flag_url["url"] == cli.server.url and flag_url["sources"]["url"] == "flag"
    failed(cli("--profile", "nope", "config", "show"), 2, "no profile 'nope'")


def test_config_get_set_unset(cli: RdevCli) -> None:
    refused = cli("config", "set", "api_key", "rdev_abcdefgh_" + "x" * 40)
    failed(refused, 2, "refusing", "rdev auth login --with-key")
    assert not config_file(cli).exists()
    failed(cli("config", "set", "url", "localhost:8484"), 2, "invalid URL", "http(s)://")
    failed(cli("config", "get", "colour"), 2, "unknown setting", "url, api_key")

    assert cli.ok("config", "get", "url").out == "http://127.0.0.1:8484\n"  # the default
    done = cli("config", "set", "url", "http://127.0.0.1:1234/")
    assert done.code == 0 and "Set url of profile 'local' to http://127.0.0.1:1234." in done.err
    assert saved(cli) == {"current_profile": "local", "profiles": {"local": {"url": "http://127.0.0.1:1234"}}}
    assert cli.ok("config", "get", "url").out == "http://127.0.0.1:1234\n"
    assert "Removed url" in cli.ok("config", "unset", "url").err
    assert cli.ok("config", "get", "url").out == "http://127.0.0.1:8484\n"
    assert "nothing to do" in cli.ok("config", "unset", "url").err
    failed(cli("--profile", "ghost", "config", "set", "url", "http://127.0.0.1:1"), 3, "no profile 'ghost'")

    assert login(cli, cli.server.admin_token).code == 0
    got = cli.ok("config", "get", "api_key")
    assert got.out == cli.server.admin_token[:9] + "…\n" and "rdev auth token" in got.err


def test_login_on_a_terminal_asks_for_the_key_without_echo(cli: RdevCli) -> None:
    """On a terminal (a pty as the controlling terminal), the key comes from a hidden prompt."""
    token = cli.server.admin_token
    env = {**os.environ, **cli.env}
    pid, fd = pty.fork()
    if pid == 0:  # the child: rdev with the pty as its terminal
        os.execve(
            sys.executable, [sys.executable, "-m", "rdev_cli", "auth", "login", "--url", cli.server.url], env
        )
    transcript = b""
    deadline = time.monotonic() + 30
    sent = False
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            transcript += chunk
        # type only once the prompt has turned echo off (turning it off flushes typed input)
        if not sent and b"API key:" in transcript and not termios.tcgetattr(fd)[3] & termios.ECHO:
            os.write(fd, token.encode() + b"\n")
            sent = True
    else:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    text = transcript.decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0, text
    assert sent and "Logged in to" in text
    assert token not in text  # not echoed
    assert saved(cli)["profiles"]["local"]["api_key"] == token


def test_concurrent_writers_keep_each_others_profiles(tmp_path: Path) -> None:
    """The profile file is changed under a lock: no writer loses another's profile."""
    env = {**os.environ, "RDEV_CONFIG_DIR": str(tmp_path / "cfg")}
    names = [f"p{n}" for n in range(8)]
    writers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rdev_cli",
                "config",
                "profiles",
                "add",
                name,
                "--url",
                f"http://127.0.0.1:{n + 1}",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for n, name in enumerate(names)
    ]
    for writer in writers:
        _, err = writer.communicate(timeout=60)
        assert writer.returncode == 0, err
    path = tmp_path / "cfg" / "config.yaml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = yaml.safe_load(path.read_text())
    assert sorted(data["profiles"]) == names
    assert data["current_profile"] in names
