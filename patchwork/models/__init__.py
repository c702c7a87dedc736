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

__all__ = [
    "ORGANISATION_TYPE_LABELS",
    "Account",
    "AccountKind",
    "AccountStatus",
    "ApiToken",
    "Organisation",
    "OrganisationType",
    "RecoveryCode",
    "SignInFailure",
    "WebSession",
    "new_id",
]
