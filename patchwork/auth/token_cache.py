"""API tokens resolved lately, held for a few seconds so that a busy client's calls skip a database round trip.

A held token is only ever used while this process hears every account doorbell (the hub's listener is up):
revoking a token, signing out everywhere, changing a password or deactivating an account rings the account's
doorbell when it commits, which drops what is held for that account here at once and, through the broker, in
every other process. When the listener is down nothing held is used, and a restarted listener starts empty.
`SECONDS` bounds how long anything is held in any case. Each call gets its own copy of the account.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state

from patchwork.clock import utcnow
from patchwork.models import Account

SECONDS = 10.0
LIMIT = 10_000


@dataclass(frozen=True)
class Held:
    token_id: str
    expires_at: datetime
    account: dict[str, Any]
    until: float


class TokenCache:
    def __init__(self, *, seconds: float = SECONDS, limit: int = LIMIT) -> None:
        self.seconds = seconds
        self.limit = limit
        self._held: dict[str, Held] = {}  # by the token's digest
        self._by_account: dict[str, set[str]] = {}
        self._generation = 0

    def __len__(self) -> int:
        return len(self._held)

    @property
    def generation(self) -> int:
        """Read before a lookup and pass it to `hold`: a lookup that overlapped a forget is not held."""
        return self._generation

    def get(self, token_digest: str) -> tuple[str, Account] | None:
        """The token's id and a fresh copy of its account, if held, still fresh and not expired."""
        held = self._held.get(token_digest)
        if held is None:
            return None
        if held.until < time.monotonic() or held.expires_at <= utcnow():
            self._drop(token_digest)
            return None
        # Made as the ORM makes a loaded row (Account(**columns) sets each field through SQLModel: 0.1 ms), and
        # detached as if loaded: never inserted again by a session it is added to.
        account: Account = _ACCOUNTS.class_manager.new_instance()
        instance_state(account).dict.update(held.account)
        make_transient_to_detached(account)
        return held.token_id, account

    def hold(self, token_digest: str, token_id: str, expires_at: datetime, account: Account, generation: int) -> None:
        if generation != self._generation:
            return
        if len(self._held) >= self.limit:
            self._held.clear()
            self._by_account.clear()
        columns = {column.key: getattr(account, column.key) for column in _ACCOUNT_COLUMNS}
        self._held[token_digest] = Held(token_id, expires_at, columns, time.monotonic() + self.seconds)
        self._by_account.setdefault(account.id, set()).add(token_digest)

    def forget(self, account_id: str | None = None) -> None:
        """Drop what is held for this account (its credentials or standing changed), or everything."""
        self._generation += 1
        if account_id is None:
            self._held.clear()
            self._by_account.clear()
            return
        for token_digest in self._by_account.pop(account_id, ()):
            self._held.pop(token_digest, None)

    def _drop(self, token_digest: str) -> None:
        held = self._held.pop(token_digest)
        digests = self._by_account.get(held.account["id"])
        if digests is not None:
            digests.discard(token_digest)
            if not digests:
                del self._by_account[held.account["id"]]


_ACCOUNT_COLUMNS = tuple(Account.__table__.columns)  # type: ignore[attr-defined]
_ACCOUNTS = inspect(Account)
