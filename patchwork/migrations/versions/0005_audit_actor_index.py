"""Audit events: one index on (actor, action, time) for the search rate limit, replacing the actor-only index.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_audit_event_actor_id", table_name="audit_event")
    op.create_index("ix_audit_event_actor_action_at", "audit_event", ["actor_id", "action", "at"])


def downgrade() -> None:
    op.drop_index("ix_audit_event_actor_action_at", table_name="audit_event")
    op.create_index("ix_audit_event_actor_id", "audit_event", ["actor_id"])
