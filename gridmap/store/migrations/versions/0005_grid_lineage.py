"""grid lineage: where redrawn grids came from

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 11:52:55.341201
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_geospatial_table(
        "grid_lineage",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.Column("changed_by", sa.String(length=200), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=True),
        sa.Column("level", sa.Integer(), nullable=True),
        sa.Column("old_grid_id", sa.Integer(), nullable=True),
        sa.Column("old_code", sa.Text(), nullable=True),
        sa.Column("new_code", sa.Text(), nullable=True),
        sa.Column("relation", sa.String(length=20), nullable=False),
        sa.Column("area_m2", sa.Float(), nullable=False),
        sa.Column("households", sa.Integer(), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("grid_lineage", schema=None) as batch_op:
        batch_op.create_geospatial_index(
            "idx_grid_lineage_geom", ["geom"], unique=False, postgresql_using="gist", postgresql_ops={}
        )
        batch_op.create_index(batch_op.f("ix_grid_lineage_community_id"), ["community_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_grid_lineage_new_code"), ["new_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_grid_lineage_old_code"), ["old_code"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("grid_lineage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grid_lineage_old_code"))
        batch_op.drop_index(batch_op.f("ix_grid_lineage_new_code"))
        batch_op.drop_index(batch_op.f("ix_grid_lineage_community_id"))
        batch_op.drop_geospatial_index("idx_grid_lineage_geom", postgresql_using="gist", column_name="geom")

    op.drop_geospatial_table("grid_lineage")
