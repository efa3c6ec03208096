"""cityassets.db.admin: create a database with PostGIS and bring it to the current schema."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from cityassets.settings import PROJECT_ROOT

EXTENSIONS = ("postgis", "pgrouting")


def _maintenance_dsn(dsn: str) -> tuple[str, str]:
    parts = urlsplit(dsn)
    dbname = parts.path.lstrip("/") or "postgres"
    return urlunsplit(parts._replace(path="/postgres")), dbname


def ensure_database(dsn: str) -> None:
    """Create the database named by `dsn` if needed and enable the extensions we use."""
    admin_dsn, dbname = _maintenance_dsn(dsn)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {} ENCODING 'UTF8' TEMPLATE template0").format(sql.Identifier(dbname)))
    with psycopg.connect(dsn, autocommit=True) as conn:
        available = {r[0] for r in conn.execute("SELECT name FROM pg_available_extensions").fetchall()}
        for ext in EXTENSIONS:
            if ext in available:
                conn.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(ext)))
            elif ext == "postgis":
                raise RuntimeError("PostGIS is not installed on this server: apt-get install postgresql-15-postgis-3")


def drop_database(dsn: str) -> None:
    """Drop the database named by `dsn` (tests)."""
    admin_dsn, dbname = _maintenance_dsn(dsn)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))


def upgrade(dsn: str, revision: str = "heads") -> None:
    """Create the database if needed and run the Alembic migrations up to `revision`."""
    from alembic import command
    from alembic.config import Config

    ensure_database(dsn)
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(Path(PROJECT_ROOT, "migrations")))
    cfg.attributes["dsn"] = dsn
    command.upgrade(cfg, revision)
