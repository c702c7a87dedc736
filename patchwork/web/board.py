"""A lead's dashboard as the API, the home page and its live updates all ask for it and load it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlmodel import Session

from patchwork.clock import utcnow
from patchwork.models import Account
from patchwork.runtime import Runtime
from patchwork.services import dashboard


@dataclass(frozen=True)
class Asked:
    """How the dashboard was asked for: `?sort=`, `?q=` (the child's name as typed) and `?page=`."""

    sort: str = "alerts"
    query: str = ""
    page: int = 1

    @classmethod
    def of(cls, params: Mapping[str, str]) -> Asked:
        page = params.get("page", "1")
        return cls(
            params.get("sort", "alerts"), params.get("q", ""), int(page) if page.isdigit() and len(page) < 6 else 1
        )


def load_board(session: Session, rt: Runtime, account: Account, asked: Asked) -> dashboard.Dashboard:
    """The dashboard as the API, the home page and its live updates all show it."""
    return dashboard.for_lead(
        session=session,
        keys=rt.keys,
        account=account,
        thresholds=rt.settings.alert_thresholds,
        today=utcnow().date(),
        sort=asked.sort,
        query=asked.query,
        page=asked.page,
    )
