"""Notes: post, read (feed, chronology, one note), revise, redact, reply, acknowledge, open history.

A note's path: drafts checks what was sent, writing stores it with its audience, audit and outbox event,
reading and views show it to each viewer as policy.see_note and policy.note_parts allow."""

from __future__ import annotations

from patchwork.services.notes.actions import acknowledge, open_history, redact, reply, revise
from patchwork.services.notes.drafts import (
    MAX_BODY,
    REFERRAL_ROUTE_UNCONFIRMED,
    Basis,
    Draft,
    NoteInput,
    ReferralRouteNotAcknowledged,
    check_observed_on,
    clean_body,
    clean_draft,
    referral_route_unconfirmed,
)
from patchwork.services.notes.preview import AudiencePreview, family_choices, preview_audience
from patchwork.services.notes.reading import (
    CHRONOLOGY_LIMIT,
    FEED_PAGE,
    MAX_PAGE,
    ChronologyFilters,
    NotePage,
    chronology,
    count_visible,
    decode_cursor,
    encode_cursor,
    feed,
    one_note,
    posted_view,
)
from patchwork.services.notes.standing import Standing, Visible, _network_for, _visible_note, network_of_note, standing
from patchwork.services.notes.views import SENSITIVE_AUTHOR, NoteView, Reply, Revision, views
from patchwork.services.notes.writing import DEFAULT_THRESHOLDS, Posted, check_audience, post_family_voice, post_note

__all__ = [
    "CHRONOLOGY_LIMIT",
    "DEFAULT_THRESHOLDS",
    "FEED_PAGE",
    "MAX_BODY",
    "MAX_PAGE",
    "REFERRAL_ROUTE_UNCONFIRMED",
    "SENSITIVE_AUTHOR",
    "AudiencePreview",
    "Basis",
    "ChronologyFilters",
    "Draft",
    "NoteInput",
    "NotePage",
    "NoteView",
    "Posted",
    "ReferralRouteNotAcknowledged",
    "Reply",
    "Revision",
    "Standing",
    "Visible",
    "_network_for",
    "_visible_note",
    "acknowledge",
    "check_audience",
    "check_observed_on",
    "chronology",
    "clean_body",
    "clean_draft",
    "count_visible",
    "decode_cursor",
    "encode_cursor",
    "family_choices",
    "feed",
    "network_of_note",
    "one_note",
    "open_history",
    "post_family_voice",
    "post_note",
    "posted_view",
    "preview_audience",
    "redact",
    "referral_route_unconfirmed",
    "reply",
    "revise",
    "standing",
    "views",
]
