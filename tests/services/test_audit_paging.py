"""Paging the audit trail both ways by sequence cursors: a page reached from either side holds the same events,
the ends have no cursor beyond them, filters hold across pages, and every reading is itself recorded."""

from __future__ import annotations

import json

import pytest
from sqlmodel import col, select

from patchwork import policy
from patchwork.db import Database
from patchwork.errors import NotFound
from patchwork.models import AuditEvent, new_id
from patchwork.services import audit
from patchwork.settings import Settings

ADMIN = policy.Actor(account_id=new_id(), kind="admin", organisation_id=None, is_org_admin=False)
ORG_ADMIN = policy.Actor(account_id=new_id(), kind="practitioner", organisation_id=new_id(), is_org_admin=True)
SOMEONE = new_id()


def _append(db: Database, key: bytes, count: int, **fields: str) -> None:
    for _ in range(count):
        with db.transaction() as session:
            audit.record(session=session, key=key, action="network.viewed", **fields)


def _page(db: Database, key: bytes, **cursor: int | str | None) -> audit.EventPage:
    with db.transaction() as session:
        return audit.read_page(session=session, key=key, actor=ADMIN, limit=3, **cursor)  # type: ignore[arg-type]


def test_pages_either_side_of_a_cursor_hold_the_same_events(db: Database, settings: Settings) -> None:
    key = audit.audit_key(settings)
    _append(db, key, 7)

    first = _page(db, key)  # records a reading: event 8
    assert [e.seq for e in first.events] == [7, 6, 5] and (first.older, first.newer) == (5, None)
    second = _page(db, key, before_seq=first.older)  # event 9
    assert [e.seq for e in second.events] == [4, 3, 2] and (second.older, second.newer) == (2, 4)
    last = _page(db, key, before_seq=second.older)  # event 10
    assert [e.seq for e in last.events] == [1] and (last.older, last.newer) == (None, 1)

    back = _page(db, key, after_seq=last.newer)
    assert [e.seq for e in back.events] == [4, 3, 2] and (back.older, back.newer) == (2, 4)
    again = _page(db, key, after_seq=back.newer)
    assert [e.seq for e in again.events] == [7, 6, 5], "the page above, as it was walked down"
    assert again.newer == 7, "the readings since are newer events, and they are offered"


def test_a_cursor_past_either_end_gives_an_empty_page_that_points_back(db: Database, settings: Settings) -> None:
    key = audit.audit_key(settings)
    _append(db, key, 4)
    below = _page(db, key, before_seq=1)
    assert below.events == [] and (below.older, below.newer) == (None, 0)
    assert [e.seq for e in _page(db, key, after_seq=below.newer).events] == [3, 2, 1]
    above = _page(db, key, after_seq=1000)
    assert above.events == [] and (above.older, above.newer) == (1001, None)


def test_filters_hold_on_every_page_and_the_reading_says_what_it_asked(db: Database, settings: Settings) -> None:
    key = audit.audit_key(settings)
    _append(db, key, 4, actor_id=SOMEONE, network_id="n1")
    _append(db, key, 3, network_id="n1")
    _append(db, key, 2, actor_id=SOMEONE, network_id="n2")
    mine = _page(db, key, actor_id=SOMEONE, network_id="n1")
    assert [e.seq for e in mine.events] == [4, 3, 2] and mine.older == 2 and mine.newer is None
    rest = _page(db, key, actor_id=SOMEONE, network_id="n1", before_seq=mine.older)
    assert [e.seq for e in rest.events] == [1] and rest.older is None and rest.newer == 1
    with db.transaction() as session:
        reads = session.exec(
            select(AuditEvent).where(col(AuditEvent.action) == "audit.read").order_by(col(AuditEvent.seq))
        ).all()
    assert [(r.actor_id, r.network_id) for r in reads] == [(ADMIN.account_id, "n1")] * 2
    assert json.loads(reads[1].details) == {
        "filters": {"actor_id": SOMEONE, "before_seq": 2, "limit": 3},
        "returned": 1,
    }


def test_only_a_system_admin_pages_the_trail(db: Database, settings: Settings) -> None:
    key = audit.audit_key(settings)
    _append(db, key, 2)
    with pytest.raises(NotFound), db.transaction() as session:
        audit.read_page(session=session, key=key, actor=ORG_ADMIN)
    with db.transaction() as session:
        assert session.exec(select(AuditEvent).where(col(AuditEvent.action) == "audit.read")).first() is None
