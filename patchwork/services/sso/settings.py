"""An organisation's identity provider as a system admin connects it: checked, tested against the provider, its secret
sealed, each e-mail domain claimed by one provider only."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import httpx
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from patchwork import policy
from patchwork.auth import oidc
from patchwork.clock import utcnow
from patchwork.crypto import Keyring
from patchwork.db import Database
from patchwork.errors import Forbidden, Invalid, NotFound
from patchwork.models import Organisation
from patchwork.models.identity import (
    CLIENT_ID_LIMIT,
    CLIENT_SECRET_LIMIT,
    DISCOVERY_URL_LIMIT,
    SsoAttempt,
    SsoDomain,
    SsoIdentity,
    SsoProvider,
)
from patchwork.services import audit
from patchwork.services.sso.errors import _secret_context
from patchwork.services.validation import refused_character

DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


@dataclass(frozen=True)
class SsoInput:
    discovery_url: object
    client_id: object
    client_secret: object  # empty when editing keeps the stored secret
    domains: object  # a list, or text with one domain a line (or comma-separated)
    multi_factor_acr: object = ""


@dataclass(frozen=True)
class SsoView:
    organisation_id: str
    discovery_url: str
    issuer: str
    client_id: str
    domains: list[str]
    multi_factor_acr: list[str]
    updated_at: datetime


@dataclass(frozen=True)
class Cleaned:
    discovery_url: str
    client_id: str
    client_secret: str | None
    domains: list[str]
    multi_factor_acr: list[str]


def _words(value: object) -> list[str]:
    if isinstance(value, list):
        items = [v for v in value if isinstance(v, str)]
    elif isinstance(value, str):
        items = value.replace(",", "\n").replace(" ", "\n").splitlines()
    else:
        items = []
    return [item.strip() for item in items if item.strip()]


def _domain_ok(domain: str) -> bool:
    return len(domain) <= 253 and DOMAIN.fullmatch(domain) is not None


def clean(raw: SsoInput, *, creating: bool) -> Cleaned:
    errors: dict[str, str] = {}
    url = raw.discovery_url.strip() if isinstance(raw.discovery_url, str) else ""
    if not url:
        errors["discovery_url"] = "Enter the provider's discovery URL"
    elif len(url) > DISCOVERY_URL_LIMIT or refused_character(url):
        errors["discovery_url"] = f"Enter a discovery URL of {DISCOVERY_URL_LIMIT} characters or fewer"
    client_id = raw.client_id.strip() if isinstance(raw.client_id, str) else ""
    if not client_id:
        errors["client_id"] = "Enter the client id the provider gave you"
    elif len(client_id) > CLIENT_ID_LIMIT or refused_character(client_id):
        errors["client_id"] = f"Enter a client id of {CLIENT_ID_LIMIT} characters or fewer"
    secret = raw.client_secret.strip() if isinstance(raw.client_secret, str) else ""
    if not secret and creating:
        errors["client_secret"] = "Enter the client secret the provider gave you"
    elif len(secret) > CLIENT_SECRET_LIMIT or (secret and refused_character(secret)):
        errors["client_secret"] = f"Enter a client secret of {CLIENT_SECRET_LIMIT} characters or fewer"
    domains = sorted({d.lower().removeprefix("@") for d in _words(raw.domains)})
    bad = [d for d in domains if not _domain_ok(d)]
    if not domains:
        errors["domains"] = "Enter at least one e-mail domain, like school.example.org"
    elif bad:
        errors["domains"] = f"{bad[0]} is not an e-mail domain: enter domains like school.example.org"
    elif len(domains) > 50:
        errors["domains"] = "Enter 50 domains or fewer"
    acr = _words(raw.multi_factor_acr)
    if len(" ".join(acr)) > 500 or any(refused_character(a) for a in acr):
        errors["multi_factor_acr"] = "Enter acr values of 500 characters or fewer in all"
    if errors:
        raise Invalid(errors)
    return Cleaned(url, client_id, secret or None, domains, acr)


def _view(session: Session, provider: SsoProvider) -> SsoView:
    domains = session.exec(select(SsoDomain.domain).where(SsoDomain.provider_id == provider.id)).all()
    return SsoView(
        organisation_id=provider.organisation_id,
        discovery_url=provider.discovery_url,
        issuer=provider.issuer,
        client_id=provider.client_id,
        domains=sorted(domains),
        multi_factor_acr=provider.multi_factor_acr.split(),
        updated_at=provider.updated_at,
    )


def _provider_of(session: Session, organisation_id: str) -> SsoProvider | None:
    return session.exec(select(SsoProvider).where(SsoProvider.organisation_id == organisation_id)).first()


def _permitted(session: Session, actor: policy.Actor, organisation_id: str) -> Organisation:
    decision = policy.configure_sso(actor)
    if not decision:
        raise Forbidden("Only system admins configure single sign-on", code="not_permitted")
    organisation = session.get(Organisation, organisation_id) if isinstance(organisation_id, str) else None
    if organisation is None:
        raise NotFound("No such organisation")
    return organisation


def view(*, session: Session, actor: policy.Actor, organisation_id: str) -> SsoView | None:
    _permitted(session, actor, organisation_id)
    provider = _provider_of(session, organisation_id)
    return _view(session, provider) if provider else None


def _claimed_elsewhere(session: Session, domains: list[str], provider_id: str | None) -> str | None:
    query = select(SsoDomain.domain).where(col(SsoDomain.domain).in_(domains))
    if provider_id is not None:
        query = query.where(SsoDomain.provider_id != provider_id)
    return session.exec(query).first()


async def save(
    *,
    db: Database,
    keys: Keyring,
    actor: policy.Actor,
    organisation_id: str,
    raw: SsoInput,
    redirect_uri: str,
    transport: httpx.AsyncBaseTransport | None = None,
) -> SsoView:
    """Connects (or changes) an organisation's provider, once its discovery document answers and it accepts the
    client id and secret; a domain another organisation's provider claims is refused."""

    def existing(session: Session) -> tuple[str | None, str | None]:
        _permitted(session, actor, organisation_id)
        provider = _provider_of(session, organisation_id)
        if provider is None:
            return None, None
        return provider.id, keys.cipher.decrypt(provider.client_secret_sealed, context=_secret_context(provider.id))

    provider_id, stored_secret = await db.run(existing)
    cleaned = clean(raw, creating=provider_id is None)
    claimed = await db.run(lambda session: _claimed_elsewhere(session, cleaned.domains, provider_id))
    if claimed is not None:
        raise Invalid({"domains": f"{claimed} is already signed in by another organisation's provider"})
    secret = cleaned.client_secret or stored_secret or ""
    try:
        metadata = await oidc.discover(cleaned.discovery_url, transport=transport)
    except oidc.SsoError as problem:
        raise Invalid({"discovery_url": problem.message}) from problem
    try:
        await oidc.check_client(
            metadata, client_id=cleaned.client_id, client_secret=secret, redirect_uri=redirect_uri, transport=transport
        )
    except oidc.SsoError as problem:
        raise Invalid({"client_secret": problem.message}) from problem

    def write(session: Session) -> SsoView:
        return _store(session, keys, actor, organisation_id, cleaned, secret=secret, issuer=metadata.issuer)

    try:
        return await db.run(write)
    except IntegrityError as clash:  # another admin claimed one of the domains meanwhile
        raise Invalid(
            {"domains": "One of these domains is already signed in by another organisation's provider"}
        ) from clash


def _store(
    session: Session,
    keys: Keyring,
    actor: policy.Actor,
    organisation_id: str,
    cleaned: Cleaned,
    *,
    secret: str,
    issuer: str,
) -> SsoView:
    provider = _provider_of(session, organisation_id) or SsoProvider(
        organisation_id=organisation_id, discovery_url="", issuer="", client_id="", client_secret_sealed=""
    )
    provider.discovery_url = cleaned.discovery_url
    provider.issuer = issuer
    provider.client_id = cleaned.client_id
    provider.client_secret_sealed = keys.cipher.encrypt(secret, context=_secret_context(provider.id))
    provider.multi_factor_acr = " ".join(cleaned.multi_factor_acr)
    provider.updated_at = utcnow()
    session.add(provider)
    session.flush()
    session.execute(delete(SsoDomain).where(col(SsoDomain.provider_id) == provider.id))
    session.add_all(SsoDomain(domain=d, provider_id=provider.id) for d in cleaned.domains)
    session.flush()
    audit.record(
        session=session,
        key=keys.audit,
        action="sso.configured",
        actor_id=actor.account_id,
        target_type="organisation",
        target_id=organisation_id,
        details={"domains": cleaned.domains, "issuer": issuer},
    )
    return _view(session, provider)


def remove(*, session: Session, keys: Keyring, actor: policy.Actor, organisation_id: str) -> None:
    """Disconnects the provider: its people sign in with a password (or recovery) from now on."""
    _permitted(session, actor, organisation_id)
    provider = _provider_of(session, organisation_id)
    if provider is None:
        raise NotFound("This organisation has no identity provider")
    for table in (SsoDomain, SsoIdentity, SsoAttempt):
        session.execute(delete(table).where(col(table.provider_id) == provider.id))
    session.delete(provider)
    audit.record(
        session=session,
        key=keys.audit,
        action="sso.removed",
        actor_id=actor.account_id,
        target_type="organisation",
        target_id=organisation_id,
    )
