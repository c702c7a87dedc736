"""Invitations that bring a parent, carer or the young person into one network.

The code handed to the family member is never stored: only its SHA-256 digest, so a copy of the database
cannot be used to join a network.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from patchwork.clock import utcnow
from patchwork.models.accounts import new_id


class FamilyInvitation(SQLModel, table=True):
    __tablename__ = "family_invitation"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    network_id: str = Field(foreign_key="network.id", max_length=36, index=True)
    invited_by_id: str = Field(foreign_key="account.id", max_length=36)
    name: str = Field(max_length=200)
    relationship: str = Field(max_length=100)
    email: str = Field(max_length=254)
    code_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    accepted_at: datetime | None = None
    accepted_account_id: str | None = Field(default=None, foreign_key="account.id", max_length=36)
