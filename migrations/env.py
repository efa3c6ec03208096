"""Alembic environment: our metadata, GeoAlchemy2's helpers, the URL from cityassets settings."""

from alembic import context
from geoalchemy2 import alembic_helpers
from sqlalchemy import create_engine, pool

from cityassets.models import metadata
from cityassets.settings import get_settings

config = context.config


def _url() -> str:
    # Passed by `cityassets.db.admin.upgrade` as an attribute, so '%' in passwords survives
    # (the ini parser would interpolate it).
    dsn = config.attributes.get("dsn") or get_settings().dsn
    return dsn.replace("postgresql://", "postgresql+psycopg://", 1)


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True,
                      include_object=alembic_helpers.include_object,
                      process_revision_directives=alembic_helpers.writer,
                      render_item=alembic_helpers.render_item)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata,
                          include_object=alembic_helpers.include_object,
                          process_revision_directives=alembic_helpers.writer,
                          render_item=alembic_helpers.render_item)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
