"""The escalation schedule: every few seconds, each process raises the escalations that are due. State lives in
the database (an urgent note, its acknowledgements, the alert's unique key), so several processes raise each
escalation once, and one whose time passed while every process was down is raised when one comes back."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime

from patchwork import policy
from patchwork.clock import utcnow
from patchwork.crypto import Keyring
from patchwork.db import Database
from patchwork.services import alerts

log = logging.getLogger("patchwork.escalation")


class EscalationSchedule:
    def __init__(
        self,
        db: Database,
        keys: Keyring,
        *,
        minutes: float,
        every_seconds: float,
        thresholds: policy.AlertThresholds,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = db
        self._keys = keys
        self._minutes = minutes
        self._every = every_seconds
        self._thresholds = thresholds
        self._clock = clock
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="patchwork-escalation")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def tick(self) -> int:
        """Raise what is due now; how many were raised here."""
        now = self._clock()
        return await self._db.run(
            lambda session: alerts.escalate_overdue(
                session=session, keys=self._keys, now=now, minutes=self._minutes, thresholds=self._thresholds
            )
        )

    async def _run(self) -> None:
        while True:
            try:
                raised = await self.tick()
                if raised:
                    log.info("escalation.raised", extra={"count": raised})
            except asyncio.CancelledError:
                raise
            except Exception:  # the next tick tries again; nothing is lost, the database holds what is due
                log.exception("escalation.failed")
            await asyncio.sleep(self._every)
