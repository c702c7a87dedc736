from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patchwork import jsontext

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet=st.sampled_from('ab"\\[]{} ,:')),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=20,
)


@given(values)
def test_reads_what_json_reads_when_shallow(value: object) -> None:
    text = json.dumps(value)
    assert jsontext.loads(text) == value
    assert jsontext.loads(text.encode()) == value


def test_brackets_inside_strings_are_not_nesting() -> None:
    assert jsontext.nesting_depth('{"a": "[[[[{{", "b": [1, {"c": "\\"]]"}]}') == 3


@pytest.mark.parametrize("text", ["[" * 65 + "]" * 65, '{"a":' * 65 + "1" + "}" * 65, "[" * 100_000])
def test_too_deep_is_malformed(text: str) -> None:
    with pytest.raises(jsontext.MalformedJson, match="nested at most 64"):
        jsontext.loads(text)


def test_exactly_the_limit_is_read() -> None:
    assert jsontext.loads("[" * 64 + "]" * 64) == json.loads("[" * 64 + "]" * 64)


@pytest.mark.parametrize("raw", [b"\xff\xfe", b"{not json", b""])
def test_not_json_is_malformed(raw: bytes) -> None:
    with pytest.raises(jsontext.MalformedJson):
        jsontext.loads(raw)
