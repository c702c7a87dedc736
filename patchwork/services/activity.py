"""When each network last changed in a way its viewer may see.

A network's own `last_activity_at` moves with every change, a lead-only note or a note for named people too: shown
to someone who may not see that note, it would tell them that something was written, and when. What a member is
shown instead is the newest of what they may see: the notes (posted, revised, redacted) and replies the policy
shows them, and the events every practitioner member sees (people joining and leaving, leads, the history rule).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from patchwork import policy
from patchwork.events import MEMBER_EVENTS
from patchwork.models.events import NetworkEvent
from patchwork.models.networks import Network
from patchwork.models.notes import Note, NoteReply
from patchwork.services.visibility import Standings, seen_across, visible


def as_seen_by(session: Session, viewers: Mapping[str, tuple[Network, policy.NoteViewer]]) -> dict[str, datetime]:
    """For each network id, its last activity as its viewer may see it: three queries however many networks."""
    if not viewers:
        return {}
    latest = {network_id: network.created_at for network_id, (network, _) in viewers.items()}
    practitioners = [network_id for network_id, (_, viewer) in viewers.items() if viewer.member]
    if practitioners:
        for network_id, at in session.exec(
            select(NetworkEvent.network_id, func.max(NetworkEvent.at))
            .where(col(NetworkEvent.network_id).in_(practitioners), col(NetworkEvent.type).in_(MEMBER_EVENTS))
            .group_by(col(NetworkEvent.network_id))
        ).all():
            _later(latest, network_id, at)
    accounts = {viewer.account_id for _, viewer in viewers.values()}
    if len(accounts) == 1 and all(policy.see_member_events(v) for _, v in viewers.values()):
        seen = seen_across(Standings(accounts.pop(), viewers), viewers)  # one plan however many networks
    else:
        seen = or_(
            *(
                (col(Note.network_id) == network_id) & visible(viewer, history_rule=network.history_rule)
                for network_id, (network, viewer) in viewers.items()
            )
        )
    for network_id, at in session.exec(
        select(Note.network_id, func.max(Note.updated_at)).where(seen).group_by(col(Note.network_id))
    ).all():
        _later(latest, network_id, at)
    for network_id, at in session.exec(
        select(Note.network_id, func.max(NoteReply.created_at))
        .join(Note, col(Note.id) == NoteReply.note_id)
        .where(seen)
        .group_by(col(Note.network_id))
    ).all():
        _later(latest, network_id, at)
    return latest


def _later(latest: dict[str, datetime], network_id: str, at: datetime | None) -> None:
    if at is not None and at > latest[network_id]:
        latest[network_id] = at
