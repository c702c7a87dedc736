"""Argon2id password hashing off the event loop, and the rules a new password must meet."""

from __future__ import annotations

import gzip
import re
from functools import cache
from importlib.resources import files

import anyio
import anyio.to_thread
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12
MAX_LENGTH = 256


class WeakPassword(ValueError):
    """The password breaks a rule; the message is fit to show next to the field."""


@cache
def common_passwords() -> frozenset[str]:
    data = files("patchwork").joinpath("data/common-passwords.txt.gz").read_bytes()
    return frozenset(line.strip().lower() for line in gzip.decompress(data).decode().splitlines() if line.strip())


def check_strength(password: str, *, email: str = "", name: str = "") -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"Password must be {MIN_LENGTH} characters or more")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"Password must be {MAX_LENGTH} characters or fewer")
    lowered = password.lower()
    core = re.sub(r"[\d\W_]+$", "", re.sub(r"^[\d\W_]+", "", lowered))
    common = common_passwords()
    if lowered in common or core in common or len(set(lowered)) < 4:
        raise WeakPassword("Password is too common. Choose a password that would be hard to guess")
    for personal in (email.split("@", 1)[0].lower(), *name.lower().split()):
        if len(personal) >= 4 and personal in lowered:
            raise WeakPassword("Password must not contain your name or e-mail address")


class Passwords:
    """Hashes and verifies in worker threads, a few at a time, so the event loop stays responsive."""

    def __init__(self, *, time_cost: int, memory_kib: int, parallelism: int, threads: int) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID
        )
        self._limiter = anyio.CapacityLimiter(threads)

    def hash_now(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify_now(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(self.hash_now, password, limiter=self._limiter)

    async def verify(self, password_hash: str, password: str) -> bool:
        return await anyio.to_thread.run_sync(self.verify_now, password_hash, password, limiter=self._limiter)

    @property
    def dummy_hash(self) -> str:
        """A hash to verify against for unknown e-mails, so both paths take the same time."""
        if not hasattr(self, "_dummy"):
            self._dummy = self.hash_now("not a real password, only for timing")
        return self._dummy
