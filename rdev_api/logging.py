"""Structured logging of the API (spec/rdev-api.md "Logging"): JSON lines by default (text with
RDEV_LOG_FORMAT=text), field-name constants, request/project/command/work ids carried by
contextvars into every line, redaction of secrets by key and by value, per-component levels
(`RDEV_LOG_LEVELS=queue=debug,http=warning`). Loggers are `get_logger(component)`."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any, Final

FIELD_REQUEST_ID: Final = "request_id"
FIELD_PROJECT_ID: Final = "project_id"
FIELD_COMMAND_ID: Final = "command_id"
FIELD_WORK_ID: Final = "work_id"
FIELD_WORKER_ID: Final = "worker_id"
FIELD_KEY_ID: Final = "key_id"
FIELD_WEBHOOK_ID: Final = "webhook_id"
FIELD_METHOD: Final = "method"
FIELD_PATH: Final = "path"
FIELD_STATUS: Final = "status"
FIELD_DURATION_MS: Final = "duration_ms"
FIELD_CLIENT_IP: Final = "client_ip"
FIELD_ERROR: Final = "error"
FIELD_ERROR_CODE: Final = "error_code"
FIELD_SANDBOX: Final = "sandbox"

ROOT: Final = "rdev"
REDACTED: Final = "[REDACTED]"
CONTEXT_FIELDS: Final = (FIELD_REQUEST_ID, FIELD_PROJECT_ID, FIELD_COMMAND_ID, FIELD_WORK_ID)
_context: dict[str, ContextVar[str | None]] = {
    name: ContextVar(name, default=None) for name in CONTEXT_FIELDS
}

# A key whose name contains one of these is secret, whatever its value.
SENSITIVE_KEY: Final = re.compile(
    r"(api[_-]?key|token|passw(or)?d|secret|authorization|credential|master[_-]?key|cookie|signature)", re.I
)
# Values that are secret wherever they appear: rdev API keys, bearer tokens, Authorization values.
SENSITIVE_VALUE: Final = re.compile(
    r"rdev_[A-Za-z0-9]{8}_[A-Za-z0-9_-]{16,}"
    r"|(?i:bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"
    r"|(?i:x-api-key|authorization)\s*[:=]\s*(?:(?i:bearer|basic)\s+)?\S+"
)
# Attributes every LogRecord has: anything else passed through `extra=` is a field.
_RECORD_ATTRS: Final = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def redact(value: Any, key: str | None = None) -> Any:
    """`value` with secrets replaced: by key name (whole value) and by pattern (inside strings)."""
    if key is not None and SENSITIVE_KEY.search(key):
        return REDACTED
    if isinstance(value, str):
        return SENSITIVE_VALUE.sub(REDACTED, value)
    if isinstance(value, Mapping):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


@contextmanager
def log_context(**fields: str | None) -> Iterator[None]:
    """Carry request/project/command/work ids into every line logged inside the block."""
    unknown = set(fields) - set(CONTEXT_FIELDS)
    if unknown:
        raise ValueError(f"not a context field: {', '.join(sorted(unknown))}")
    tokens = [(_context[name], _context[name].set(value)) for name, value in fields.items()]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def current_context() -> dict[str, str]:
    return {name: value for name, var in _context.items() if (value := var.get()) is not None}


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = current_context()
    fields.update({k: v for k, v in vars(record).items() if k not in _RECORD_ATTRS and not k.startswith("_")})
    if record.exc_info and record.exc_info[1] is not None:
        error = record.exc_info[1]
        fields.setdefault(FIELD_ERROR, f"{type(error).__name__}: {error}")
    return {k: redact(v, k) for k, v in fields.items()}


def _component(record: logging.LogRecord) -> str:
    return record.name[len(ROOT) + 1 :] if record.name.startswith(ROOT + ".") else record.name


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, component, msg, then the fields."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "component": _component(record),
            "msg": redact(record.getMessage()),
            **_fields(record),
        }
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`ts level component: msg key=value ...` for people reading a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC).strftime("%H:%M:%S.%f")[:-3]
        fields = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        message = redact(record.getMessage())
        return f"{ts} {record.levelname.lower():7s} {_component(record)}: {message}" + (
            f" {fields}" if fields else ""
        )


def get_logger(component: str) -> logging.Logger:
    """The logger of a component (`http`, `queue`, `executor`, ...)."""
    return logging.getLogger(f"{ROOT}.{component}")


def parse_levels(spec: str) -> dict[str, int]:
    """`queue=debug,http=warning` → {component: level}; raises ValueError naming a bad entry."""
    levels = {}
    for entry in filter(None, (part.strip() for part in spec.split(","))):
        component, sep, level = entry.partition("=")
        number = logging.getLevelName(level.strip().upper())
        if not sep or not component.strip() or not isinstance(number, int):
            raise ValueError(
                f"invalid RDEV_LOG_LEVELS entry {entry!r}: expected component=debug|info|warning|error"
            )
        levels[component.strip()] = number
    return levels


def setup_logging(
    stream: IO[str] | None = None, fmt: str = "json", level: str = "info", levels: str = ""
) -> logging.Handler:
    """Install one handler on the `rdev` logger; returns it (tests remove it again)."""
    root = logging.getLogger(ROOT)
    number = logging.getLevelName(level.upper())
    if not isinstance(number, int):
        raise ValueError(f"invalid log level {level!r}: expected debug, info, warning or error")
    if fmt not in ("json", "text"):
        raise ValueError(f"invalid log format {fmt!r}: expected json or text")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(number)
    root.propagate = False
    for component, component_level in parse_levels(levels).items():
        get_logger(component).setLevel(component_level)
    return handler
