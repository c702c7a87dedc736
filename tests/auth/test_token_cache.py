"""Held API tokens: each call gets its own copy of the account; forgetting, expiry and a lookup that overlapped a
forget all mean the database is asked again."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from patchwork.auth.token_cache import TokenCache
from patchwork.clock import utcnow
from patchwork.models import Account


def _account(account_id: str = "a1") -> Account:
    return Account(id=account_id, email=f"{account_id}@example.org", name="Nurse", kind="practitioner")


def test_a_held_token_gives_each_call_its_own_account_as_if_loaded() -> None:
    cache = TokenCache()
    cache.hold("d1", "t1", utcnow() + timedelta(hours=1), _account(), cache.generation)
    first, second = cache.get("d1"), cache.get("d1")
    assert first is not None and second is not None
    assert first[0] == "t1" and first[1].id == "a1"
    assert first[1] is not second[1]
    first[1].name = "Changed by one request"
    assert second[1].name == "Nurse"
    with Session() as session:  # a copy added to a session is updated later, never inserted again
        session.add(first[1])
        assert first[1] in session and not session.new


def test_forgetting_an_account_drops_only_its_tokens() -> None:
    cache = TokenCache()
    later = utcnow() + timedelta(hours=1)
    cache.hold("d1", "t1", later, _account("a1"), cache.generation)
    cache.hold("d2", "t2", later, _account("a1"), cache.generation)
    cache.hold("d3", "t3", later, _account("a2"), cache.generation)
    cache.forget("a1")
    assert cache.get("d1") is None and cache.get("d2") is None
    assert cache.get("d3") is not None
    cache.forget(None)
    assert cache.get("d3") is None and len(cache) == 0


def test_a_lookup_that_overlapped_a_forget_is_not_held() -> None:
    cache = TokenCache()
    generation = cache.generation
    cache.forget("someone else")  # e.g. an account doorbell rang while the database was being asked
    cache.hold("d1", "t1", utcnow() + timedelta(hours=1), _account(), generation)
    assert cache.get("d1") is None


def test_expired_tokens_and_stale_entries_are_not_used() -> None:
    cache = TokenCache(seconds=60)
    cache.hold("expired", "t1", utcnow() - timedelta(seconds=1), _account(), cache.generation)
    assert cache.get("expired") is None
    stale = TokenCache(seconds=-1)
    stale.hold("d1", "t1", utcnow() + timedelta(hours=1), _account(), stale.generation)
    assert stale.get("d1") is None and len(stale) == 0


def test_the_cache_never_grows_past_its_limit() -> None:
    cache = TokenCache(limit=3)
    later = utcnow() + timedelta(hours=1)
    for n in range(10):
        cache.hold(f"d{n}", f"t{n}", later, _account(f"a{n}"), cache.generation)
        assert len(cache) <= 3
