"""YAML through libyaml when PyYAML has it (10x faster than the pure-Python parser), with
the same safe semantics either way."""

from __future__ import annotations

from typing import Any

import yaml

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def load(text: str) -> Any:
    return yaml.load(text, Loader=_Loader)


def dump(data: Any, **options: Any) -> str:
    text: str = yaml.dump(data, Dumper=_Dumper, **options)
    return text
