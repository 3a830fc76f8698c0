"""Screening leads kept in the database (筛查线索, replacing the data folder's JSON files) and the labels of the
fraud ``yibao demo --fraud`` injects (read by ``yibao screening evaluate`` only)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 10:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "screening_lead",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("screened_at", sa.DateTime(), nullable=False),
        sa.Column("screened_by", sa.String(length=64), nullable=False),
        sa.Column("pattern", sa.String(length=30), nullable=False),
        sa.Column("entity_type", sa.String(length=10), nullable=False),
        sa.Column("entity_id", sa.String(length=40), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("opened", sa.Boolean(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_lead")),
    )
    op.create_index("ix_screening_lead_year", "screening_lead", ["year", "pattern", "rank"], unique=False)
    op.create_table(
        "screening_label",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("entity_type", sa.String(length=10), nullable=False),
        sa.Column("entity_id", sa.String(length=40), nullable=False),
        sa.Column("pattern", sa.String(length=30), nullable=False),
        sa.Column("decoy", sa.Boolean(), nullable=False),
        sa.Column("injected_loss_fen", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_label")),
        sa.UniqueConstraint(
            "entity_type",
            "entity_id",
            "pattern",
            name=op.f("uq_screening_label_entity_type_entity_id_pattern"),
        ),
    )


def downgrade() -> None:
    op.drop_table("screening_label")
    op.drop_index("ix_screening_lead_year", table_name="screening_lead")
    op.drop_table("screening_lead")
