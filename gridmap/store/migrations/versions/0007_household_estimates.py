"""household estimates: where a building's households and levels come from, its floor area

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 15:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("buildings", sa.Column("households_from", sa.Text(), nullable=True))
    op.add_column("buildings", sa.Column("levels_from", sa.Text(), nullable=True))
    op.add_column("buildings", sa.Column("floor_area_m2", sa.Float(), nullable=True))
    # buildings stored before: their households were estimated where marked so, else given
    op.execute(
        "UPDATE buildings SET households_from = CASE WHEN estimated THEN 'estimate' ELSE 'given' END "
        "WHERE households IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("buildings") as batch_op:
        batch_op.drop_column("floor_area_m2")
        batch_op.drop_column("levels_from")
        batch_op.drop_column("households_from")
