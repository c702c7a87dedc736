"""What single sign-on refuses with, and the contexts its sealed values are encrypted under."""

from __future__ import annotations

from patchwork.errors import DomainError


class SsoUnavailable(DomainError):
    status = 503
    code = "sso_unavailable"


class SsoRefused(DomainError):
    status = 400
    code = "sso_refused"


def _secret_context(provider_id: str) -> str:
    return f"sso-secret:{provider_id}"


def _verifier_context(attempt_id: str) -> str:
    return f"sso-verifier:{attempt_id}"
