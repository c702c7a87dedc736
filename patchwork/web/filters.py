"""Chronology filters from a query string: category, level, organisation (repeatable), from and to (ISO dates)."""

from __future__ import annotations

from datetime import date

from starlette.datastructures import QueryParams

from patchwork.errors import Invalid
from patchwork.models.notes import CATEGORY_LABELS
from patchwork.services.notes import ChronologyFilters

LEVELS = ("observation", "concern", "urgent")


def chronology_filters(params: QueryParams) -> ChronologyFilters:
    fields: dict[str, str] = {}
    categories = frozenset(params.getlist("category"))
    if not categories <= CATEGORY_LABELS.keys():
        fields["category"] = "Choose categories from the list"
    levels = frozenset(params.getlist("level"))
    if not levels <= set(LEVELS):
        fields["level"] = "Choose levels from the list"
    organisations = frozenset(o for o in params.getlist("organisation") if o)
    observed_from = _date(fields, "from", params.get("from"), "Observed from")
    observed_to = _date(fields, "to", params.get("to"), "Observed to")
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


def _date(fields: dict[str, str], key: str, value: str | None, label: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fields[key] = f"{label} must be a real date, like 2026-03-27"
        return None
