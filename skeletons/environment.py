"""The one Jinja environment: sandboxed, StrictUndefined, plain data in the context."""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from skeletons.errors import RenderFailed


def _fail(message: str) -> None:
    """`{{ fail("...") }}`: a template refuses answers it cannot work with, in its own words."""
    raise jinja2.TemplateRuntimeError(str(message))


@cache
def environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.globals["fail"] = _fail
    env.filters["snake"] = lambda value: str(value).replace("-", "_")
    env.filters["title_words"] = lambda value: str(value).replace("-", " ").replace("_", " ").title()
    env.filters["pascal"] = lambda value: "".join(
        part.capitalize() for part in str(value).replace("_", "-").split("-")
    )
    return env


@lru_cache(maxsize=4096)
def _compile(text: str) -> jinja2.Template:
    """Compiled once per text: the same files and fragments render for every unit."""
    return environment().from_string(text)


def render_text(text: str, context: dict[str, Any], where: str) -> str:
    """Render `text`; any template error names `where` (a file or a field)."""
    try:
        return _compile(text).render(context)
    except jinja2.TemplateError as err:
        line = getattr(err, "lineno", None)
        at = f" line {line}" if line else ""
        raise RenderFailed(f"cannot render {where}{at}: {err}") from err


def evaluate(expression: str, context: dict[str, Any], where: str) -> Any:
    """The value of a Jinja expression (a `when` condition, a computed default)."""
    try:
        return environment().compile_expression(expression, undefined_to_none=False)(**context)
    except jinja2.TemplateError as err:
        raise RenderFailed(f"cannot evaluate {where} ({expression!r}): {err}") from err
