"""Before posting: who will see a note like this, and which family members it can be shared with."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from patchwork import policy
from patchwork.clock import utcnow
from patchwork.crypto import Keyring
from patchwork.models import Account, Organisation
from patchwork.models.networks import Involvement
from patchwork.models.notes import (
    NoteKind,
)
from patchwork.services import sealed_facts
from patchwork.services.notes.standing import _family, _members, _network_for
from patchwork.services.visibility import member_viewer


@dataclass(frozen=True)
class Seer:
    """One practitioner who would see the note, as the check step names them."""

    name: str
    organisation: str
    lead: bool
    me: bool


@dataclass(frozen=True)
class AudiencePreview:
    people: int
    organisations: int
    family: int
    seers: tuple[Seer, ...] = ()
    family_names: tuple[str, ...] = ()

    @property
    def words(self) -> str:
        people = f"{self.people} {'person' if self.people == 1 else 'people'}"
        organisations = f"{self.organisations} {'organisation' if self.organisations == 1 else 'organisations'}"
        family = (
            "not the family"
            if not self.family
            else f"and {self.family} family {'member' if self.family == 1 else 'members'}"
        )
        return f"{people} in {organisations}; {family}"

    @property
    def names(self) -> str:
        """Names the practitioners, leads first, then you, then the family: "Claire Dawson (lead, ...) and you"."""
        others = sorted((s for s in self.seers if not s.me), key=lambda s: (not s.lead, s.name))
        named = [f"{s.name} ({'lead, ' if s.lead else ''}{s.organisation})" for s in others]
        if any(s.me for s in self.seers):
            named.append("you")
        named += [f"{name} (family)" for name in self.family_names]
        if not named:
            return "nobody"
        return named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]


def preview_audience(
    *,
    session: Session,
    account: Account,
    network_id: str,
    audience: str,
    organisation_ids: frozenset[str],
    user_ids: frozenset[str],
    family_user_ids: frozenset[str],
) -> AudiencePreview:
    """Who will be able to see a note like this, counted the way the policy will decide it."""
    place = _network_for(session, account, network_id)
    facts = policy.NoteFacts(
        author_id=account.id,
        kind=NoteKind.practitioner,
        audience=audience,
        audience_organisations=organisation_ids,
        audience_people=user_ids,
        family_shares=family_user_ids,
        created_at=utcnow(),
    )
    seeing: list[tuple[Involvement, Account]] = []
    for involvement, member in _members(session, place.network.id):
        viewer = member_viewer(involvement, history_opened=False)
        if policy.see_note(viewer, facts, history_rule=place.network.history_rule):
            seeing.append((involvement, member))
    organisation_ids_seeing = {i.organisation_id for i, _ in seeing}
    organisation_names = dict(
        session.exec(
            select(Organisation.id, Organisation.name).where(col(Organisation.id).in_(organisation_ids_seeing))
        ).all()
    )
    family = sorted(
        (a.name for m, a in _family(session, place.network.id) if m.account_id in family_user_ids),
    )
    return AudiencePreview(
        people=len(seeing),
        organisations=len(organisation_ids_seeing),
        family=len(family),
        seers=tuple(
            Seer(
                name=member.name,
                organisation=organisation_names.get(i.organisation_id, "an organisation"),
                lead=i.is_lead,
                me=member.id == account.id,
            )
            for i, member in seeing
        ),
        family_names=tuple(family),
    )


def family_choices(*, session: Session, keys: Keyring, account: Account, network_id: str) -> list[tuple[str, str]]:
    """The network's family members a note can be shared with: (account id, "Name (relationship)")."""
    place = _network_for(session, account, network_id)
    if not policy.share_with_family(place.viewer):
        return []
    return sorted(
        (
            (a.id, f"{a.name} ({sealed_facts.relationship(keys.cipher, m)})")
            for m, a in _family(session, place.network.id)
        ),
        key=lambda pair: pair[1],
    )
