"""cityassets.coverage.workers: a helper connection that takes strips of a cold build (the machine has 2 cores)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

import asyncpg

from cityassets.settings import get_settings

T = TypeVar("T")


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


async def in_turn(conn: asyncpg.Connection, helper: asyncpg.Connection | None, items: Iterable[T],
                  work: Callable[[asyncpg.Connection, T], Awaitable[None]], setup: str | None = None) -> None:
    """`work(connection, item)` for every item, on `conn` (in the caller's transaction) and `helper` at once: the
    next free connection takes the next item. The helper's items are committed in one transaction of its own
    (`setup` runs first in it); the first failure on either side is raised once both have stopped."""
    queue = iter(items)

    async def drain(c: asyncpg.Connection) -> None:
        for item in queue:  # shared iterator: whichever connection is free takes the next item
            await work(c, item)

    async def on_helper(h: asyncpg.Connection) -> None:
        async with h.transaction():
            if setup:
                await h.execute(setup)
            await drain(h)

    done = await asyncio.gather(drain(conn), *([on_helper(helper)] if helper is not None else []),
                                return_exceptions=True)
    for r in done:
        if isinstance(r, BaseException):
            raise r
