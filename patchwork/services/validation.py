"""Field checks shared by the services; each failure is a message fit to show beside its field."""

from __future__ import annotations

import re
import unicodedata

from patchwork import limits
from patchwork.errors import Invalid

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_JOINERS = frozenset("\u200c\u200d")  # zero-width (non-)joiner: part of correct spelling in Persian, Indic scripts
_MULTILINE_CONTROLS = frozenset("\n\t")


def refused_character(text: str, *, multiline: bool = False) -> str | None:
    """The rule for every free-text field: letters of any script, marks, digits, punctuation, symbols and spaces
    are allowed; control characters (but a newline or tab in multi-line text), format characters such as
    bidirectional overrides and zero-width spaces, and lone surrogates are not. A joiner is allowed between two
    letters, marks or symbols, where some scripts and emoji need it. Returns what the first refused character is."""
    for index, ch in enumerate(text):
        category = unicodedata.category(ch)
        if category == "Cc" and not (multiline and ch in _MULTILINE_CONTROLS):
            return f"control characters (U+{ord(ch):04X})"
        if category == "Cs":
            return f"unpaired surrogates (U+{ord(ch):04X})"
        if category == "Cf" and not (ch in _JOINERS and _joining(text, index)):
            return f"hidden formatting characters such as direction overrides or zero-width spaces (U+{ord(ch):04X})"
    return None


def _joining(text: str, index: int) -> bool:
    if index == 0 or index == len(text) - 1:
        return False
    return all(unicodedata.category(text[i])[0] in "LMS" for i in (index - 1, index + 1))


class Fields:
    """Collects per-field errors so a form can show every problem at once."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def fail(self, field: str, message: str) -> None:
        self.errors.setdefault(field, message)

    def text(self, field: str, value: object, *, label: str, max_length: int, required: bool = True) -> str:
        if value is None:
            value = ""
        if not isinstance(value, str):
            self.fail(field, f"{label} must be text")
            return ""
        cleaned = unicodedata.normalize("NFC", " ".join(value.split()))
        if required and not cleaned:
            self.fail(field, f"Enter {label.lower()}")
        elif len(cleaned) > max_length:
            self.fail(field, f"{label} must be {max_length} characters or fewer")
        elif (refused := refused_character(cleaned)) is not None:
            self.fail(field, f"{label} must not contain {refused}")
        return cleaned

    def email(self, field: str, value: object, *, label: str = "E-mail address") -> str:
        cleaned = self.text(field, value, label=label, max_length=limits.EMAIL).lower()
        if cleaned and not EMAIL.match(cleaned):
            self.fail(field, "Enter an e-mail address in the correct format, like name@example.org")
        return cleaned

    def choice(self, field: str, value: object, *, options: dict[str, str] | set[str], message: str) -> str:
        if not isinstance(value, str) or value not in options:
            self.fail(field, message)
            return ""
        return value

    def raw(self, field: str, value: object, *, label: str) -> str:
        if not isinstance(value, str) or not value:
            self.fail(field, f"Enter {label.lower()}")
            return ""
        return value

    def check(self) -> None:
        if self.errors:
            raise Invalid(dict(self.errors))
