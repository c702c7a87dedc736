"""Networks of concern: children (encrypted identifiers, blind indexes), networks, involvements.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "child",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("sealed_identity", sa.String(2000), nullable=False),
        sa.Column("dob_index", sa.String(64), nullable=False),
        sa.Column("nhs_index", sa.String(64), nullable=True),
        sa.Column("postcode_family_index", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_child_dob_index", "child", ["dob_index"])
    op.create_index("ix_child_nhs_index", "child", ["nhs_index"])
    op.create_index("ix_child_postcode_family_index", "child", ["postcode_family_index"])
    op.create_table(
        "child_search_key",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("child_id", sa.String(36), sa.ForeignKey("child.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
    )
    op.create_index("ix_child_search_key_child_id", "child_search_key", ["child_id"])
    op.create_index("ix_child_search_key_key", "child_search_key", ["key"])
    op.create_table(
        "network",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("child_id", sa.String(36), sa.ForeignKey("child.id"), nullable=False, unique=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("history_rule", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.String(36), sa.ForeignKey("account.id"), nullable=False),
        sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("merged_into_id", sa.String(36), sa.ForeignKey("network.id"), nullable=True),
    )
    op.create_table(
        "involvement",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("network_id", sa.String(36), sa.ForeignKey("network.id"), nullable=False),
        sa.Column("account_id", sa.String(36), sa.ForeignKey("account.id"), nullable=False),
        sa.Column("organisation_id", sa.String(36), sa.ForeignKey("organisation.id"), nullable=False),
        sa.Column("role_label", sa.String(100), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("contact", sa.String(200), nullable=False),
        sa.Column("sensitive", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("is_lead", sa.Boolean(), nullable=False),
        sa.Column("lead_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by_id", sa.String(36), nullable=True),
    )
    op.create_index("ix_involvement_network_id", "involvement", ["network_id"])
    op.create_index("ix_involvement_account_id", "involvement", ["account_id"])
    op.create_index(
        "ux_involvement_active_member",
        "involvement",
        ["network_id", "account_id"],
        unique=True,
        sqlite_where=sa.text("status = 'active'"),
        postgresql_where=sa.text("status = 'active'"),
    )


def downgrade() -> None:
    for table in ("involvement", "network", "child_search_key", "child"):
        op.drop_table(table)
