"""settlement.supplement_of: a look-back assistance settlement (补充救助) names the settlement it supplements

A person newly recognised as an assistance target whose category has a look-back gets assistance on the
settlements of the months before recognition, each as its own settlement row (no fee; the fund pays the person).
The column says which settlement a row supplements: the look-back pays each one once, and a HIS reversal of
the original is refused while its supplement stands.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 23:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("settlement") as batch:
        batch.add_column(sa.Column("supplement_of", sa.String(30), nullable=True))
        batch.create_index("ix_settlement_supplement", ["supplement_of"])


def downgrade() -> None:
    with op.batch_alter_table("settlement") as batch:
        batch.drop_index("ix_settlement_supplement")
        batch.drop_column("supplement_of")
