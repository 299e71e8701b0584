"""coverage runs (parameters, results, gaps, circles) and the facility life-circle level

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 09:28:36.309465
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_geospatial_table(
        "coverage_circles",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=50), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("limit_m", sa.Float(), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
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
    with op.batch_alter_table("coverage_circles", schema=None) as batch_op:
        batch_op.create_geospatial_index(
            "idx_coverage_circles_geom", ["geom"], unique=False, postgresql_using="gist", postgresql_ops={}
        )
        batch_op.create_index(batch_op.f("ix_coverage_circles_run_id"), ["run_id"], unique=False)

    op.create_table(
        "coverage_compounds",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("compound_id", sa.Integer(), nullable=False),
        sa.Column("check", sa.String(length=50), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("passes", sa.Boolean(), nullable=False),
        sa.Column("missing", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("coverage_compounds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_coverage_compounds_run_id"), ["run_id"], unique=False)

    op.create_geospatial_table(
        "coverage_gaps",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=50), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("homes", sa.Integer(), nullable=False),
        sa.Column("households", sa.Integer(), nullable=False),
        sa.Column("residents", sa.Integer(), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
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
    with op.batch_alter_table("coverage_gaps", schema=None) as batch_op:
        batch_op.create_geospatial_index(
            "idx_coverage_gaps_geom", ["geom"], unique=False, postgresql_using="gist", postgresql_ops={}
        )
        batch_op.create_index(batch_op.f("ix_coverage_gaps_run_id"), ["run_id"], unique=False)

    op.create_table(
        "coverage_results",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("home_kind", sa.String(length=20), nullable=False),
        sa.Column("feature_id", sa.Integer(), nullable=False),
        sa.Column("households", sa.Integer(), nullable=False),
        sa.Column("residents", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=50), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.Column("facility_id", sa.Integer(), nullable=True),
        sa.Column("covered", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("coverage_results", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_coverage_results_run_id"), ["run_id"], unique=False)

    op.create_table(
        "coverage_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("checklist_version", sa.Integer(), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("inputs", sa.Text(), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "coverage_summary",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=20), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("code", sa.Text(), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("category", sa.String(length=50), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("homes", sa.Integer(), nullable=False),
        sa.Column("homes_uncovered", sa.Integer(), nullable=False),
        sa.Column("households", sa.Integer(), nullable=False),
        sa.Column("households_covered", sa.Integer(), nullable=False),
        sa.Column("residents", sa.Integer(), nullable=False),
        sa.Column("residents_covered", sa.Integer(), nullable=False),
        sa.Column("share_households", sa.Float(), nullable=True),
        sa.Column("share_residents", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("coverage_summary", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_coverage_summary_run_id"), ["run_id"], unique=False)

    with op.batch_alter_table("facilities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("level", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("facilities", schema=None) as batch_op:
        batch_op.drop_column("level")

    with op.batch_alter_table("coverage_summary", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coverage_summary_run_id"))

    op.drop_table("coverage_summary")
    op.drop_table("coverage_runs")
    with op.batch_alter_table("coverage_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coverage_results_run_id"))

    op.drop_table("coverage_results")
    with op.batch_alter_table("coverage_gaps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coverage_gaps_run_id"))
        batch_op.drop_geospatial_index("idx_coverage_gaps_geom", postgresql_using="gist", column_name="geom")

    op.drop_geospatial_table("coverage_gaps")
    with op.batch_alter_table("coverage_compounds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coverage_compounds_run_id"))

    op.drop_table("coverage_compounds")
    with op.batch_alter_table("coverage_circles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coverage_circles_run_id"))
        batch_op.drop_geospatial_index(
            "idx_coverage_circles_geom", postgresql_using="gist", column_name="geom"
        )

    op.drop_geospatial_table("coverage_circles")
