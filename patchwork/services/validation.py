"""Field checks shared by the services; each failure is a message fit to show beside its field."""

from __future__ import annotations

import re
import unicodedata

from patchwork.errors import Invalid

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


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
        elif any(unicodedata.category(ch) == "Cc" for ch in cleaned):
            self.fail(field, f"{label} must not contain control characters")
        return cleaned

    def email(self, field: str, value: object, *, label: str = "E-mail address") -> str:
        cleaned = self.text(field, value, label=label, max_length=254).lower()
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
