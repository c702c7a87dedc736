"""Single sign-on: an organisation's OpenID Connect provider, set up by a system admin, signs in the people of the
e-mail domains it claims. A first sign-in makes an account waiting for the organisation admin's approval, as a
local request does; an existing account of that organisation is linked only when the provider says the e-mail is
verified. Every refusal says why and writes nothing."""

from __future__ import annotations

from patchwork.services.sso.errors import SsoRefused, SsoUnavailable
from patchwork.services.sso.settings import DOMAIN, Cleaned, SsoInput, SsoView, clean, remove, save, view
from patchwork.services.sso.signin import ATTEMPT_LIFETIME, NO_PASSWORD, Outcome, begin, complete, provider_for

__all__ = [
    "ATTEMPT_LIFETIME",
    "DOMAIN",
    "NO_PASSWORD",
    "Cleaned",
    "Outcome",
    "SsoInput",
    "SsoRefused",
    "SsoUnavailable",
    "SsoView",
    "begin",
    "clean",
    "complete",
    "provider_for",
    "remove",
    "save",
    "view",
]
