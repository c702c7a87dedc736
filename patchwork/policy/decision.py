"""A rule's answer: allowed or not, and the reason, which is also the message a refusal shows."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


# A rule's reasons are its own literal strings, so each answer is made once and shared (live delivery asks the
# rules for every recipient of every event).
@lru_cache(maxsize=1024)  # bounded: one reason names a role it was given
def allow(reason: str) -> Decision:
    return Decision(True, reason)


@lru_cache(maxsize=1024)  # bounded: one reason names a role it was given
def deny(reason: str) -> Decision:
    return Decision(False, reason)
