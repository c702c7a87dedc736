"""The JSON API under /api/v1: thin handlers over the same services the pages use.

`api_routes()` lists every operation, in the order the OpenAPI document describes them; `create_app` mounts what
it returns. Nothing registers itself by being imported.
"""

from __future__ import annotations

from patchwork.web.api import (
    access,
    accounts,
    alerts,
    dashboard,
    family,
    insights,
    networks,
    notes,
    notifications,
    sso,
)
from patchwork.web.api.openapi import Api

PREFIX = "/api/v1"


def api_routes() -> Api:
    return Api(
        PREFIX,
        (
            accounts.create_token,
            accounts.revoke_token,
            accounts.me,
            accounts.list_organisations,
            accounts.create_organisation,
            accounts.create_user,
            sso.get_sso,
            sso.put_sso,
            sso.delete_sso,
            networks.search_children,
            networks.create_network,
            networks.list_networks,
            networks.get_network,
            networks.update_network,
            networks.add_involvement,
            networks.end_involvement,
            networks.appoint_lead,
            networks.step_down,
            networks.merge_networks,
            notes.post_note,
            notes.list_notes,
            notes.get_note,
            notes.revise_note,
            notes.redact_note,
            notes.reply_to_note,
            notes.acknowledge_note,
            notes.open_history,
            notes.network_events,
            access.get_access_log,
            access.export_network,
            alerts.list_alerts,
            alerts.get_alert,
            alerts.acknowledge_alert,
            alerts.resolve_alert,
            dashboard.get_dashboard,
            family.invite_family_member,
            family.accept_family_invitation,
            family.list_family_members,
            insights.get_insights,
            notifications.list_notifications,
            notifications.read_notifications,
        ),
    )
