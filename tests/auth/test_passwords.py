from __future__ import annotations

import asyncio
import threading

import pytest

from patchwork.auth.passwords import Passwords, WeakPassword, check_strength, common_passwords


def fast(**overrides: int) -> Passwords:
    values = {"time_cost": 1, "memory_kib": 8, "parallelism": 1, "threads": 2} | overrides
    return Passwords(**values)


def test_hash_is_argon2id_and_verifies() -> None:
    passwords = fast()
    hashed = passwords.hash_now("a long enough passphrase")
    assert hashed.startswith("$argon2id$")
    assert passwords.verify_now(hashed, "a long enough passphrase")
    assert not passwords.verify_now(hashed, "a long enough passphrasf")
    assert not passwords.verify_now("not a hash", "anything")


def test_rehash_needed_when_parameters_change() -> None:
    old = fast(time_cost=1)
    new = fast(time_cost=2)
    hashed = old.hash_now("a long enough passphrase")
    assert not old.needs_rehash(hashed)
    assert new.needs_rehash(hashed)
    assert new.verify_now(hashed, "a long enough passphrase")


async def test_hashing_runs_off_the_event_loop() -> None:
    passwords = fast()
    seen: list[str] = []
    original = passwords.hash_now

    def recording(password: str) -> str:
        seen.append(threading.current_thread().name)
        return original(password)

    passwords.hash_now = recording  # type: ignore[method-assign]
    await asyncio.gather(*(passwords.hash("a long enough passphrase") for _ in range(3)))
    assert seen and threading.main_thread().name not in seen


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "12 characters or more"),
        ("x" * 257, "256 characters or fewer"),
        ("password1234", "too common"),
        ("qwertyuiop123", "too common"),
        ("1qaz2wsx3edc", "too common"),
        ("aaaaaaaaaaaaaaa", "too common"),
        ("!!superman2024!!", "too common"),
        ("jane.smith-is-great", "name or e-mail"),
    ],
)
def test_weak_passwords_are_refused(password: str, message: str) -> None:
    with pytest.raises(WeakPassword, match=message):
        check_strength(password, email="jane.smith@example.org", name="Jane Smith")


def test_good_passphrase_is_accepted() -> None:
    check_strength("otter kettle lantern 42", email="jane@example.org", name="Jane Smith")


def test_common_password_list_ships_with_the_package() -> None:
    assert len(common_passwords()) > 19000
