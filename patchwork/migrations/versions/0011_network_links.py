"""Networks linked as different children with similar details (twins).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "network_link",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("network_id", sa.String(36), sa.ForeignKey("network.id"), nullable=False),
        sa.Column("linked_network_id", sa.String(36), sa.ForeignKey("network.id"), nullable=False),
        sa.Column("detail_sealed", sa.String(2000), nullable=False),
        sa.Column("reason_sealed", sa.String(2000), nullable=False),
        sa.Column("created_by_id", sa.String(36), sa.ForeignKey("account.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_network_link_network_id", "network_link", ["network_id"])
    op.create_index("ix_network_link_linked_network_id", "network_link", ["linked_network_id"])


def downgrade() -> None:
    op.drop_index("ix_network_link_linked_network_id", table_name="network_link")
    op.drop_index("ix_network_link_network_id", table_name="network_link")
    op.drop_table("network_link")
