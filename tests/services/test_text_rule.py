from __future__ import annotations

import pytest

from patchwork.services.validation import Fields, refused_character

ALLOWED = [
    "Zoë O’Neil-Smith",
    "王小明",
    "محمد",
    "می\u200cخواهم",  # Persian needs the zero-width non-joiner between letters
    "क्\u200dष",  # a joiner inside a Devanagari conjunct
    "👨\u200d👩\u200d👧 at pick-up",  # an emoji family is joined symbols
    "Naïve café — 50% £3",
]
REFUSED = [
    ("NUL \x00 inside", "control"),
    ("escape \x1b[31m", "control"),
    ("right-to-left \u202e override", "formatting"),
    ("isolate \u2066 x", "formatting"),
    ("zero\u200bwidth", "formatting"),
    ("\u200cleading joiner", "formatting"),
    ("byte order \ufeff mark", "formatting"),
    ("lone \ud800 surrogate", "surrogate"),
]


@pytest.mark.parametrize("text", ALLOWED)
def test_letters_of_any_script_are_allowed(text: str) -> None:
    assert refused_character(text) is None


@pytest.mark.parametrize(("text", "kind"), REFUSED)
def test_controls_and_format_characters_are_refused(text: str, kind: str) -> None:
    refused = refused_character(text, multiline=True)
    assert refused is not None and kind in refused


def test_newlines_and_tabs_only_in_multiline_text() -> None:
    assert refused_character("two\nlines\tand a tab", multiline=True) is None
    assert refused_character("two\nlines") is not None


def test_fields_name_the_field_and_keep_going() -> None:
    fields = Fields()
    fields.text("role_label", "Nurse\u202e", label="Your role", max_length=100)
    fields.text("reason", "fine", label="Reason", max_length=100)
    assert fields.errors == {"role_label": fields.errors["role_label"]}
    assert "Your role must not contain hidden formatting characters" in fields.errors["role_label"]
