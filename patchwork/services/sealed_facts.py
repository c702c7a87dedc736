"""What people say about their part in a child's network, sealed at rest: an involvement's role, reason and work
contact, a family member's relationship, an invitation's name, relationship and e-mail address.

Each value is encrypted with the data key under a context naming its table, column and row, so a ciphertext
copied to another row or column does not open. `patchwork keys rotate` moves them to a new key (services.keys).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from patchwork.crypto import BlindIndex, DataCipher
from patchwork.models import FamilyInvitation, new_id
from patchwork.models.networks import Involvement
from patchwork.models.notes import FamilyMembership

INVITATION_EMAIL = "family-invitation-email"


def involvement_context(column: str, row_id: str) -> str:
    return f"involvement.{column}:{row_id}"


def membership_context(row_id: str) -> str:
    return f"family_membership.relationship:{row_id}"


def invitation_context(column: str, row_id: str) -> str:
    return f"family_invitation.{column}:{row_id}"


@dataclass(frozen=True)
class InvolvementText:
    role_label: str
    reason: str
    contact: str


def new_involvement(
    cipher: DataCipher,
    *,
    network_id: str,
    account_id: str,
    organisation_id: str,
    sensitive: bool,
    text: InvolvementText,
) -> Involvement:
    row = new_id()
    return Involvement(
        id=row,
        network_id=network_id,
        account_id=account_id,
        organisation_id=organisation_id,
        sensitive=sensitive,
        role_label_sealed=cipher.encrypt(text.role_label, context=involvement_context("role_label", row)),
        reason_sealed=cipher.encrypt(text.reason, context=involvement_context("reason", row)),
        contact_sealed=cipher.encrypt(text.contact, context=involvement_context("contact", row)),
    )


def open_involvement(cipher: DataCipher, involvement: Involvement) -> InvolvementText:
    row = involvement.id
    return InvolvementText(
        role_label=cipher.decrypt(involvement.role_label_sealed, context=involvement_context("role_label", row)),
        reason=cipher.decrypt(involvement.reason_sealed, context=involvement_context("reason", row)),
        contact=cipher.decrypt(involvement.contact_sealed, context=involvement_context("contact", row)),
    )


def role_label(cipher: DataCipher, involvement: Involvement) -> str:
    return cipher.decrypt(involvement.role_label_sealed, context=involvement_context("role_label", involvement.id))


def new_membership(
    cipher: DataCipher, *, network_id: str, account_id: str, joined_at: datetime, relationship: str
) -> FamilyMembership:
    row = new_id()
    return FamilyMembership(
        id=row,
        network_id=network_id,
        account_id=account_id,
        joined_at=joined_at,
        relationship_sealed=cipher.encrypt(relationship, context=membership_context(row)),
    )


def relationship(cipher: DataCipher, membership: FamilyMembership) -> str:
    return cipher.decrypt(membership.relationship_sealed, context=membership_context(membership.id))


@dataclass(frozen=True)
class InvitationText:
    name: str
    relationship: str
    email: str


@dataclass(frozen=True)
class InvitationView:
    """An invitation as a lead sees it, opened."""

    id: str
    network_id: str
    name: str
    relationship: str
    email: str
    created_at: datetime
    expires_at: datetime


def email_index(index: BlindIndex, network_id: str, email: str) -> str:
    """The network is part of the digest: the same person's invitations to two networks cannot be linked."""
    return index(INVITATION_EMAIL, network_id, email)


def email_indexes(index: BlindIndex, network_id: str, email: str) -> list[str]:
    """The digests under every index key held, so look-ups work while a rotation is under way."""
    return index.every(INVITATION_EMAIL, network_id, email)


def new_invitation(
    cipher: DataCipher,
    index: BlindIndex,
    *,
    network_id: str,
    invited_by_id: str,
    code_hash: str,
    created_at: datetime,
    expires_at: datetime,
    text: InvitationText,
) -> FamilyInvitation:
    row = new_id()
    return FamilyInvitation(
        id=row,
        network_id=network_id,
        invited_by_id=invited_by_id,
        code_hash=code_hash,
        created_at=created_at,
        expires_at=expires_at,
        name_sealed=cipher.encrypt(text.name, context=invitation_context("name", row)),
        relationship_sealed=cipher.encrypt(text.relationship, context=invitation_context("relationship", row)),
        email_sealed=cipher.encrypt(text.email, context=invitation_context("email", row)),
        email_index=email_index(index, network_id, text.email),
    )


def open_invitation(cipher: DataCipher, invitation: FamilyInvitation) -> InvitationText:
    row = invitation.id
    return InvitationText(
        name=cipher.decrypt(invitation.name_sealed, context=invitation_context("name", row)),
        relationship=cipher.decrypt(invitation.relationship_sealed, context=invitation_context("relationship", row)),
        email=cipher.decrypt(invitation.email_sealed, context=invitation_context("email", row)),
    )


def invitation_view(cipher: DataCipher, invitation: FamilyInvitation) -> InvitationView:
    text = open_invitation(cipher, invitation)
    return InvitationView(
        id=invitation.id,
        network_id=invitation.network_id,
        name=text.name,
        relationship=text.relationship,
        email=text.email,
        created_at=invitation.created_at,
        expires_at=invitation.expires_at,
    )
