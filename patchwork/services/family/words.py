"""How the family pages speak to one family member: to the young person about "your record", to a parent or carer
about "Aisha's record". The relationship is what the lead typed when inviting them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from patchwork.crypto import Keyring
from patchwork.models.networks import Child, Network
from patchwork.models.notes import FamilyMembership
from patchwork.services import children, sealed_facts

# What a lead may type for the child themselves (the invitation form suggests "Young person").
YOUNG_PERSON = frozenset(
    {
        "young person",
        "the young person",
        "young person themselves",
        "the young person themselves",
        "young person themself",
        "child",
        "the child",
        "the child themselves",
        "child themselves",
        "self",
        "themselves",
        "themself",
        "myself",
    }
)


def is_young_person(relationship: str) -> bool:
    words = " ".join(relationship.lower().replace("-", " ").replace("(", " ").replace(")", " ").split())
    return words.strip(" .") in YOUNG_PERSON


def first_name(child: children.ChildIdentity) -> str:
    return child.known_as or child.given_name


@dataclass(frozen=True)
class Addressing:
    young_person: bool
    child_name: str  # the child's first name (or the name they are known by)
    relationship: str

    @property
    def record(self) -> str:
        return "your record" if self.young_person else f"{self.child_name}'s record"

    @property
    def network(self) -> str:
        return "your network" if self.young_person else f"{self.child_name}'s network"

    @property
    def network_title(self) -> str:
        return "Your network" if self.young_person else f"{self.child_name}'s network"

    @property
    def record_title(self) -> str:
        return "Your record" if self.young_person else f"{self.child_name}'s record"

    @property
    def child(self) -> str:
        """The child as the object of a sentence: "found you by searching", "found Aisha by searching"."""
        return "you" if self.young_person else self.child_name

    @property
    def joined_as(self) -> str:
        return "the young person" if self.young_person else self.relationship

    def access_words(self, words: str) -> str:
        """An access log entry's words ("found the child by searching") said to this family member."""
        return words.replace("the child", self.child).replace("the record", self.record)


def addressing(*, child: children.ChildIdentity, relationship: str) -> Addressing:
    return Addressing(
        young_person=is_young_person(relationship), child_name=first_name(child), relationship=relationship
    )


def addressing_in(*, session: Session, keys: Keyring, account_id: str, network_id: str) -> Addressing | None:
    """How to speak to this account on a network's pages, if they are one of its family members (None otherwise)."""
    membership = session.exec(
        select(FamilyMembership).where(
            FamilyMembership.network_id == network_id,
            FamilyMembership.account_id == account_id,
            FamilyMembership.active == True,  # noqa: E712
        )
    ).first()
    network = session.get(Network, network_id)
    child = session.get(Child, network.child_id) if network is not None else None
    if membership is None or child is None:
        return None
    return addressing(
        child=children.open_identity(keys.cipher, child),
        relationship=sealed_facts.relationship(keys.cipher, membership),
    )
