"""Entry point of `rdev`. This release answers --version and --help; the API commands
(spec/rdev-cli.md) arrive with the rdev API service."""

from __future__ import annotations

import sys

USAGE = """usage: rdev [--version] [--help]

rdev is the terminal client of the rdev API. This release ships the `sdlc` lifecycle
engine; the rdev API commands are not part of it yet.
"""


def main() -> None:
    args = sys.argv[1:]
    if args in (["--version"], ["-V"], ["version"]):
        from sdlc._version import __version__

        sys.stdout.write(f"rdev {__version__}\n")
        sys.exit(0)
    if not args or args[0] in ("-h", "--help", "help"):
        sys.stdout.write(USAGE)
        sys.exit(0)
    sys.stderr.write(f"error: unknown command '{args[0]}'\nhint: see `rdev --help`\n")
    sys.exit(2)
