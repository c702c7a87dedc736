"""Before posting: who will see a note like this, and which family members it can be shared with."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from patchwork import policy
from patchwork.clock import utcnow
from patchwork.crypto import Keyring
from patchwork.models import Account
from patchwork.models.networks import Involvement
from patchwork.models.notes import (
    NoteKind,
)
from patchwork.services import sealed_facts
from patchwork.services.notes.standing import _family, _members, _network_for
from patchwork.services.visibility import member_viewer


@dataclass(frozen=True)
class AudiencePreview:
    people: int
    organisations: int
    family: int

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
    seeing: list[Involvement] = []
    for involvement, _ in _members(session, place.network.id):
        viewer = member_viewer(involvement, history_opened=False)
        if policy.see_note(viewer, facts, history_rule=place.network.history_rule):
            seeing.append(involvement)
    family = {m.account_id for m, _ in _family(session, place.network.id)} & family_user_ids
    return AudiencePreview(
        people=len(seeing), organisations=len({i.organisation_id for i in seeing}), family=len(family)
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
