"""branch form: how a party branch was formed (单独, 联合, 兼合式, 临时), apart from how many
compounds it serves

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 17:32:01.807462
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("party_orgs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("form", sa.Text(), nullable=True))
    # branches stored before: those serving several compounds were formed jointly (联合), the
    # others on their own; a 兼合式 branch is not told apart by the old schema and is set by hand
    op.execute(
        "UPDATE party_orgs SET form = CASE WHEN joint THEN 'joint' ELSE 'single' END "
        "WHERE kind = 'compound_branch'"
    )


def downgrade() -> None:
    with op.batch_alter_table("party_orgs", schema=None) as batch_op:
        batch_op.drop_column("form")
