"""Who sees the people no longer involved in a network, and who ended their involvement, when and why."""

from __future__ import annotations

import pytest

from patchwork import policy

LEAD = policy.Actor("lead", "practitioner", "org-1", False)
MEMBER = policy.Actor("member", "practitioner", "org-2", False)
OUTSIDER = policy.Actor("outsider", "practitioner", "org-1", True)
ADMIN = policy.Actor("admin", "admin", None, False)
NETWORK = policy.NetworkFacts(
    status="open", members=(policy.Member("lead", "org-1", True), policy.Member("member", "org-2", False))
)


@pytest.mark.parametrize(
    ("actor", "status", "allowed"),
    [
        (LEAD, "open", True),
        (LEAD, "closed", True),
        (MEMBER, "open", False),
        (OUTSIDER, "open", False),  # an organisation admin of the lead's organisation, not in the network
        (ADMIN, "open", False),
    ],
)
def test_only_the_networks_leads_see_its_ended_involvements(actor: policy.Actor, status: str, allowed: bool) -> None:
    network = policy.NetworkFacts(status=status, members=NETWORK.members)
    decision = policy.see_ended_involvements(actor, network)
    assert decision.allowed is allowed
    assert decision.reason
