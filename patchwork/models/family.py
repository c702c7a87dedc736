"""Invitations that bring a parent, carer or the young person into one network.

The code handed to the family member is never stored: only its SHA-256 digest, so a copy of the database
cannot be used to join a network. The name, relationship and e-mail address are encrypted with the data key;
`email_index`, a keyed digest of the network and the address, finds earlier invitations for the same person.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from patchwork import limits
from patchwork.clock import utcnow
from patchwork.crypto import sealed_length
from patchwork.models.accounts import new_id

NAME_LIMIT = limits.PERSON_NAME
RELATIONSHIP_LIMIT = limits.RELATIONSHIP
EMAIL_LIMIT = limits.EMAIL


class FamilyInvitation(SQLModel, table=True):
    __tablename__ = "family_invitation"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    network_id: str = Field(foreign_key="network.id", max_length=36, index=True)
    invited_by_id: str = Field(foreign_key="account.id", max_length=36)
    name_sealed: str = Field(max_length=sealed_length(NAME_LIMIT))
    relationship_sealed: str = Field(max_length=sealed_length(RELATIONSHIP_LIMIT))
    email_sealed: str = Field(max_length=sealed_length(EMAIL_LIMIT))
    email_index: str = Field(max_length=64, index=True)
    code_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    accepted_at: datetime | None = None
    accepted_account_id: str | None = Field(default=None, foreign_key="account.id", max_length=36)
