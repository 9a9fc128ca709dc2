"""The `rdev` command: the terminal client of the rdev API (spec/rdev-cli.md)."""

import sys

# httpx imports its own command line (click, rich, pygments: a third of rdev's start-up) unless
# that import fails; rdev never uses it
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
