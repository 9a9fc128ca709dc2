"""The generated files (completions/, docs/cli/) are fresh, and shell completion works: bash with
the committed script sourced, the zsh and fish protocol, `rdev completion show|install`, and no
network during completion."""

from __future__ import annotations

import os
import select
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rdev_cli.gen_docs import generated, stale
from rdev_cli.main import GROUPS

REPO = Path(__file__).resolve().parents[2]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*args], capture_output=True, text=True, timeout=60, check=False, env={**os.environ, **(env or {})}
    )


def rdev(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run(sys.executable, "-m", "rdev_cli", *args, env=env)


def test_the_committed_files_are_fresh(tmp_path: Path) -> None:
    outdated = stale(REPO)
    assert not outdated, f"stale generated files {outdated}: run `python -m rdev_cli.gen_docs`"
    written = run(sys.executable, "-m", "rdev_cli.gen_docs", "--root", str(tmp_path))
    assert written.returncode == 0, written.stderr
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert files == sorted(generated())
    assert {"completions/rdev.bash", "completions/_sdlc", "docs/cli/rdev.md", "docs/cli/sdlc.md"} <= set(
        files
    )
    for name in files:
        assert (tmp_path / name).read_bytes() == (REPO / name).read_bytes(), name

    check = run(sys.executable, "-m", "rdev_cli.gen_docs", "--root", str(tmp_path), "--check")
    assert check.returncode == 0, check.stderr
    (tmp_path / "docs/cli/rdev.md").write_text("old\n")
    check = run(sys.executable, "-m", "rdev_cli.gen_docs", "--root", str(tmp_path), "--check")
    assert check.returncode == 1 and "stale: docs/cli/rdev.md" in check.stderr


def test_the_reference_documents_every_command() -> None:
    text = (REPO / "docs/cli/rdev.md").read_text()
    for word in GROUPS:
        assert f"## `rdev {word}`" in text, word
    login = text[text.index("## `rdev auth login`") :]
    login = login[: login.index("\n## ")]
    assert "rdev auth login [OPTIONS]" in login and "`--with-key`: Read the key from stdin." in login
    assert "Aliases: `ls`" in text[text.index("## `rdev config profiles list`") :]
    assert "Exit codes: 0 ok" in text
    assert "## `sdlc feature create`" in (REPO / "docs/cli/sdlc.md").read_text()


@pytest.fixture
def programs(tmp_path: Path) -> Path:
    """A bin directory whose `rdev` and `sdlc` are this checkout's."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for prog, module in (("rdev", "rdev_cli"), ("sdlc", "sdlc")):
        path = bin_dir / prog
        path.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m {module} "$@"\n')
        path.chmod(0o755)
    return bin_dir


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A port that records connections (none is accepted): completion must not call the API."""
    server = socket.create_server(("127.0.0.1", 0))
    server.setblocking(False)
    try:
        yield server
    finally:
        server.close()


BASH_DRIVER = """
source "$1"
spec=$(complete -p "$2") || exit 3
function=${spec#*-F }; function=${function%% *}
read -r -a COMP_WORDS <<< "$3"
[[ "$3" == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMP_LINE="$3"; COMP_POINT=${#COMP_LINE}
"$function" "$2" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\\n' "${COMPREPLY[@]}"
"""


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_bash_completes_with_the_committed_scripts(programs: Path, listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    env = {
        "PATH": f"{programs}{os.pathsep}{os.environ['PATH']}",
        "RDEV_API_URL": f"http://127.0.0.1:{port}",
        "RDEV_API_KEY": "rdev_abcdefgh_" + "x" * 40,
    }

    def complete(line: str) -> list[str]:
        prog = line.split()[0]
        script = str(REPO / "completions" / f"{prog}.bash")
        result = run(
            "bash", "--norc", "--noprofile", "-c", BASH_DRIVER, "driver", script, prog, line, env=env
        )
        assert result.returncode == 0, result.stderr
        return [word for word in result.stdout.splitlines() if word]

    assert set(complete("rdev ")) == set(GROUPS)
    assert complete("rdev conf") == ["config"]
    assert complete("rdev config ") == ["show", "get", "set", "unset", "profiles"]
    assert complete("rdev config profiles ") == ["list", "add", "use", "current", "delete"]
    assert complete("rdev --json auth lo") == ["login", "logout"]
    assert complete("rdev auth -o json --profile x lo") == ["login", "logout"]
    assert complete("rdev api /keys --pag") == ["--paginate"]
    assert complete("rdev completion show ") == ["bash", "zsh", "fish"]
    assert complete("rdev -o ") == []
    assert complete("rdev nosuchgroup ") == []
    assert complete("sdlc fea") == ["feature"]
    assert {"create", "list", "show"} <= set(complete("sdlc --json feature "))
    assert complete("sdlc run --dry") == ["--dry-run"]
    readable, _, _ = select.select([listener], [], [], 0)
    assert not readable, "completion connected to the API"


def test_zsh_and_fish_requests(programs: Path) -> None:
    zsh = rdev(env={"_RDEV_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "rdev config "})
    assert zsh.returncode == 0, zsh.stderr
    assert zsh.stdout.startswith("_arguments '*: :((") and '"profiles":"Named profiles' in zsh.stdout
    fish_env = {"_RDEV_COMPLETE": "complete_fish", "_TYPER_COMPLETE_ARGS": "rdev auth "}
    fish = rdev(env={**fish_env, "_TYPER_COMPLETE_FISH_ACTION": "get-args"})
    assert fish.returncode == 0 and fish.stdout.splitlines()[0].startswith("login\tCheck a key")
    assert rdev(env={**fish_env, "_TYPER_COMPLETE_FISH_ACTION": "is-args"}).returncode == 0
    nothing = {
        **fish_env,
        "_TYPER_COMPLETE_ARGS": "rdev auth login --with-key x",
        "_TYPER_COMPLETE_FISH_ACTION": "",
    }
    assert rdev(env={**nothing, "_TYPER_COMPLETE_FISH_ACTION": "is-args"}).returncode == 1
    bad = rdev(env={"_RDEV_COMPLETE": "source_tcsh"})
    assert bad.returncode == 1 and "unknown completion request" in bad.stderr and bad.stdout == ""
    for shell, checker in (("zsh", ["zsh", "-n"]), ("fish", ["fish", "--no-execute"])):
        if shutil.which(checker[0]):
            name = "_rdev" if shell == "zsh" else "rdev.fish"
            assert run(*checker, str(REPO / "completions" / name)).returncode == 0


def test_completion_show_and_install(tmp_path: Path) -> None:
    shown = rdev("completion", "show", "bash")
    assert shown.returncode == 0 and shown.stdout == (REPO / "completions/rdev.bash").read_text()
    env = {"HOME": str(tmp_path), "XDG_DATA_HOME": "", "XDG_CONFIG_HOME": "", "SHELL": "/usr/bin/zsh"}
    assert rdev("completion", "show", env=env).stdout == (REPO / "completions/_rdev").read_text()

    expected = {
        "bash": tmp_path / ".local/share/bash-completion/completions/rdev",
        "zsh": tmp_path / ".zfunc/_rdev",
        "fish": tmp_path / ".config/fish/completions/rdev.fish",
    }
    committed = {"bash": "rdev.bash", "zsh": "_rdev", "fish": "rdev.fish"}
    for shell, path in expected.items():
        result = rdev("completion", "install", shell, env=env)
        assert result.returncode == 0, result.stderr
        assert result.stdout == "" and str(path) in result.stderr
        assert path.read_text() == (REPO / "completions" / committed[shell]).read_text()
    assert "fpath=(~/.zfunc $fpath)" in rdev("completion", "install", env=env).stderr  # $SHELL: zsh
    (tmp_path / ".zshrc").write_text("fpath=(~/.zfunc $fpath)\n")
    assert "fpath" not in rdev("completion", "install", env=env).stderr

    xdg = rdev("completion", "install", "fish", env={**env, "XDG_CONFIG_HOME": str(tmp_path / "xdg")})
    assert xdg.returncode == 0 and (tmp_path / "xdg/fish/completions/rdev.fish").is_file()
    cases = ((["show", "tcsh"], "/bin/sh", "unsupported shell 'tcsh'"), (["install"], "/bin/tcsh", "SHELL"))
    for args, shell, needle in cases:
        refused = rdev("completion", *args, env={**env, "SHELL": shell})
        assert refused.returncode == 2 and needle in refused.stderr and "Hint: " in refused.stderr
        assert "Traceback" not in refused.stderr
