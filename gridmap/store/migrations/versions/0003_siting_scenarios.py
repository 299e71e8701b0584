"""siting scenarios: sites, the homes they newly cover, coverage before and after

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 09:57:22.936306
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "siting_coverage",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("scenario_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=20), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("code", sa.Text(), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("category", sa.String(length=50), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("homes", sa.Integer(), nullable=False),
        sa.Column("households", sa.Integer(), nullable=False),
        sa.Column("residents", sa.Integer(), nullable=False),
        sa.Column("households_covered_before", sa.Integer(), nullable=False),
        sa.Column("households_covered_after", sa.Integer(), nullable=False),
        sa.Column("residents_covered_before", sa.Integer(), nullable=False),
        sa.Column("residents_covered_after", sa.Integer(), nullable=False),
        sa.Column("share_residents_before", sa.Float(), nullable=True),
        sa.Column("share_residents_after", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("siting_coverage", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_siting_coverage_scenario_id"), ["scenario_id"], unique=False)

    op.create_table(
        "siting_scenarios",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column("model", sa.String(length=20), nullable=False),
        sa.Column("categories", sa.Text(), nullable=False),
        sa.Column("levels", sa.Text(), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=50), nullable=False),
        sa.Column("solver", sa.String(length=20), nullable=False),
        sa.Column("objective", sa.Float(), nullable=False),
        sa.Column("bound", sa.Float(), nullable=False),
        sa.Column("gap", sa.Float(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("inputs", sa.Text(), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "siting_site_homes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("scenario_id", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=50), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("home_kind", sa.String(length=20), nullable=False),
        sa.Column("feature_id", sa.Integer(), nullable=False),
        sa.Column("households", sa.Integer(), nullable=False),
        sa.Column("residents", sa.Integer(), nullable=False),
        sa.Column("walk_m", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("siting_site_homes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_siting_site_homes_scenario_id"), ["scenario_id"], unique=False)

    op.create_geospatial_table(
        "siting_sites",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("scenario_id", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=30), nullable=False),
        sa.Column("source_id", sa.Text(), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("gain", sa.Float(), nullable=True),
        sa.Column("buildings_new", sa.Integer(), nullable=False),
        sa.Column("households_new", sa.Integer(), nullable=False),
        sa.Column("residents_new", sa.Integer(), nullable=False),
        sa.Column("nearest_station_id", sa.Integer(), nullable=True),
        sa.Column("nearest_station_name", sa.Text(), nullable=True),
        sa.Column("nearest_station_m", sa.Float(), nullable=True),
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
    with op.batch_alter_table("siting_sites", schema=None) as batch_op:
        batch_op.create_geospatial_index(
            "idx_siting_sites_geom", ["geom"], unique=False, postgresql_using="gist", postgresql_ops={}
        )
        batch_op.create_index(batch_op.f("ix_siting_sites_scenario_id"), ["scenario_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("siting_sites", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_siting_sites_scenario_id"))
        batch_op.drop_geospatial_index("idx_siting_sites_geom", postgresql_using="gist", column_name="geom")

    op.drop_geospatial_table("siting_sites")
    with op.batch_alter_table("siting_site_homes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_siting_site_homes_scenario_id"))

    op.drop_table("siting_site_homes")
    op.drop_table("siting_scenarios")
    with op.batch_alter_table("siting_coverage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_siting_coverage_scenario_id"))

    op.drop_table("siting_coverage")
