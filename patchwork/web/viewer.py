"""Who is asking: the signed-in account for this request, however they proved it."""

from __future__ import annotations

from dataclasses import dataclass

from patchwork import policy
from patchwork.models import Account
from patchwork.services.accounts import actor_of


@dataclass(frozen=True)
class Viewer:
    account: Account
    session_id: str | None = None
    token_id: str | None = None
    second_factor_pending: bool = False
    second_factor_missing: bool = False  # production: a lead or admin without one reaches only its set-up

    @property
    def actor(self) -> policy.Actor:
        return actor_of(self.account)

    @property
    def is_system_admin(self) -> bool:
        return self.actor.is_system_admin

    @property
    def sees_as_family(self) -> bool:
        return bool(policy.sees_as_family(self.actor))

    @property
    def does_practitioner_work(self) -> bool:
        return bool(policy.practitioner_work(self.actor))

    @property
    def has_networks(self) -> bool:
        return bool(policy.has_networks(self.actor))

    @property
    def is_org_admin(self) -> bool:
        return self.account.is_org_admin
