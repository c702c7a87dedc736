"""How long each free-text field may be, in characters after trimming: the services enforce these, and the API's
schemas (hence the OpenAPI document) state the same numbers."""

from __future__ import annotations

NOTE_BODY = 4000
CONSENT_FROM = 200
JUSTIFICATION = 1000
REDACTION_REASON = 500
HISTORY_REASON = 500
ROLE_LABEL = 100
INVOLVEMENT_REASON = 500
CONTACT = 200
MERGE_REASON = 200
PERSON_NAME = 200
JOB_TITLE = 200
ORGANISATION_NAME = 200
RELATIONSHIP = 100
EMAIL = 254
CHILD_NAME = 100
DIFFERENT_CHILD_DETAIL = 200
DIFFERENT_CHILD_REASON = 500
ALERT_OUTCOME = 1000
ACTION_REASON = 200  # why a network was closed, an involvement ended, an account deactivated: kept in the audit trail
API_TOKEN_NAME = 100
