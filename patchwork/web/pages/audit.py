"""The audit trail, for system admins; every reading of it is itself recorded."""

from __future__ import annotations

from sqlmodel import Session, col, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from patchwork.errors import NotFound
from patchwork.models import Account
from patchwork.models.audit import AuditEvent
from patchwork.services import audit
from patchwork.web.context import runtime
from patchwork.web.pages.common import render, signed_in

PAGE_SIZE = 100


async def audit_page(request: Request) -> Response:
    viewer = signed_in(request)
    rt = runtime(request)
    network_id = request.query_params.get("network") or None
    before = request.query_params.get("before", "")
    before_seq = int(before) if before.isdigit() else None

    def load(session: Session) -> tuple[list[AuditEvent], dict[str, str]]:
        events = audit.list_events(
            session=session,
            key=rt.keys.audit,
            actor=viewer.actor,
            network_id=network_id,
            before_seq=before_seq,
            limit=PAGE_SIZE,
        )
        actor_ids = {e.actor_id for e in events if e.actor_id}
        names = dict(session.exec(select(Account.id, Account.name).where(col(Account.id).in_(actor_ids))).all())
        return events, names

    if not viewer.is_system_admin:
        raise NotFound()
    events, names = await rt.db.run(load)
    older = events[-1].seq if len(events) == PAGE_SIZE else None
    return render(
        request, "admin_audit.html", {"events": events, "names": names, "network_id": network_id, "older": older}
    )


routes = [Route("/admin/audit", audit_page, methods=["GET"])]
