"""What every notes page loads first: the network, the viewer's standing in it and, for a practitioner, its people."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session

from patchwork import policy
from patchwork.crypto import Keyring
from patchwork.models.networks import HistoryRule, Network
from patchwork.services import networks, notes
from patchwork.web.viewer import Viewer


@dataclass(frozen=True)
class Place:
    """The network a notes page belongs to, and what the page needs to know about the viewer there."""

    standing: notes.Standing
    child_name: str | None = None
    members: list[networks.MemberView] = field(default_factory=list)

    @property
    def network(self) -> Network:
        return self.standing.network

    @property
    def viewer(self) -> policy.NoteViewer:
        return self.standing.viewer

    @property
    def practitioner_view(self) -> bool:
        return bool(policy.practitioner_view(self.viewer))

    @property
    def family_view(self) -> bool:
        return bool(policy.view_as_family(self.viewer))

    @property
    def can_post(self) -> bool:
        return bool(policy.practitioner_view(self.viewer)) and bool(
            policy.post_note(self.viewer, network_status=self.network.status)
        )

    @property
    def earlier_notes_hidden(self) -> bool:
        """A member who sees only what was posted after they joined (the network's history rule)."""
        return policy.earlier_notes_hidden(self.viewer, history_rule=self.network.history_rule)

    @property
    def leads(self) -> list[str]:
        return sorted(m.name for m in self.members if m.involvement.is_lead)

    @property
    def can_open_history(self) -> bool:
        return bool(policy.open_history(self.viewer)) and self.network.history_rule != HistoryRule.full

    @property
    def organisations(self) -> list[tuple[str, str]]:
        found = {m.organisation.id: m.organisation.name for m in self.members}
        return sorted(found.items(), key=lambda pair: pair[1])

    @property
    def others(self) -> list[tuple[str, str]]:
        return [
            (m.involvement.account_id, f"{m.name}, {m.organisation.name}")
            for m in self.members
            if m.involvement.account_id != self.viewer.account_id
        ]


def load_place(session: Session, keys: Keyring, viewer: Viewer, network_id: str) -> Place:
    """The notes services audit the read itself ("notes.viewed"), so the network's view is not audited again."""
    standing = notes.standing(session=session, account=viewer.account, network_id=network_id)
    if not policy.practitioner_view(standing.viewer):
        return Place(standing=standing)
    view = networks.view_network(
        session=session, keys=keys, actor=viewer.actor, network_id=standing.network.id, audited=False
    )
    return Place(standing=standing, child_name=view.child.display_name, members=view.members)
