"""Network events by type: a member's view of a network's last activity asks for the newest member event.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-21
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_network_event_network_type_at", "network_event", ["network_id", "type", "at"])


def downgrade() -> None:
    op.drop_index("ix_network_event_network_type_at", table_name="network_event")
