"""Signing in through an organisation's provider: where to send someone, and who they are when they come back (a new
account waiting for approval, a linked one, or a refusal that writes nothing)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

import httpx
from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from patchwork import limits, policy
from patchwork.auth import oidc
from patchwork.auth.tokens import digest
from patchwork.clock import utcnow
from patchwork.crypto import Keyring
from patchwork.db import Database
from patchwork.models import Account, AccountKind, AccountStatus
from patchwork.models.identity import (
    SsoAttempt,
    SsoDomain,
    SsoIdentity,
    SsoProvider,
)
from patchwork.services import audit
from patchwork.services.sso.errors import SsoRefused, SsoUnavailable, _secret_context, _verifier_context

log = logging.getLogger("patchwork.sso")


ATTEMPT_LIFETIME = timedelta(minutes=10)


NO_PASSWORD = "!sso"  # not an argon2 hash: no password signs in an account made by single sign-on


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
        # Sign-ins that never came back are kept a day (long after they stop working), then go.
        session.execute(delete(SsoAttempt).where(col(SsoAttempt.created_at) < utcnow() - timedelta(days=1)))

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
