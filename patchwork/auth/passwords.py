"""Argon2id password hashing off the event loop, and the rules a new password must meet."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from importlib.resources import files

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


def _lower_priority() -> None:
    """Hashing threads yield the CPU to the event loop: on Linux, niceness is per thread."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICENESS)


HASHING_NICENESS = 10


class Passwords:
    """Hashes and verifies in low-priority worker threads, a few at a time, so the event loop stays responsive."""

    def __init__(self, *, time_cost: int, memory_kib: int, parallelism: int, threads: int) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID
        )
        self._threads = threads
        self._executor: ThreadPoolExecutor | None = None

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                max_workers=self._threads, thread_name_prefix="argon2", initializer=_lower_priority
            )
        return self._executor

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

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
        return await asyncio.get_running_loop().run_in_executor(self._pool(), self.hash_now, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        return await asyncio.get_running_loop().run_in_executor(self._pool(), self.verify_now, password_hash, password)

    @property
    def dummy_hash(self) -> str:
        """A hash to verify against for unknown e-mails, so both paths take the same time."""
        if not hasattr(self, "_dummy"):
            self._dummy = self.hash_now("not a real password, only for timing")
        return self._dummy
