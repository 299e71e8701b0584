"""events: grid events (吹哨报到) and the chain of their states

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 16:15:42.384550
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("from_state", sa.String(length=20), nullable=True),
        sa.Column("to_state", sa.String(length=20), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("by_user", sa.String(length=200), nullable=False),
        sa.Column("by_role", sa.String(length=30), nullable=False),
        sa.Column("assignee", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("event_history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_history_event_id"), ["event_id"], unique=False)

    op.create_geospatial_table(
        "events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("reporter", sa.Text(), nullable=True),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("level", sa.Text(), nullable=False),
        sa.Column("department", sa.Text(), nullable=True),
        sa.Column("assignee", sa.Text(), nullable=True),
        sa.Column("street_id", sa.Integer(), nullable=True),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("grid_id", sa.Integer(), nullable=True),
        sa.Column("compound_id", sa.Integer(), nullable=True),
        sa.Column("building_id", sa.Integer(), nullable=True),
        sa.Column("filed_at", sa.DateTime(), nullable=False),
        sa.Column("first_claim_due_at", sa.DateTime(), nullable=True),
        sa.Column("claim_due_at", sa.DateTime(), nullable=True),
        sa.Column("due_at", sa.DateTime(), nullable=True),
        sa.Column("accepted_at", sa.DateTime(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("escalations", sa.Integer(), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("catalogue_version", sa.Integer(), nullable=True),
        sa.Column("external_id", sa.Text(), nullable=True),
        sa.Column("generated", sa.Boolean(), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_geospatial_index(
            "idx_events_geom", ["geom"], unique=False, postgresql_using="gist", postgresql_ops={}
        )
        batch_op.create_index(batch_op.f("ix_events_building_id"), ["building_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_community_id"), ["community_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_compound_id"), ["compound_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_grid_id"), ["grid_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_street_id"), ["street_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_street_id"))
        batch_op.drop_index(batch_op.f("ix_events_grid_id"))
        batch_op.drop_index(batch_op.f("ix_events_compound_id"))
        batch_op.drop_index(batch_op.f("ix_events_community_id"))
        batch_op.drop_index(batch_op.f("ix_events_building_id"))
        batch_op.drop_geospatial_index("idx_events_geom", postgresql_using="gist", column_name="geom")

    op.drop_geospatial_table("events")
    with op.batch_alter_table("event_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_history_event_id"))

    op.drop_table("event_history")
