"""Why a network was closed, an involvement ended or an account deactivated: each row points to the audit event
that holds the reason. API tokens get a name and the time they were last used.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("network", sa.Column("status_event_id", sa.String(36), nullable=True))
    op.add_column("involvement", sa.Column("ended_event_id", sa.String(36), nullable=True))
    op.add_column("account", sa.Column("status_event_id", sa.String(36), nullable=True))
    op.add_column("api_token", sa.Column("name", sa.String(100), nullable=False, server_default=""))
    op.add_column("api_token", sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35 and later, PostgreSQL): a batch copy of the table would drop
    # and re-create `account`, which every other table refers to, and SQLite refuses that with foreign keys on.
    op.drop_column("api_token", "last_used_at")
    op.drop_column("api_token", "name")
    op.drop_column("account", "status_event_id")
    op.drop_column("involvement", "ended_event_id")
    op.drop_column("network", "status_event_id")
