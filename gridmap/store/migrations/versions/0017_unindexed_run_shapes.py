"""a run's gap and circle outlines without a spatial index: they are read whole by run,
never by place, and the index cost every saved run a write per outline

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 03:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

TABLES = ("coverage_gaps", "coverage_circles")


def upgrade() -> None:
    for table in TABLES:
        op.drop_geospatial_index(
            f"idx_{table}_geom", table_name=table, column_name="geom", postgresql_using="gist"
        )
        if op.get_bind().dialect.name == "sqlite":  # SpatiaLite only unhooks its R*Tree: it goes too
            op.execute(sa.text(f"DROP TABLE IF EXISTS idx_{table}_geom"))


def downgrade() -> None:
    for table in TABLES:
        op.create_geospatial_index(
            f"idx_{table}_geom", table, ["geom"], unique=False, postgresql_using="gist", postgresql_ops={}
        )
