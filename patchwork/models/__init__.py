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
from patchwork.models.audit import AuditEvent, AuditHead
from patchwork.models.networks import (
    Child,
    ChildSearchKey,
    HistoryRule,
    Involvement,
    InvolvementStatus,
    Network,
    NetworkStatus,
)

__all__ = [
    "ORGANISATION_TYPE_LABELS",
    "Account",
    "AccountKind",
    "AccountStatus",
    "ApiToken",
    "AuditEvent",
    "AuditHead",
    "Child",
    "ChildSearchKey",
    "HistoryRule",
    "Involvement",
    "InvolvementStatus",
    "Network",
    "NetworkStatus",
    "Organisation",
    "OrganisationType",
    "RecoveryCode",
    "SignInFailure",
    "WebSession",
    "new_id",
]
