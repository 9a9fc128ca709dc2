"""`rdev completion show|install [bash|zsh|fish]`, and the answer to a completion script's request
(main.run hands `_RDEV_COMPLETE=complete_<shell>` requests here). An answer builds only the
command group being typed (the first word gets the names and one-line helps of main.GROUPS,
no module imported) and never touches the network."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from rdev_cli.errors import EXIT_USAGE, CliError
from rdev_cli.output import info, write

app = typer.Typer(no_args_is_help=True)
PROG = "rdev"


def _shells() -> list[str]:
    from sdlc.cli.shell_completion import SHELLS

    return list(SHELLS)


ShellArg = Annotated[
    str | None,
    typer.Argument(help="bash, zsh or fish (default: the shell of $SHELL).", autocompletion=_shells),
]


def _shell(given: str | None) -> str:
    shells = _shells()
    if given is not None:
        if given not in shells:
            raise CliError(
                f"unsupported shell {given!r}", hint=f"one of: {', '.join(shells)}", exit_code=EXIT_USAGE
            )
        return given
    detected = Path(os.environ.get("SHELL", "")).name
    if detected not in shells:
        raise CliError(
            f"cannot tell your shell from SHELL={os.environ.get('SHELL', '')!r}",
            hint=f"name it: rdev completion install {'|'.join(shells)}",
            exit_code=EXIT_USAGE,
        )
    return detected


def target(shell: str, home: Path) -> Path:
    """Where `shell` looks for the completion of a command by itself."""
    if shell == "bash":
        data = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
        return data / "bash-completion" / "completions" / PROG
    if shell == "zsh":
        return home / ".zfunc" / f"_{PROG}"
    config = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    return config / "fish" / "completions" / f"{PROG}.fish"


@app.command("show")
def show(shell: ShellArg = None) -> None:
    """Print the completion script (e.g. `source <(rdev completion show bash)`)."""
    from sdlc.cli.shell_completion import script

    write(script(PROG, _shell(shell)))


@app.command("install")
def install(shell: ShellArg = None) -> None:
    """Write the completion script where the shell looks for it."""
    from sdlc.cli.shell_completion import script

    chosen = _shell(shell)
    home = Path.home()
    path = target(chosen, home)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(script(PROG, chosen), encoding="utf-8")
    except OSError as err:
        raise CliError(
            f"cannot write {path}: {err.strerror or err}",
            hint=f"write it yourself: rdev completion show {chosen} > FILE",
        ) from None
    info(f"Installed the {chosen} completion of rdev in {path}; it works in new shells.")
    if chosen == "bash":
        info(f"It needs the bash-completion package; without it, add to ~/.bashrc: source {path}")
    elif chosen == "zsh":
        zshrc = home / ".zshrc"
        text = zshrc.read_text(encoding="utf-8", errors="replace") if zshrc.is_file() else ""
        if ".zfunc" not in text:
            info(
                "Add to ~/.zshrc, before compinit: fpath=(~/.zfunc $fpath); autoload -Uz compinit && compinit"
            )


def _command_for(typed: list[str]) -> tuple[Any, list[str]]:
    """The click command that knows the words typed so far, and those words without the
    global options (main takes them out of argv too)."""
    import typer.main

    from rdev_cli.main import GROUPS, _split_global, build_app

    words, _ = _split_global(typed)
    word = next((w for w in words if not w.startswith("-")), None)
    if word in GROUPS:
        return typer.main.get_command(build_app(word)), words
    if word is not None:
        raise LookupError(f"unknown command {word!r}")  # nothing to suggest after it
    root = build_app(None)  # every other word by name and help only
    return typer.main.get_command(root), words


def answer(instruction: str) -> int:
    """Answer a completion script (`_RDEV_COMPLETE=complete_<shell>`); the exit code."""
    from sdlc.cli.shell_completion import answer as answer_for

    return answer_for(PROG, instruction, _command_for)
