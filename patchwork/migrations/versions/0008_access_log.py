"""Audit events: one index on (network, sequence) for a network's trail newest first, replacing the network-only index.

The access log and an admin's per-network view read one network's events backwards and stop after a page; with the
network-only index a busy network's whole trail was sorted on every page.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_event_network_seq", "audit_event", ["network_id", "seq"])
    op.drop_index("ix_audit_event_network_id", table_name="audit_event")


def downgrade() -> None:
    op.create_index("ix_audit_event_network_id", "audit_event", ["network_id"])
    op.drop_index("ix_audit_event_network_seq", table_name="audit_event")
