"""The audit trail: append events to an HMAC chain (chain), verify the chain (verify), export checkpoints
(checkpoints), and let admins read it (reading).

Each event's hash is HMAC-SHA256 over its own fields and the previous event's hash, so without the key an
event cannot be changed, inserted or deleted unnoticed. Cutting off the newest events and rewinding the head
row leaves a shorter chain that is still valid; a checkpoint exported earlier is what catches that.

The key comes from PATCHWORK_AUDIT_KEY, or from PATCHWORK_SECRET_KEY while that is unset (as before the audit
key existed). Each event records the id of the key that sealed it, so the key can be rotated: the old one goes
into PATCHWORK_AUDIT_KEYS_PREVIOUS and `verify` checks each event with the key it names. Events written before
key ids were recorded have none: `verify` checks them with whichever configured key seals them.
"""

from __future__ import annotations

from patchwork.services.audit.chain import (
    ACTION_PATTERN,
    FORBIDDEN_DETAIL_KEYS,
    HASH_FORMAT,
    HKDF_INFO,
    MAX_DETAIL_STRING,
    MAX_DETAILS_CHARS,
    AuditTrailUnavailable,
    Recorded,
    audit_key,
    audit_key_id,
    chain_hash,
    derive_audit_key,
    details_json,
    previous_audit_keys,
    record,
)
from patchwork.services.audit.checkpoints import (
    HEX64,
    Checkpoint,
    MalformedCheckpoint,
    checkpoint,
    checkpoint_from_json,
    checkpoint_to_json,
)
from patchwork.services.audit.reading import MAX_LIST_LIMIT, EventPage, events_for_network, list_events, read_page
from patchwork.services.audit.verify import UNREADABLE, VerifyResult, verify

__all__ = [
    "ACTION_PATTERN",
    "FORBIDDEN_DETAIL_KEYS",
    "HASH_FORMAT",
    "HEX64",
    "HKDF_INFO",
    "MAX_DETAILS_CHARS",
    "MAX_DETAIL_STRING",
    "MAX_LIST_LIMIT",
    "UNREADABLE",
    "AuditTrailUnavailable",
    "Checkpoint",
    "EventPage",
    "MalformedCheckpoint",
    "Recorded",
    "VerifyResult",
    "audit_key",
    "audit_key_id",
    "chain_hash",
    "checkpoint",
    "checkpoint_from_json",
    "checkpoint_to_json",
    "derive_audit_key",
    "details_json",
    "events_for_network",
    "list_events",
    "previous_audit_keys",
    "read_page",
    "record",
    "verify",
]
