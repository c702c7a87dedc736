"""Families: a lead's invitation with a one-time code (invitations), accepting it (joining), and what a family
member sees of their network and practitioners of its family (views)."""

from __future__ import annotations

from patchwork.services.family.invitations import (
    CODE_ALPHABET,
    CODE_GROUP,
    CODE_LENGTH,
    InvitationDetails,
    Invited,
    check_can_invite,
    clean_invitation,
    code_digest,
    invite,
    new_code,
    normalise_code,
)
from patchwork.services.family.joining import (
    EXISTING_ACCOUNT,
    INVALID_CODE,
    NOT_FOR_FAMILY,
    Acceptance,
    Joined,
    accept,
    admit,
    clean_acceptance,
)
from patchwork.services.family.views import (
    FamilyMember,
    FamilyNetwork,
    FamilyOfNetwork,
    FamilyView,
    InvolvedPerson,
    family_of_network,
    family_view,
    involved,
    my_family_networks,
    network_view,
)
from patchwork.services.family.words import Addressing, addressing, addressing_in, is_young_person

__all__ = [
    "CODE_ALPHABET",
    "CODE_GROUP",
    "CODE_LENGTH",
    "EXISTING_ACCOUNT",
    "INVALID_CODE",
    "NOT_FOR_FAMILY",
    "Acceptance",
    "Addressing",
    "FamilyMember",
    "FamilyNetwork",
    "FamilyOfNetwork",
    "FamilyView",
    "InvitationDetails",
    "Invited",
    "InvolvedPerson",
    "Joined",
    "accept",
    "addressing",
    "addressing_in",
    "admit",
    "check_can_invite",
    "clean_acceptance",
    "clean_invitation",
    "code_digest",
    "family_of_network",
    "family_view",
    "invite",
    "involved",
    "is_young_person",
    "my_family_networks",
    "network_view",
    "new_code",
    "normalise_code",
]
