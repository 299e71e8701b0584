"""doubtful residents: of a proposed site's residents, those of buildings whose homes are
estimated from a footprint larger than homes have

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 18:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("siting_sites", schema=None) as batch_op:
        batch_op.add_column(sa.Column("residents_doubtful", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("siting_sites", schema=None) as batch_op:
        batch_op.drop_column("residents_doubtful")
