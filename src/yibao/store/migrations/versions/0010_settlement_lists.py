"""settlement_list and its diagnoses, procedures and grouping: the 医保结算清单 (4101) and its DRG result

One row per uploaded list (the facts grouping read and the whole message), its diagnoses and procedures in
grouping order (principal first), and how it was grouped (scheme, pack hash, grouper version, status, MDC,
ADRG, group, reason, trace). A unique index over the valid rows keeps one valid list per settlement.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 02:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

VALID = sa.text("vali_flag = '1'")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "settlement_list",
        sa.Column("setl_list_id", sa.String(length=30), nullable=False),
        sa.Column("setl_id", sa.String(length=30), nullable=False),
        sa.Column("mdtrt_id", sa.String(length=30), nullable=False),
        sa.Column("psn_no", sa.String(length=30), nullable=False),
        sa.Column("fixmedins_code", sa.String(length=12), nullable=False),
        sa.Column("med_type", sa.String(length=6), nullable=False),
        sa.Column("gend", sa.String(length=1), nullable=False),
        sa.Column("brdy", sa.Date(), nullable=False),
        sa.Column("age", sa.Integer(), nullable=False),
        sa.Column("age_days", sa.Integer(), nullable=False),
        sa.Column("weight_g", sa.Integer(), nullable=True),
        sa.Column("adm_time", sa.DateTime(), nullable=False),
        sa.Column("dscg_time", sa.DateTime(), nullable=False),
        sa.Column("los", sa.Integer(), nullable=False),
        sa.Column("dscg_way", sa.String(length=3), nullable=False),
        sa.Column("hi_paymtd", sa.String(length=3), nullable=True),
        sa.Column("vali_flag", sa.String(length=1), nullable=False),
        sa.Column("msgid", sa.String(length=40), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["mdtrt_id"], ["visit.mdtrt_id"], name=op.f("fk_settlement_list_mdtrt_id_visit")
        ),
        sa.ForeignKeyConstraint(
            ["setl_id"], ["settlement.setl_id"], name=op.f("fk_settlement_list_setl_id_settlement")
        ),
        sa.PrimaryKeyConstraint("setl_list_id", name=op.f("pk_settlement_list")),
    )
    with op.batch_alter_table("settlement_list") as batch:
        batch.create_index("ix_settlement_list_setl", ["setl_id"], unique=False)
        batch.create_index("ix_settlement_list_visit", ["mdtrt_id"], unique=False)
        batch.create_index(
            "ix_settlement_list_valid",
            ["setl_id"],
            unique=True,
            sqlite_where=VALID,
            postgresql_where=VALID,
        )
    op.create_table(
        "settlement_list_diagnosis",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("setl_list_id", sa.String(length=30), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("diag_type", sa.String(length=3), nullable=False),
        sa.Column("maindiag_flag", sa.String(length=1), nullable=False),
        sa.Column("diag_code", sa.String(length=30), nullable=False),
        sa.Column("diag_name", sa.String(length=200), nullable=False),
        sa.Column("adm_cond_type", sa.String(length=3), nullable=True),
        sa.ForeignKeyConstraint(
            ["setl_list_id"],
            ["settlement_list.setl_list_id"],
            name=op.f("fk_settlement_list_diagnosis_setl_list_id_settlement_list"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_list_diagnosis")),
        sa.UniqueConstraint(
            "setl_list_id", "seq", name=op.f("uq_settlement_list_diagnosis_setl_list_id_seq")
        ),
    )
    op.create_table(
        "settlement_list_procedure",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("setl_list_id", sa.String(length=30), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("oprn_oprt_type", sa.String(length=3), nullable=False),
        sa.Column("oprn_oprt_code", sa.String(length=30), nullable=False),
        sa.Column("oprn_oprt_name", sa.String(length=200), nullable=False),
        sa.Column("oprn_oprt_date", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["setl_list_id"],
            ["settlement_list.setl_list_id"],
            name=op.f("fk_settlement_list_procedure_setl_list_id_settlement_list"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_list_procedure")),
        sa.UniqueConstraint(
            "setl_list_id", "seq", name=op.f("uq_settlement_list_procedure_setl_list_id_seq")
        ),
    )
    op.create_table(
        "settlement_list_group",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("setl_list_id", sa.String(length=30), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("scheme", sa.String(length=40), nullable=False),
        sa.Column("pack_hash", sa.String(length=64), nullable=False),
        sa.Column("grouper_version", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("mdc", sa.String(length=8), nullable=True),
        sa.Column("adrg", sa.String(length=8), nullable=True),
        sa.Column("group_code", sa.String(length=60), nullable=False),
        sa.Column("group_name", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.String(length=400), nullable=True),
        sa.Column("trace", sa.JSON(), nullable=False),
        sa.Column("grouped_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["setl_list_id"],
            ["settlement_list.setl_list_id"],
            name=op.f("fk_settlement_list_group_setl_list_id_settlement_list"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_list_group")),
        sa.UniqueConstraint("setl_list_id", "kind", name=op.f("uq_settlement_list_group_setl_list_id_kind")),
    )


def downgrade() -> None:
    op.drop_table("settlement_list_group")
    op.drop_table("settlement_list_procedure")
    op.drop_table("settlement_list_diagnosis")
    with op.batch_alter_table("settlement_list") as batch:
        batch.drop_index("ix_settlement_list_valid")
        batch.drop_index("ix_settlement_list_visit")
        batch.drop_index("ix_settlement_list_setl")
    op.drop_table("settlement_list")
