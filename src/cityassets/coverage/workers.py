"""cityassets.coverage.workers: a helper connection that takes strips of a cold build (the machine has 2 cores)."""

from __future__ import annotations

import asyncpg

from cityassets.settings import get_settings


async def helper(conn: asyncpg.Connection) -> asyncpg.Connection | None:
    """A new connection to the database `conn` is on, or None when one cannot be opened (then work stays on `conn`).

    Same server and credentials as the configured DSN (the pool's), so a benchmark or test database on that
    server works too; the caller closes it.
    """
    s = get_settings()
    database = await conn.fetchval("SELECT current_database()")
    try:
        return await asyncpg.connect(s.dsn, database=database, timeout=5, server_settings={
            "statement_timeout": str(s.statement_timeout_ms), "application_name": "cityassets-coverage", "jit": "off",
            # One backend per half: a parallel plan here would compete with the other half for the same cores.
            "max_parallel_workers_per_gather": "0"})
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return None


async def release(helper: asyncpg.Connection) -> None:
    """Close a helper connection (one place, so a benchmark can account for its backend's CPU first)."""
    await helper.close()
