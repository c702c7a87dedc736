"""Jinja2 with the GOV.UK Frontend macros, and the context every page gets."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, PrefixLoader, select_autoescape
from starlette.requests import Request
from starlette.templating import Jinja2Templates

from patchwork import __version__
from patchwork.auth.csrf import csrf_token
from patchwork.clock import LONDON, uk_time
from patchwork.web.middleware import CSRF_FIELD, csrf_binding

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
STATIC = ROOT / "static"

NOTICES = {
    "signed-out": ("Success", "You have signed out."),
    "signed-out-everywhere": ("Success", "You have signed out on every device."),
    "session-ended": ("Important", "Your session has ended. Sign in again to carry on."),
    "account-requested": (
        "Success",
        "Your request has been sent. Your organisation's admin will review it; you can sign in once it is approved. "
        "If this e-mail address has an account already, no new one is made: sign in with it, or ask your admin.",
    ),
    "sso-saved": ("Success", "The identity provider is connected. Its people can sign in with it now."),
    "sso-removed": ("Success", "The identity provider is disconnected. Its people sign in with a password now."),
    "sso-linked": (
        "Success",
        "Your organisation's sign-in service is now linked to your Patchwork account: sign in with it from now on.",
    ),
    "password-reset": ("Success", "Your password has been reset and you have been signed out everywhere. Sign in."),
    "password-changed": ("Success", "Your password has been changed. You have been signed out on your other devices."),
    "two-factor-removed": ("Success", "Two-step verification has been turned off."),
    "organisation-saved": ("Success", "The organisation has been saved."),
    "account-approved": ("Success", "The account has been approved."),
    "account-refused": ("Success", "The request has been refused."),
    "account-reactivated": ("Success", "The account has been reactivated."),
    "account-created": ("Success", "The account has been created."),
    "network-started": ("Success", "The network has been started. You are its first member."),
    "joined": ("Success", "Your involvement has been registered."),
    "left-network": ("Success", "You have left the network."),
    "lead-appointed": ("Success", "The lead professional has been appointed."),
    "stepped-down": ("Success", "You are no longer a lead professional of this network."),
    "network-saved": ("Success", "The network has been updated."),
    "network-closed": ("Success", "The network has been closed."),
    "network-reopened": ("Success", "The network has been reopened. Members can add to it again."),
    "networks-merged": ("Success", "The networks have been merged."),
    "note-posted": ("Success", "Your note has been posted."),
    "note-revised": ("Success", "Your note has been revised. The earlier version stays in its history."),
    "note-redacted": ("Success", "The note has been redacted."),
    "reply-posted": ("Success", "Your reply has been posted."),
    "note-acknowledged": ("Success", "You have acknowledged the note."),
    "alert-acknowledged": ("Success", "You have acknowledged the alert."),
    "alert-resolved": ("Success", "The alert has been resolved. It stays in the network's history."),
    "token-revoked": ("Success", "The API token has been revoked. Nothing can use it any more."),
    "history-opened": ("Success", "The member can now see the earlier notes they are allowed to see."),
}


def build_templates() -> Jinja2Templates:
    environment = Environment(
        loader=ChoiceLoader(
            [
                FileSystemLoader(TEMPLATES),
                PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
            ]
        ),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals["error_list"] = error_list
    environment.globals["message"] = field_message
    environment.globals["select_items"] = select_items
    environment.filters["uk_time"] = uk_time
    environment.filters["uk_time_short"] = uk_time_short
    return Jinja2Templates(env=environment, context_processors=[_page_context])


def uk_time_short(moment: datetime) -> str:
    """The same, short enough for a note card on a phone, labelled by the zone's own name: "15:04 GMT, 3 Dec 2026"
    in winter, "15:04 BST, ..." in summer."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(LONDON or UTC).strftime("%H:%M %Z, %-d %b %Y")


def error_list(errors: dict[str, str], order: list[str]) -> list[dict[str, str]]:
    """The error summary's links, in the order the fields appear on the page."""
    ranked = sorted(errors, key=lambda name: order.index(name) if name in order else len(order))
    return [{"text": errors[name], "href": f"#{name}"} for name in ranked]


def field_message(errors: dict[str, str] | None, name: str) -> dict[str, str] | None:
    """A govuk macro's errorMessage for one field, or None when it has no error."""
    if errors and errors.get(name):
        return {"text": errors[name]}
    return None


def _page_context(request: Request) -> dict[str, Any]:
    runtime = request.state.runtime
    notice = NOTICES.get(request.query_params.get("notice", ""))
    return {
        "viewer": getattr(request.state, "viewer", None),
        "csrf_field": CSRF_FIELD,
        "csrf_token": csrf_token(runtime.settings.secret_key, csrf_binding(request.scope["state"])),
        "notice": notice,
        "version": __version__,
        "demo_banner": runtime.settings.demo_banner,
    }


def select_items(
    choices: list[tuple[str, str]] | dict[str, str], selected: str | None, placeholder: str | None = None
) -> list[dict[str, object]]:
    pairs = list(choices.items()) if isinstance(choices, dict) else choices
    items: list[dict[str, object]] = [{"value": "", "text": placeholder}] if placeholder else []
    items += [{"value": value, "text": text, "selected": value == selected} for value, text in pairs]
    return items
