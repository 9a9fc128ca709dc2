"""JSON kept as text: cached objects printed without decoding and encoding them again."""

from __future__ import annotations

import json
from typing import Any


class JsonList(list[str]):
    """A JSON array held as its encoded items."""

    def encode(self) -> str:
        return "[" + ",".join(self) + "]"

    def decode(self) -> list[Any]:
        return [json.loads(item) for item in self]


class JsonText(str):
    """One JSON document held as its text."""

    def decode(self) -> Any:
        return json.loads(self)
