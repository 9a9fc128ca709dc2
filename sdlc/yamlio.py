"""YAML in and out through libyaml when present; timestamps stay strings as written."""

from __future__ import annotations

from typing import Any

import yaml

_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BaseDumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Loader(_BaseLoader):  # type: ignore[misc]
    """SafeLoader that leaves RFC 3339 timestamps as the strings the file holds."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}


def loads(text: str | bytes) -> Any:
    """Parse one YAML document; raises yaml.YAMLError on bad input."""
    return yaml.load(text, Loader=_Loader)


def dumps(data: Any) -> str:
    return str(yaml.dump(data, Dumper=_BaseDumper, sort_keys=False, allow_unicode=True, width=100))


YAMLError = yaml.YAMLError
