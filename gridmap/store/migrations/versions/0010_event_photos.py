"""event photos: the pictures of an event, checked for size and type

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 17:02:35.731513
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_photos",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("by_user", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=50), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("event_photos", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_photos_event_id"), ["event_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("event_photos", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_photos_event_id"))

    op.drop_table("event_photos")
