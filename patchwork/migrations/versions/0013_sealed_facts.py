"""Involvements' role, reason and contact, family members' relationship and invitations' name, relationship and
e-mail address are encrypted with the data key; invitations get a keyed digest of their e-mail address for look-ups;
each audit event records the id of the audit key that sealed it.

Existing rows are encrypted here, so no plain text is left behind: `patchwork db upgrade` hands this migration the
data keys (PATCHWORK_DATA_KEY, then PATCHWORK_DATA_KEYS_PREVIOUS). A database with such rows and no key given stops
with a message saying so, before anything is changed. Audit events written before this migration keep no key id:
they were sealed with the key derived from PATCHWORK_SECRET_KEY (see services.audit).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import sqlalchemy as sa
from alembic import context, op

from patchwork.crypto import BlindIndex, DataCipher

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# table: (plain column, its length, sealed column, its length); the sealed lengths fit 4 UTF-8 bytes a character
COLUMNS: dict[str, tuple[tuple[str, int, str, int], ...]] = {
    "involvement": (
        ("role_label", 100, "role_label_sealed", 588),
        ("reason", 500, "reason_sealed", 2720),
        ("contact", 200, "contact_sealed", 1120),
    ),
    "family_membership": (("relationship", 100, "relationship_sealed", 588),),
    "family_invitation": (
        ("name", 200, "name_sealed", 1120),
        ("relationship", 100, "relationship_sealed", 588),
        ("email", 254, "email_sealed", 1408),
    ),
}
BATCH = 500


def _context(table: str, column: str, row_id: str) -> str:
    # As services.sealed_facts names them; written out here so this migration keeps its meaning if that changes.
    return f"{table}.{column}:{row_id}"


def _require_keys(direction: str) -> tuple[DataCipher, BlindIndex] | None:
    """The keys, or None when there is nothing to convert; stops when rows need them and none were given."""
    given: Sequence[str] = context.config.attributes.get("data_keys") or ()
    if given:
        return DataCipher(given[0], tuple(given[1:])), BlindIndex.from_data_key(given[0], tuple(given[1:]))
    connection = op.get_bind()
    for table in COLUMNS:
        if connection.execute(sa.text(f"SELECT 1 FROM {table} LIMIT 1")).first() is not None:  # noqa: S608
            raise RuntimeError(
                f"migration 0013 {direction} involvements and family details with the data key: run "
                "`patchwork db upgrade` (or downgrade) with PATCHWORK_DATA_KEY set"
            )
    return None


def _convert(
    table: str, source: Sequence[str], target: Sequence[str], change: Callable[[dict[str, str]], dict]
) -> None:
    """Read `source` columns in batches by id and write `change(row)` into the `target` columns."""
    connection = op.get_bind()
    after = ""
    columns = ", ".join(("id", *source))
    assignments = ", ".join(f"{name} = :{name}" for name in target)
    update = sa.text(f"UPDATE {table} SET {assignments} WHERE id = :id")  # noqa: S608
    while True:
        rows = connection.execute(
            sa.text(f"SELECT {columns} FROM {table} WHERE id > :after ORDER BY id LIMIT {BATCH}"),  # noqa: S608
            {"after": after},
        ).all()
        if not rows:
            return
        connection.execute(update, [{"id": row.id, **change(dict(row._mapping))} for row in rows])
        after = rows[-1].id


Columns = tuple[tuple[str, int, str, int], ...]


def _seal(cipher: DataCipher, index: BlindIndex, table: str, columns: Columns, row: dict[str, str]) -> dict[str, str]:
    out = {
        sealed: cipher.encrypt(row[plain] or "", context=_context(table, plain, row["id"]))
        for plain, _, sealed, _ in columns
    }
    if table == "family_invitation":
        out["email_index"] = index("family-invitation-email", row["network_id"], row["email"])
    return out


def _open(cipher: DataCipher, table: str, columns: Columns, row: dict[str, str]) -> dict[str, str]:
    return {
        plain: cipher.decrypt(row[sealed], context=_context(table, plain, row["id"])) for plain, _, sealed, _ in columns
    }


def upgrade() -> None:
    keys = _require_keys("encrypts")
    op.drop_index("ux_involvement_active_member", table_name="involvement")
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for _, _, sealed, length in columns:
                batch.add_column(sa.Column(sealed, sa.String(length), nullable=True))
            if table == "family_invitation":
                batch.add_column(sa.Column("email_index", sa.String(64), nullable=True))
        if keys is not None:
            plain_columns = [plain for plain, _, _, _ in columns]
            targets = [sealed for _, _, sealed, _ in columns]
            if table == "family_invitation":
                plain_columns.append("network_id")
                targets.append("email_index")
            _convert(table, plain_columns, targets, partial(_seal, *keys, table, columns))
        with op.batch_alter_table(table) as batch:
            for plain, _, sealed, length in columns:
                batch.drop_column(plain)
                batch.alter_column(sealed, existing_type=sa.String(length), nullable=False)
            if table == "family_invitation":
                batch.alter_column("email_index", existing_type=sa.String(64), nullable=False)
                batch.create_index("ix_family_invitation_email_index", ["email_index"])
    _active_member_index()
    with op.batch_alter_table("audit_event") as batch:
        batch.add_column(sa.Column("key_id", sa.String(12), nullable=True))


def downgrade() -> None:
    keys = _require_keys("decrypts")
    with op.batch_alter_table("audit_event") as batch:
        batch.drop_column("key_id")
    op.drop_index("ux_involvement_active_member", table_name="involvement")
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for plain, length, _, _ in columns:
                batch.add_column(sa.Column(plain, sa.String(length), nullable=True))
        if keys is not None:
            sealed_columns = [sealed for _, _, sealed, _ in columns]
            plain_columns = [plain for plain, _, _, _ in columns]
            _convert(table, sealed_columns, plain_columns, partial(_open, keys[0], table, columns))
        with op.batch_alter_table(table) as batch:
            if table == "family_invitation":
                batch.drop_index("ix_family_invitation_email_index")
                batch.drop_column("email_index")
            for plain, length, sealed, _ in columns:
                batch.drop_column(sealed)
                batch.alter_column(plain, existing_type=sa.String(length), nullable=False)
    _active_member_index()


def _active_member_index() -> None:
    op.create_index(
        "ux_involvement_active_member",
        "involvement",
        ["network_id", "account_id"],
        unique=True,
        sqlite_where=sa.text("status = 'active'"),
        postgresql_where=sa.text("status = 'active'"),
    )
