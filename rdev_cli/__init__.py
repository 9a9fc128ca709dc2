"""The `rdev` command: terminal client of the rdev API (spec/rdev-cli.md)."""
