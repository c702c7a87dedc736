"""Organisations, accounts and what signs them in."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from patchwork.clock import utcnow
from patchwork.limits import API_TOKEN_NAME


def new_id() -> str:
    return str(uuid.uuid4())


class OrganisationType(StrEnum):
    school = "school"
    early_years = "early_years"
    health = "health"
    gp = "gp"
    police = "police"
    social_care = "social_care"
    early_help = "early_help"
    housing = "housing"
    voluntary = "voluntary"


ORGANISATION_TYPE_LABELS: dict[OrganisationType, str] = {
    OrganisationType.school: "School",
    OrganisationType.early_years: "Early years or children's centre",
    OrganisationType.health: "Health",
    OrganisationType.gp: "GP practice",
    OrganisationType.police: "Police",
    OrganisationType.social_care: "Children's social care",
    OrganisationType.early_help: "Early help",
    OrganisationType.housing: "Housing",
    OrganisationType.voluntary: "Voluntary sector",
}


class AccountKind(StrEnum):
    practitioner = "practitioner"
    family = "family"
    admin = "admin"


class AccountStatus(StrEnum):
    pending = "pending"
    active = "active"
    refused = "refused"
    deactivated = "deactivated"


class Organisation(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    name: str = Field(max_length=200, unique=True)
    type: str = Field(max_length=32)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)


class Account(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    email: str = Field(max_length=254, unique=True)
    name: str = Field(max_length=200)
    job_title: str = Field(default="", max_length=200)
    kind: str = Field(max_length=16)
    organisation_id: str | None = Field(default=None, foreign_key="organisation.id", max_length=36, index=True)
    is_org_admin: bool = False
    status: str = Field(max_length=16, index=True)
    password_hash: str = Field(max_length=255)
    totp_secret: str | None = Field(default=None, max_length=255)
    totp_last_step: int | None = None
    created_at: datetime = Field(default_factory=utcnow)
    status_changed_at: datetime = Field(default_factory=utcnow)
    status_changed_by_id: str | None = Field(default=None, max_length=36)
    # The audit event of the last deactivation, which holds its reason; cleared when the account is reactivated.
    status_event_id: str | None = Field(default=None, max_length=36)
    password_changed_at: datetime = Field(default_factory=utcnow)

    @property
    def has_second_factor(self) -> bool:
        return self.totp_secret is not None

    @property
    def is_active(self) -> bool:
        return self.status == AccountStatus.active


class RecoveryCode(SQLModel, table=True):
    __tablename__ = "recovery_code"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    account_id: str = Field(foreign_key="account.id", max_length=36, index=True)
    code_hash: str = Field(max_length=64)
    used_at: datetime | None = None


class WebSession(SQLModel, table=True):
    __tablename__ = "web_session"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    token_hash: str = Field(max_length=64, unique=True)
    account_id: str = Field(foreign_key="account.id", max_length=36, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    second_factor_pending: bool = False
    second_factor_by_provider: bool = False  # signed in by single sign-on that reported a second factor
    revoked_at: datetime | None = None


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    token_hash: str = Field(max_length=64, unique=True)
    account_id: str = Field(foreign_key="account.id", max_length=36, index=True)
    name: str = Field(default="", max_length=API_TOKEN_NAME)  # what its holder calls it; empty when not given
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None  # recorded at most once in TOKEN_TOUCH_EVERY (auth.sessions)


class SignInFailure(SQLModel, table=True):
    __tablename__ = "sign_in_failure"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    key: str = Field(max_length=80, index=True)
    at: datetime = Field(default_factory=utcnow, index=True)
