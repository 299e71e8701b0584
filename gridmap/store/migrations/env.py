"""Alembic environment: runs on the connection that gridmap.store.schema hands over."""

from alembic import context
from geoalchemy2 import alembic_helpers

from gridmap.store.schema import alembic_metadata, include_object

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=alembic_metadata(),
    include_object=include_object,
    process_revision_directives=alembic_helpers.writer,
    render_item=alembic_helpers.render_item,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
