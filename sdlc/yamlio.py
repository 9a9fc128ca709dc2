"""YAML in and out. Reading goes through PyYAML (libyaml when present) with timestamps left
as the strings the file holds. Writing uses the small block emitter below: the data sdlc
writes is plain (mappings, lists, strings, numbers, booleans, null), and emitting it without
importing PyYAML keeps every mutating command ~30 ms faster (spec/sdlc.md §11). A property
test checks that PyYAML reads back exactly what was written."""

from __future__ import annotations

import json
import math
import re
from typing import Any

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_./ -]*")
# words YAML 1.1 reads as something other than a string
# characters YAML does not allow raw, or reads as line breaks (JSON leaves them unescaped)
_NOT_PRINTABLE = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")
_RESERVED = frozenset({"y", "n", "yes", "no", "true", "false", "on", "off", "null", "~"})


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value).lower()
        return (
            text.replace("e", ".0e", 1) if "." not in text and "e" in text else text
        )  # YAML 1.1 floats need a dot
    text = str(value)
    if _PLAIN.fullmatch(text) and not text.endswith(" ") and text.lower() not in _RESERVED:
        return text
    quoted = json.dumps(text, ensure_ascii=False)  # a JSON string is a valid YAML double-quoted one
    return _NOT_PRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)


def _emit(value: Any, indent: str, lines: list[str], prefix: str) -> None:
    """Append `value` to `lines`; `prefix` is the text the first line starts with."""
    if isinstance(value, dict) and value:
        first = True
        for key, item in value.items():
            lead = prefix if first else indent
            first = False
            head = f"{lead}{_scalar(key)}:"
            if isinstance(item, dict) and item:
                lines.append(head)
                _emit(item, indent + "  ", lines, indent + "  ")
            elif isinstance(item, list) and item:
                lines.append(head)
                _emit(item, indent, lines, indent)
            else:
                lines.append(f"{head} {_inline(item)}")
    elif isinstance(value, list) and value:
        for position, item in enumerate(value):
            lead = prefix if position == 0 else indent
            if isinstance(item, dict | list) and item:
                _emit(item, indent + "  ", lines, lead + "- ")
            else:
                lines.append(f"{lead}- {_inline(item)}")
    else:
        lines.append(f"{prefix}{_inline(value)}")


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _scalar(value)


def dumps(data: Any) -> str:
    """One YAML document in block style."""
    lines: list[str] = []
    _emit(data, "", lines, "")
    return "\n".join(lines) + "\n"


def loads(text: str | bytes) -> Any:
    """Parse one YAML document; raises YAMLError on bad input."""
    import yaml

    return yaml.load(text, Loader=_loader())


def _loader() -> Any:
    import yaml

    global _LOADER
    if _LOADER is None:
        base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

        class Loader(base):  # type: ignore[misc]
            """SafeLoader that leaves RFC 3339 timestamps as the strings the file holds."""

        Loader.yaml_implicit_resolvers = {
            first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
            for first, resolvers in base.yaml_implicit_resolvers.items()
        }
        _LOADER = Loader
    return _LOADER


_LOADER: Any = None


def yaml_error() -> type[Exception]:
    """PyYAML's error class (imported only when a file is read)."""
    import yaml

    error: type[Exception] = yaml.YAMLError
    return error


def describe_error(err: Exception) -> str:
    """Why a YAML document does not parse, with its line: `found ... (line 3)`."""
    mark = getattr(err, "problem_mark", None)
    where = f" (line {mark.line + 1})" if mark is not None else ""
    return f"{getattr(err, 'problem', None) or 'not valid YAML'}{where}"
