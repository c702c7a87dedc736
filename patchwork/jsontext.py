"""Reading JSON from outside with a limit on nesting, so that no body or frame can exhaust the stack."""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 64
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")


class MalformedJson(ValueError):
    """Not JSON, or JSON nested deeper than anything Patchwork accepts."""


def nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in `text`, ignoring brackets inside strings."""
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", text))
    depth = deepest = 0
    for bracket in brackets:
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def loads(raw: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """`json.loads`, refusing anything nested more than `max_depth` levels with `MalformedJson`."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as error:
        raise MalformedJson(f"The body is not UTF-8: {error}") from error
    if nesting_depth(text) > max_depth:
        raise MalformedJson(f"JSON may be nested at most {max_depth} levels deep")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise MalformedJson(f"Not valid JSON: {error}") from error
