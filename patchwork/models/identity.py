"""Signing in other ways than a password: an organisation's OpenID Connect provider, the people it signs in, the
sign-ins on their way, and one-time password resets."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from patchwork.clock import utcnow
from patchwork.crypto import sealed_length
from patchwork.models.accounts import new_id

CLIENT_SECRET_LIMIT = 500
DISCOVERY_URL_LIMIT = 500
CLIENT_ID_LIMIT = 255
ACR_LIMIT = 500


class SsoProvider(SQLModel, table=True):
    """An organisation's identity provider. The client secret is sealed with the data key; `multi_factor_acr` is
    the space-separated `acr` values its admin marked as a second factor."""

    __tablename__ = "sso_provider"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    organisation_id: str = Field(foreign_key="organisation.id", max_length=36, unique=True)
    discovery_url: str = Field(max_length=DISCOVERY_URL_LIMIT)
    issuer: str = Field(max_length=DISCOVERY_URL_LIMIT)
    client_id: str = Field(max_length=CLIENT_ID_LIMIT)
    client_secret_sealed: str = Field(max_length=sealed_length(CLIENT_SECRET_LIMIT))
    multi_factor_acr: str = Field(default="", max_length=ACR_LIMIT)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class SsoDomain(SQLModel, table=True):
    """An e-mail domain a provider signs in: claimed by one provider only."""

    __tablename__ = "sso_domain"
    domain: str = Field(primary_key=True, max_length=253)
    provider_id: str = Field(foreign_key="sso_provider.id", max_length=36, index=True)


class SsoIdentity(SQLModel, table=True):
    """The account a provider's subject signs in as."""

    __tablename__ = "sso_identity"
    __table_args__ = (UniqueConstraint("provider_id", "subject", name="uq_sso_identity_subject"),)
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    provider_id: str = Field(foreign_key="sso_provider.id", max_length=36)
    subject: str = Field(max_length=255)
    account_id: str = Field(foreign_key="account.id", max_length=36, index=True)
    created_at: datetime = Field(default_factory=utcnow)


class SsoAttempt(SQLModel, table=True):
    """A sign-in sent to a provider and not yet back: found by its state's digest, used once."""

    __tablename__ = "sso_attempt"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    state_hash: str = Field(max_length=64, unique=True)
    provider_id: str = Field(foreign_key="sso_provider.id", max_length=36)
    nonce: str = Field(max_length=64)
    code_verifier_sealed: str = Field(max_length=sealed_length(128))
    created_at: datetime = Field(default_factory=utcnow, index=True)
    used_at: datetime | None = None


class ResetVia(StrEnum):
    email = "email"
    admin = "admin"


class PasswordReset(SQLModel, table=True):
    """A one-time way back in: an e-mailed link, or a code an organisation admin issued and was shown once."""

    __tablename__ = "password_reset"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    token_hash: str = Field(max_length=64, unique=True)
    account_id: str = Field(foreign_key="account.id", max_length=36, index=True)
    via: str = Field(max_length=16)
    issued_by_id: str | None = Field(default=None, foreign_key="account.id", max_length=36)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: datetime | None = None
