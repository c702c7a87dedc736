"""SQLModel tables, one module per room; importing this package registers them all."""

from patchwork.models.accounts import (
    ORGANISATION_TYPE_LABELS,
    Account,
    AccountKind,
    AccountStatus,
    ApiToken,
    Organisation,
    OrganisationType,
    RecoveryCode,
    SignInFailure,
    WebSession,
    new_id,
)
from patchwork.models.alerts import Alert, AlertKind, AlertNote, AlertOutcome, AlertState
from patchwork.models.audit import AuditEvent, AuditHead
from patchwork.models.events import EventCounter, NetworkEvent
from patchwork.models.family import FamilyInvitation
from patchwork.models.networks import (
    Child,
    ChildSearchKey,
    HistoryRule,
    Involvement,
    InvolvementStatus,
    Network,
    NetworkLink,
    NetworkStatus,
)
from patchwork.models.notes import (
    Acknowledgement,
    FamilyMembership,
    HistoryOpening,
    Note,
    NoteAudienceOrganisation,
    NoteAudiencePerson,
    NoteFamilyShare,
    NoteReply,
    NoteRevision,
)
from patchwork.models.notifications import NotificationMark, NotificationPreference

__all__ = [
    "ORGANISATION_TYPE_LABELS",
    "Account",
    "AccountKind",
    "AccountStatus",
    "Acknowledgement",
    "Alert",
    "AlertKind",
    "AlertNote",
    "AlertOutcome",
    "AlertState",
    "ApiToken",
    "AuditEvent",
    "AuditHead",
    "Child",
    "ChildSearchKey",
    "EventCounter",
    "FamilyInvitation",
    "FamilyMembership",
    "HistoryOpening",
    "HistoryRule",
    "Involvement",
    "InvolvementStatus",
    "Network",
    "NetworkEvent",
    "NetworkLink",
    "NetworkStatus",
    "Note",
    "NoteAudienceOrganisation",
    "NoteAudiencePerson",
    "NoteFamilyShare",
    "NoteReply",
    "NoteRevision",
    "NotificationMark",
    "NotificationPreference",
    "Organisation",
    "OrganisationType",
    "RecoveryCode",
    "SignInFailure",
    "WebSession",
    "new_id",
]
