"""Answers: validated against the manifest's variables before any file is written; every
problem is reported at once, naming the variable and the rule."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

from skeletons.environment import render_text
from skeletons.errors import VariableInvalid
from skeletons.manifest import Manifest, Variable

SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
TRUE, FALSE = {"true", "yes", "1", "on"}, {"false", "no", "0", "off"}


def _coerce(name: str, var: Variable, raw: Any) -> Any:
    """The typed value of `raw`; raises ValueError with the rule it broke."""
    kind = var.type
    if kind in ("int", "port"):
        if isinstance(raw, bool):
            raise ValueError("must be a whole number")
        try:
            value: Any = int(raw)
        except (TypeError, ValueError):
            raise ValueError(f"must be a whole number, got {raw!r}") from None
        low, high = (1, 65535) if kind == "port" else (var.min, var.max)
        low, high = var.min if var.min is not None else low, var.max if var.max is not None else high
        if (low is not None and value < low) or (high is not None and value > high):
            raise ValueError(f"must be between {low} and {high}, got {value}")
        return value
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in TRUE | FALSE:
            return text in TRUE
        raise ValueError(f"must be true or false, got {raw!r}")
    if kind == "list":
        items = raw if isinstance(raw, list) else [p for p in str(raw).split(",")]
        return [str(item).strip() for item in items if str(item).strip()]
    value = str(raw)
    if kind == "enum" and value not in (var.choices or []):
        raise ValueError(f"must be one of {', '.join(var.choices or [])}, got {value!r}")
    if kind == "slug" and not SLUG.fullmatch(value):
        raise ValueError(f"must be lowercase letters, digits and hyphens (at most 63), got {value!r}")
    if kind == "url":
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"must be an http(s) URL, got {value!r}")
    if kind == "secret" and not value:
        raise ValueError("must not be empty")
    if var.pattern and not re.fullmatch(var.pattern, value):
        raise ValueError(f"must match {var.pattern}, got {value!r}")
    if kind == "str" and var.min is not None and len(value) < var.min:
        raise ValueError(f"must be at least {var.min} characters")
    if kind == "str" and var.max is not None and len(value) > var.max:
        raise ValueError(f"must be at most {var.max} characters")
    return value


def _empty(var: Variable) -> Any:
    return {"bool": False, "list": []}.get(var.type, "")


def resolve_answers(
    manifest: Manifest,
    given: Mapping[str, Any],
    env: Mapping[str, str] | None = None,
    scope: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Every variable's value: given, else (secrets) its environment variable, else its default
    (a Jinja expression over earlier answers and the unit's `scope` may compute it). Raises
    VariableInvalid listing every problem."""
    env = env or {}
    problems = [
        f"unknown variable '{name}' (known: {', '.join(manifest.variables) or 'none'})"
        for name in given
        if name not in manifest.variables
    ]
    answers: dict[str, Any] = {}
    for name, var in manifest.variables.items():
        if name in given:
            raw = given[name]
        elif var.type == "secret" and var.env and env.get(var.env):
            raw = env[var.env]
        elif var.default is not None:
            raw = var.default
            if isinstance(raw, str) and ("{{" in raw or "{%" in raw):
                try:
                    raw = render_text(raw, {**(scope or {}), **answers}, f"the default of variable '{name}'")
                except Exception as err:
                    if not problems:  # else it follows from an earlier invalid answer
                        problems.append(f"variable '{name}': default cannot be computed ({err})")
                    continue
        elif var.required:
            source = f" or set {var.env}" if var.env else ""
            problems.append(f"variable '{name}' is required{source}" + (f" ({var.help})" if var.help else ""))
            continue
        else:
            answers[name] = _empty(var)
            continue
        try:
            answers[name] = _coerce(name, var, raw)
        except ValueError as err:
            problems.append(f"variable '{name}' ({var.type}) {err}")
    if problems:
        raise VariableInvalid(problems)
    return answers


def storable(manifest: Manifest, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers a lock file may keep: never a secret."""
    return {k: v for k, v in answers.items() if manifest.variables[k].type != "secret"}
