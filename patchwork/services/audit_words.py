"""The audit trail in plain words, for the system admin's page: a name for every action the code base records
(tests/services/test_audit_words.py finds the actions in the source and fails on one without a name here), and
an event's details as "label: value" pairs, with the ids of people, organisations and networks as their names."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from patchwork.services.alerts import KIND_LABELS

NAMES: dict[str, str] = {
    "account.deactivated": "Deactivated an account",
    "access_log.read": "Read the access log",
    "alert.raised": "Raised an alert",
    "alert.updated": "Updated an alert",
    "audit.read": "Read the audit trail",
    "child.searched": "Searched for a child",
    "child.searched_by_admin": "Looked up a child's network (system admin)",
    "chronology.exported": "Exported the chronology",
    "family.invited": "Invited a family member",
    "family.joined": "Joined as a family member",
    "family.viewed": "Viewed the network as a family member",
    "history.opened": "Opened earlier notes to a member",
    "involvement.added": "Registered an involvement",
    "involvement.ended": "Ended an involvement",
    "lead.appointed": "Appointed a lead professional",
    "lead.stepped_down": "Stepped down as lead professional",
    "network.closed": "Closed the network",
    "network.created": "Started a network",
    "network.declared_different_child": "Said a similar network is a different child",
    "network.exported": "Exported the network's record",
    "network.history_rule_set": "Set the history rule",
    "network.merged": "Merged a duplicate network into this one",
    "network.reopened": "Reopened the network",
    "network.viewed": "Viewed who is involved",
    "note.acknowledged": "Acknowledged a note",
    "note.created": "Posted a note",
    "note.redacted": "Redacted a note",
    "note.replied": "Replied to a note",
    "note.revised": "Revised a note",
    "notes.viewed": "Viewed the notes",
    "notifications.email_off": "Turned e-mail notifications off",
    "notifications.email_on": "Turned e-mail notifications on",
    "password.reset": "Reset their password",
    "password.reset_code_issued": "Gave a password reset code",
    "password.reset_requested": "Asked for a password reset link",
    "sso.account_requested": "Asked for an account through single sign-on",
    "sso.configured": "Set up single sign-on",
    "sso.linked": "Linked their account to single sign-on",
    "sso.removed": "Removed single sign-on",
    "subject_access.exported": "Exported everything held about a child (subject access request)",
}

LABELS: dict[str, str] = {
    "action": "What",
    "actor_id": "Who",
    "after_seq": "Newer than event",
    "audience": "Who can see it",
    "before_seq": "Older than event",
    "by": "Found by",
    "domains": "E-mail domains",
    "format": "Format",
    "history_rule": "History rule",
    "issuer": "Identity provider",
    "kind": "Kind of alert",
    "level": "Level",
    "limit": "Page size",
    "matched": "Matched",
    "networks": "Networks found",
    "notes": "Notes",
    "purpose": "For",
    "reason": "Reason",
    "reference": "Request reference",
    "returned": "Results shown",
    "revision": "Revision",
    "rows": "Rows",
    "state": "State",
    "via": "How",
    "view": "What was read",
}

VALUE_WORDS: dict[str, Mapping[str, str]] = {
    "audience": {
        "network": "Every practitioner in the network",
        "lead": "Lead professionals only",
        "organisations": "Chosen organisations",
        "people": "Named people",
    },
    "by": {"details": "The child's details", "reference": "The network's reference"},
    "format": {"csv": "CSV", "pdf": "PDF"},
    "history_rule": {
        "from_joining": "New members see what is posted after they join",
        "full": "New members see the full history",
    },
    "kind": {str(kind): words for kind, words in KIND_LABELS.items()},
    "purpose": {"merge": "Merging networks", "audit": "Filtering the audit trail"},
    "via": {"email": "A link sent by e-mail", "admin": "A code from an administrator"},
    "view": {"feed": "The feed", "chronology": "The chronology", "note": "One note"},
}

# What the event's target is, by its type; a few actions say it better.
TARGET_LABELS: dict[str, str] = {
    "account": "Person",
    "alert": "Alert",
    "family_invitation": "Invitation",
    "family_membership": "Family member",
    "involvement": "Involvement of",
    "network": "Other network",
    "note": "Note",
    "organisation": "Organisation",
}
# Targets with no name to show: a note or an alert by its reference, never by its text.
NAMED_BY_REFERENCE = frozenset({"alert", "family_invitation", "network", "note"})
TARGET_LABELS_BY_ACTION: dict[str, str] = {
    "history.opened": "Opened to",
    "lead.appointed": "New lead",
    "network.merged": "Duplicate merged in",
    "password.reset_code_issued": "For",
}


def action_name(action: str) -> str:
    """The action's name; one recorded by an older version and since dropped still reads as words."""
    return NAMES.get(action) or action.replace(".", ": ").replace("_", " ").capitalize()


def network_reference(network_id: str) -> str:
    """How a network is named to a system admin: the start of its id, which no child's details can be read from."""
    return network_id[:8]


@dataclass(frozen=True)
class Known:
    """The names the page could find for the ids an event mentions."""

    accounts: Mapping[str, str] = field(default_factory=dict)
    organisations: Mapping[str, str] = field(default_factory=dict)
    # An involvement or family membership by its holder's name.
    holders: Mapping[str, str] = field(default_factory=dict)

    def name(self, value: str) -> str:
        return self.accounts.get(value) or self.organisations.get(value) or self.holders.get(value) or value


def target_pair(action: str, target_type: str | None, target_id: str | None, known: Known) -> tuple[str, str] | None:
    """What the event was about, as a pair; a note or an alert by its reference, never by its text."""
    if not target_type or not target_id:
        return None
    label = TARGET_LABELS_BY_ACTION.get(action) or TARGET_LABELS.get(target_type) or _label(target_type)
    if target_type in NAMED_BY_REFERENCE:
        return label, f"reference {network_reference(target_id)}"
    return label, known.name(target_id)


def detail_pairs(details: str, known: Known) -> list[tuple[str, str]]:
    """An event's details as (label, value) pairs in a steady order; nested filters are flattened."""
    try:
        data = json.loads(details) if details else {}
    except ValueError:
        return [("Details", details)]
    if not isinstance(data, dict):
        return [("Details", str(data))]
    pairs: list[tuple[str, str]] = []
    for key in sorted(data):
        value = data[key]
        if isinstance(value, dict):
            pairs += [
                (f"{_label(key)}: {label.lower()}", text) for label, text in detail_pairs(json.dumps(value), known)
            ]
        else:
            pairs.append((LABELS.get(key) or _label(key), _value(key, value, known)))
    return pairs


def _label(key: str) -> str:
    words = key.removesuffix("_id").replace("_", " ")
    return words[:1].upper() + words[1:]


def _value(key: str, value: object, known: Known) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if value is None:
        return "None"
    if isinstance(value, list):
        return ", ".join(_value(key, item, known) for item in value) or "None"
    text = str(value)
    if key == "action":
        return action_name(text)
    if key == "networks" or key.endswith("network_id"):
        return f"reference {network_reference(text)}"
    if key.endswith("_id"):
        return known.name(text)
    words = VALUE_WORDS.get(key, {}).get(text)
    if words:
        return words
    if key in ("level", "state"):
        return text.capitalize()
    return text
