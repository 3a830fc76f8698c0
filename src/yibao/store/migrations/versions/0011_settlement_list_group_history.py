"""settlement_list_group keeps its history: a list's groupings, the current one flagged

A list is grouped when it is uploaded (4101) and again when ``yibao payment group-lists`` regroups a year
(after a rule-pack update): each grouping is a row, ``is_current`` marks the one that counts, and a unique
index over the current rows keeps one per list and kind of scheme (it replaces the unique constraint on
(setl_list_id, kind), which allowed one row only).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 02:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

CURRENT = sa.text("is_current")


def upgrade() -> None:
    with op.batch_alter_table("settlement_list_group") as batch:
        batch.add_column(sa.Column("is_current", sa.Boolean(), server_default=sa.true(), nullable=False))
        batch.drop_constraint("uq_settlement_list_group_setl_list_id_kind", type_="unique")
        batch.create_index("ix_settlement_list_group_list", ["setl_list_id"], unique=False)
        batch.create_index(
            "ix_settlement_list_group_current",
            ["setl_list_id", "kind"],
            unique=True,
            sqlite_where=CURRENT,
            postgresql_where=CURRENT,
        )


def downgrade() -> None:
    op.execute("DELETE FROM settlement_list_group WHERE NOT is_current")
    with op.batch_alter_table("settlement_list_group") as batch:
        batch.drop_index("ix_settlement_list_group_current")
        batch.drop_index("ix_settlement_list_group_list")
        batch.create_unique_constraint("uq_settlement_list_group_setl_list_id_kind", ["setl_list_id", "kind"])
        batch.drop_column("is_current")
