"""identity.idet_org (认定机构); identities and chronic registrations unique by their natural keys

The monthly feeds of 民政, 残联, 乡村振兴 and the 惠民保 insurer are imported and re-imported by natural key
(person + identity type + start; person + disease + start): a unique index makes a second insert of the same
key — two imports, or an import and a handler, at the same moment — fail instead of leaving a duplicate. Each
index leads with psn_no, so it also serves the per-person reads the single-column indexes served (settlement
reads a person's identities and registrations by psn_no). Until now only the demo generator wrote these
tables, one row per key, so no existing database holds duplicates.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-10 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("identity") as batch:
        batch.add_column(sa.Column("idet_org", sa.String(length=100), nullable=True))
        batch.drop_index("ix_identity_person")
        batch.create_index("ix_identity_key", ["psn_no", "psn_idet_type", "begntime"], unique=True)
    with op.batch_alter_table("chronic_registration") as batch:
        batch.drop_index("ix_chronic_person")
        batch.create_index("ix_chronic_key", ["psn_no", "opsp_dise_code", "begndate"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("chronic_registration") as batch:
        batch.drop_index("ix_chronic_key")
        batch.create_index("ix_chronic_person", ["psn_no"], unique=False)
    with op.batch_alter_table("identity") as batch:
        batch.drop_index("ix_identity_key")
        batch.create_index("ix_identity_person", ["psn_no"], unique=False)
        batch.drop_column("idet_org")
