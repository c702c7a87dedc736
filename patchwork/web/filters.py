"""Chronology filters from a query string: category, level, organisation (repeatable), and the dates observed from
and to, as GOV.UK day, month and year boxes (`from_day`, `from_month`, `from_year`, and `to_...`). The ISO dates
`from` and `to` that earlier links carry are still read when the boxes are left empty."""

from __future__ import annotations

from datetime import date

from starlette.datastructures import QueryParams

from patchwork.errors import Invalid
from patchwork.models.notes import CATEGORY_LABELS
from patchwork.services.notes import ChronologyFilters

LEVELS = ("observation", "concern", "urgent")
DATES = {"from": "Observed from", "to": "Observed to"}
PARTS = ("day", "month", "year")


def chronology_filters(params: QueryParams) -> ChronologyFilters:
    fields: dict[str, str] = {}
    categories = frozenset(params.getlist("category"))
    if not categories <= CATEGORY_LABELS.keys():
        fields["category"] = "Choose categories from the list"
    levels = frozenset(params.getlist("level"))
    if not levels <= set(LEVELS):
        fields["level"] = "Choose levels from the list"
    organisations = frozenset(o for o in params.getlist("organisation") if o)
    observed_from = _date(fields, params, "from")
    observed_to = _date(fields, params, "to")
    if observed_from and observed_to and observed_from > observed_to:
        fields["to"] = "Observed to must be the same as or after observed from"
    if fields:
        raise Invalid(fields)
    return ChronologyFilters(
        categories=categories,
        levels=levels,
        organisation_ids=organisations,
        observed_from=observed_from,
        observed_to=observed_to,
    )


def _typed(params: QueryParams, key: str) -> dict[str, str]:
    return {part: (params.get(f"{key}_{part}") or "").strip() for part in PARTS}


def _date(fields: dict[str, str], params: QueryParams, key: str) -> date | None:
    label = DATES[key]
    typed = _typed(params, key)
    if not any(typed.values()):
        return _iso_date(fields, key, params.get(key), label)
    missing = [part for part in PARTS if not typed[part]]
    if missing:
        fields[key] = f"{label} must include a {' and '.join(missing)}"
        return None
    if not all(text.isascii() and text.isdigit() for text in typed.values()):
        fields[key] = f"{label} must be a real date"
        return None
    if len(typed["year"]) != 4:
        fields[key] = f"The year in {label.lower()} must have 4 numbers"
        return None
    try:
        return date(int(typed["year"]), int(typed["month"]), int(typed["day"]))
    except ValueError:
        fields[key] = f"{label} must be a real date"
        return None


def _iso_date(fields: dict[str, str], key: str, value: str | None, label: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fields[key] = f"{label} must be a real date"
        return None


def date_boxes(params: QueryParams) -> dict[str, str]:
    """What the date boxes show: what was typed, or a date an earlier link gave as `from=2026-03-27`."""
    shown: dict[str, str] = {}
    for key in DATES:
        typed = _typed(params, key)
        if not any(typed.values()) and params.get(key):
            try:
                given = date.fromisoformat(params.get(key) or "")
            except ValueError:
                pass
            else:
                typed = {"day": str(given.day), "month": str(given.month), "year": str(given.year)}
        shown |= {f"{key}_{part}": text for part, text in typed.items()}
    return shown
