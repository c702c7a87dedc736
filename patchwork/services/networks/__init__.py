"""Networks of concern: find a child, start a network, register and end involvement, leads, merge."""

from __future__ import annotations

from patchwork.services.networks.endings import Departure, Ending, closing, closure, departures, ending
from patchwork.services.networks.membership import (
    InvolvementDetails,
    appoint_lead,
    clean_involvement,
    end_involvement,
    endable,
    joinable,
    register_involvement,
    set_history_rule,
    set_open,
    start_network,
    step_down,
)
from patchwork.services.networks.merging import merge
from patchwork.services.networks.views import (
    SEARCH_WINDOW,
    MemberView,
    MyNetwork,
    NetworkView,
    SearchMatch,
    active_members,
    facts,
    member_view,
    my_cursors,
    my_networks,
    search,
    today,
    view_network,
)

__all__ = [
    "SEARCH_WINDOW",
    "Departure",
    "Ending",
    "InvolvementDetails",
    "MemberView",
    "MyNetwork",
    "NetworkView",
    "SearchMatch",
    "active_members",
    "appoint_lead",
    "clean_involvement",
    "closing",
    "closure",
    "departures",
    "end_involvement",
    "endable",
    "ending",
    "facts",
    "joinable",
    "member_view",
    "merge",
    "my_cursors",
    "my_networks",
    "register_involvement",
    "search",
    "set_history_rule",
    "set_open",
    "start_network",
    "step_down",
    "today",
    "view_network",
]
