"""Live delivery's one read: a network's new events, their notes' facts and every follower's standing, read
once for all of a process's connections; the policy then decides for each recipient in memory.
"""

from __future__ import annotations

import json
from collections.abc import Collection

from sqlmodel import Session

from patchwork import outbox
from patchwork.crypto import Cursors
from patchwork.events import NOTE_EVENTS, Batch, Fact
from patchwork.models.events import EventCounter
from patchwork.models.networks import Network
from patchwork.services.visibility import facts_of_many, viewers_in


def read(
    *,
    session: Session,
    cursors: Cursors,
    network_id: str,
    after: int,
    account_ids: Collection[str],
    limit: int = outbox.PAGE,
) -> Batch:
    network = session.get(Network, network_id)
    counter = session.get(EventCounter, network_id)
    head = counter.seq if counter else 0
    if network is None:
        return Batch(network_id, after, after, head, "", [], {})
    if after >= head:
        return Batch(
            network_id, after, after, head, network.history_rule, [], viewers_in(session, network, account_ids)
        )
    rows = outbox.rows_after(session, network_id, after, limit=limit)
    data = {row.seq: json.loads(row.data) for row in rows}
    note_ids = {str(data[row.seq].get("note_id")) for row in rows if row.type in NOTE_EVENTS}
    notes = facts_of_many(session, note_ids)
    facts = [
        Fact(
            network_id=network_id,
            seq=row.seq,
            cursor=cursors.seal(network_id, row.seq),
            type=row.type,
            data=data[row.seq],
            note=notes.get(str(data[row.seq].get("note_id"))) if row.type in NOTE_EVENTS else None,
        )
        for row in rows
    ]
    last = rows[-1].seq if rows else after
    if any(row.type == "network.updated" for row in rows):
        session.refresh(network)  # its history rule as of these events, not as of before them
    return Batch(
        network_id=network_id,
        after=after,
        last=last,
        head=head,
        history_rule=network.history_rule,
        facts=facts,
        # Read after the events, never before: a change of standing among them is then already in effect.
        viewers=viewers_in(session, network, account_ids),
    )
