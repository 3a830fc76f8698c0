"""settlement.adm_dedc: the per-admission deductible an inpatient settlement's admission carries

A 中途结算's continuation keeps the deductible fixed when its admission opened; before this column the
facade derived it from the admissions counted at the continuation, which differs once an earlier
admission of the year is reversed meanwhile. Rows settled before the upgrade keep NULL (derived, as before).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 23:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("settlement") as batch:
        batch.add_column(sa.Column("adm_dedc", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("settlement") as batch:
        batch.drop_column("adm_dedc")
