"""The feature lifecycle engine (spec/sdlc.md): on-disk YAML state, a deterministic
classifier, transitions and storage guarantees. `sdlc.cli` is its command."""

from sdlc._version import __version__

__all__ = ["__version__"]
