"""Single sign-on: an organisation's OpenID Connect provider, set up by a system admin, signs in the people of the
e-mail domains it claims. A first sign-in makes an account waiting for the organisation admin's approval, as a
local request does; an existing account of that organisation is linked only when the provider says the e-mail is
verified. Every refusal says why and writes nothing."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from patchwork import limits, policy
from patchwork.auth import oidc
from patchwork.auth.tokens import digest
from patchwork.clock import utcnow
from patchwork.crypto import Keyring
from patchwork.db import Database
from patchwork.errors import DomainError, Forbidden, Invalid, NotFound
from patchwork.models import Account, AccountKind, AccountStatus, Organisation
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
from patchwork.services.validation import refused_character

log = logging.getLogger("patchwork.sso")

ATTEMPT_LIFETIME = timedelta(minutes=10)
NO_PASSWORD = "!sso"  # not an argon2 hash: no password signs in an account made by single sign-on
DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


class SsoUnavailable(DomainError):
    status = 503
    code = "sso_unavailable"


class SsoRefused(DomainError):
    status = 400
    code = "sso_refused"


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


def _secret_context(provider_id: str) -> str:
    return f"sso-secret:{provider_id}"


def _verifier_context(attempt_id: str) -> str:
    return f"sso-verifier:{attempt_id}"


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
        provider = _provider_of(session, organisation_id) or SsoProvider(
            organisation_id=organisation_id, discovery_url="", issuer="", client_id="", client_secret_sealed=""
        )
        provider.discovery_url = cleaned.discovery_url
        provider.issuer = metadata.issuer
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
            details={"domains": cleaned.domains, "issuer": metadata.issuer},
        )
        return _view(session, provider)

    try:
        return await db.run(write)
    except IntegrityError as clash:  # another admin claimed one of the domains meanwhile
        raise Invalid(
            {"domains": "One of these domains is already signed in by another organisation's provider"}
        ) from clash


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


def provider_for(session: Session, email: str) -> SsoProvider | None:
    domain = email.rsplit("@", 1)[-1].strip().lower() if "@" in email else ""
    if not domain:
        return None
    found = session.get(SsoDomain, domain)
    return session.get(SsoProvider, found.provider_id) if found else None


async def begin(
    *, db: Database, keys: Keyring, email: str, redirect_uri: str, transport: httpx.AsyncBaseTransport | None = None
) -> str | None:
    """Where to send someone who typed this e-mail address, if its domain has a provider; None if it has none."""
    provider = await db.run(lambda session: provider_for(session, email))
    if provider is None:
        return None
    try:
        metadata = await oidc.discover(provider.discovery_url, transport=transport)
    except oidc.SsoError as problem:
        log.warning("sso.discovery_failed", extra={"provider_id": provider.id, "error": problem.message})
        raise SsoUnavailable(
            "Your organisation's sign-in service is not answering just now. Try again in a few minutes, or ask your "
            "organisation's Patchwork admin."
        ) from problem
    request = oidc.authorization_request(
        metadata, client_id=provider.client_id, redirect_uri=redirect_uri, login_hint=email
    )

    def write(session: Session) -> None:
        attempt = SsoAttempt(
            state_hash=digest(request.state), provider_id=provider.id, nonce=request.nonce, code_verifier_sealed=""
        )
        attempt.code_verifier_sealed = keys.cipher.encrypt(request.code_verifier, context=_verifier_context(attempt.id))
        session.add(attempt)

    await db.run(write)
    return request.url


@dataclass(frozen=True)
class Outcome:
    account: Account
    created: bool  # a new account, waiting for approval
    linked: bool  # an existing account, linked to the provider now
    second_factor: bool  # the provider reported one


@dataclass(frozen=True)
class _Claimed:
    provider: SsoProvider
    nonce: str
    code_verifier: str
    client_secret: str


def _claim(session: Session, keys: Keyring, state: str) -> _Claimed:
    now = utcnow()
    claimed = session.execute(
        update(SsoAttempt)
        .where(
            col(SsoAttempt.state_hash) == digest(state),
            col(SsoAttempt.used_at).is_(None),
            col(SsoAttempt.created_at) > now - ATTEMPT_LIFETIME,
        )
        .values(used_at=now)
        .returning(col(SsoAttempt.id), col(SsoAttempt.provider_id), col(SsoAttempt.nonce))
    ).first()
    attempt = session.get(SsoAttempt, claimed.id) if claimed else None
    provider = session.get(SsoProvider, claimed.provider_id) if claimed else None
    if claimed is None or attempt is None or provider is None:
        raise SsoRefused("This sign-in has expired or was used already. Go back to the sign-in page and start again.")
    return _Claimed(
        provider=provider,
        nonce=claimed.nonce,
        code_verifier=keys.cipher.decrypt(attempt.code_verifier_sealed, context=_verifier_context(attempt.id)),
        client_secret=keys.cipher.decrypt(provider.client_secret_sealed, context=_secret_context(provider.id)),
    )


async def complete(
    *,
    db: Database,
    keys: Keyring,
    state: object,
    code: object,
    error: object,
    redirect_uri: str,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Outcome:
    """The person is back from the provider: the state must be one we sent (once, within 10 minutes), the ID token
    must verify, and the e-mail must be one of the provider's domains, given by the provider, and verified."""
    if not isinstance(state, str) or not state or len(state) > 200:
        raise SsoRefused("This sign-in did not come from Patchwork's sign-in page. Start again from there.")
    claimed = await db.run(lambda session: _claim(session, keys, state))  # spent, whatever happens next
    if error is not None or not isinstance(code, str) or not code:
        raise SsoRefused("Your organisation's sign-in service did not sign you in. Start again, or ask your admin.")
    provider = claimed.provider
    try:
        metadata = await oidc.discover(provider.discovery_url, transport=transport)
        found = await oidc.identity(
            metadata,
            client_id=provider.client_id,
            client_secret=claimed.client_secret,
            redirect_uri=redirect_uri,
            code=code,
            code_verifier=claimed.code_verifier,
            nonce=claimed.nonce,
            transport=transport,
        )
    except oidc.SsoError as problem:
        log.warning("sso.refused", extra={"provider_id": provider.id, "error": problem.message})
        raise SsoRefused(f"Signing in did not work: {problem.message}. Start again, or ask your admin.") from problem
    if metadata.issuer != provider.issuer:
        raise SsoRefused("Your organisation's sign-in service answered as someone else. Ask your admin.")
    return await db.run(lambda session: _admit(session, keys, provider, found))


def _admit(session: Session, keys: Keyring, provider: SsoProvider, found: oidc.Identity) -> Outcome:
    second = found.second_factor(frozenset(provider.multi_factor_acr.split()))
    known = session.exec(
        select(SsoIdentity).where(SsoIdentity.provider_id == provider.id, SsoIdentity.subject == found.subject)
    ).first()
    if known is not None:
        account = session.get(Account, known.account_id)
        assert account is not None
        return Outcome(account=account, created=False, linked=False, second_factor=second)
    if found.email is None:
        raise SsoRefused("Your organisation's sign-in service did not tell us your e-mail address. Ask your admin.")
    if not found.email_verified:
        raise SsoRefused(
            "Your organisation's sign-in service has not verified your e-mail address, so Patchwork cannot use it. "
            "Ask your admin."
        )
    domains = set(session.exec(select(SsoDomain.domain).where(SsoDomain.provider_id == provider.id)).all())
    if found.email.rsplit("@", 1)[-1] not in domains:
        raise SsoRefused("Your organisation's sign-in service signed you in with an address it does not cover.")
    existing = session.exec(select(Account).where(func.lower(Account.email) == found.email)).first()
    if existing is not None:
        decision = policy.sso_links(
            kind=existing.kind,
            organisation_id=existing.organisation_id,
            provider_organisation_id=provider.organisation_id,
        )
        if not decision:
            raise SsoRefused(
                "This e-mail address has a Patchwork account that your organisation's sign-in service cannot sign in. "
                "Sign in with its password instead."
            )
        session.add(SsoIdentity(provider_id=provider.id, subject=found.subject, account_id=existing.id))
        _audit(session, keys, existing.id, "sso.linked", provider)
        return Outcome(account=existing, created=False, linked=True, second_factor=second)
    name = (found.name or found.email.split("@", 1)[0])[: limits.PERSON_NAME]
    account = Account(
        email=found.email,
        name=name,
        kind=AccountKind.practitioner,
        organisation_id=provider.organisation_id,
        status=AccountStatus.pending,
        password_hash=NO_PASSWORD,
    )
    session.add(account)
    session.flush()
    session.add(SsoIdentity(provider_id=provider.id, subject=found.subject, account_id=account.id))
    _audit(session, keys, account.id, "sso.account_requested", provider)
    return Outcome(account=account, created=True, linked=False, second_factor=second)


def _audit(session: Session, keys: Keyring, account_id: str, action: str, provider: SsoProvider) -> None:
    audit.record(
        session=session,
        key=keys.audit,
        action=action,
        actor_id=account_id,
        target_type="organisation",
        target_id=provider.organisation_id,
    )
