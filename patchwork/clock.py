"""Time in one place: timezone-aware UTC throughout."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def utcnow() -> datetime:
    return datetime.now(UTC)


def isoformat(moment: datetime) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _london() -> ZoneInfo | None:
    try:
        return ZoneInfo("Europe/London")
    except ZoneInfoNotFoundError:  # a system without the time zone database: UTC, and said
        return None


LONDON = _london()


def uk_time(moment: datetime) -> str:
    """A time as people here read it, labelled: "15:04 on 3 December 2026 (UK time)"."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if LONDON is None:
        return aware.astimezone(UTC).strftime("%H:%M on %-d %B %Y (UTC)")
    return aware.astimezone(LONDON).strftime("%H:%M on %-d %B %Y (UK time)")


def uk_today() -> date:
    """Today's date in the UK (where a day of the access log begins and ends)."""
    now = utcnow()
    return (now.astimezone(LONDON) if LONDON is not None else now).date()
