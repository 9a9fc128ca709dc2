"""The block emitter writes what PyYAML reads back exactly."""

from __future__ import annotations

import math
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from sdlc import yamlio

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63),
    st.floats(allow_nan=False),
    st.text(max_size=40),
    st.sampled_from(
        [
            "yes",
            "No",
            "null",
            "~",
            "",
            " x",
            "x ",
            "2026-11-27T12:00:00Z",
            "1e3",
            "0x1F",
            "a: b",
            "- x",
            "#c",
            "@x",
            "'q'",
            '"q"',
            "multi\nline",
            "tab\there",
            "ünï",
            "T1",
            "feature-00001",
            "1_000",
            ".5",
            "010",
        ]
    ),
)
keys = st.one_of(st.text(min_size=1, max_size=12), st.sampled_from(["phase", "yes", "1", "a b", "x:"]))
documents = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=25,
)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(keys, documents, max_size=6))
def test_what_is_written_reads_back_the_same(data: dict[str, Any]) -> None:
    text = yamlio.dumps(data)
    assert _same(yamlio.loads(text), data), text
    assert _same(yaml.safe_load(text), data), text  # a stock PyYAML reader agrees


def test_timestamps_stay_strings_for_every_reader() -> None:
    text = yamlio.dumps({"created_at": "2026-11-27T12:00:00.000000Z"})
    assert yaml.safe_load(text) == {"created_at": "2026-11-27T12:00:00.000000Z"}
