"""cityassets.db.pool: the asyncpg pool every request draws its connection from."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

import asyncpg
import orjson

from cityassets.settings import Settings


async def _init_connection(conn: asyncpg.Connection) -> None:
    # jsonb/json travel as text; orjson is ~5x faster than stdlib json and refuses NaN.
    await conn.set_type_codec("jsonb", encoder=lambda v: orjson.dumps(v).decode(), decoder=orjson.loads,
                              schema="pg_catalog")
    await conn.set_type_codec("json", encoder=lambda v: orjson.dumps(v).decode(), decoder=orjson.loads,
                              schema="pg_catalog")


async def _reset(conn: asyncpg.Connection) -> None:
    # asyncpg's default reset sends RESET ALL / UNLISTEN / CLOSE ALL / advisory unlock on every release:
    # a round trip per request. We only use transaction-local state (set_config(..., true), xact
    # advisory locks, ON COMMIT DROP temp tables), so ending an abandoned transaction is enough.
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


async def create_pool(settings: Settings, **overrides: Any) -> asyncpg.Pool:
    """A pool with orjson codecs and a statement timeout on every connection."""
    kwargs: dict[str, Any] = {
        "min_size": settings.pool_min_size,
        "max_size": settings.pool_max_size,
        "init": _init_connection,
        "reset": _reset,
        "server_settings": {
            "statement_timeout": str(settings.statement_timeout_ms),
            "application_name": "cityassets",
            "jit": "off",
        },
    }
    kwargs.update(overrides)
    return await asyncpg.create_pool(settings.dsn, **kwargs)


class FifoGate:
    """At most `n` holders, admitted strictly in arrival order.

    asyncpg's pool (an asyncio queue) lets a newly arriving request take a just-released connection
    ahead of requests already waiting; under load that barging starves a few requests and stretches
    p99 to many times p50. Here a released slot is handed to the oldest waiter directly.
    """

    def __init__(self, n: int) -> None:
        self._free = n
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def __aenter__(self) -> None:
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self._release()  # the slot was handed over as we were cancelled: pass it on
            else:
                self._waiters.remove(fut)
            raise

    async def __aexit__(self, *exc: object) -> None:
        self._release()

    def _release(self) -> None:
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                return
        self._free += 1


def lanes(settings: Settings) -> tuple[FifoGate, FifoGate]:
    """The interactive lane (`settings.interactive_slots`) and the bulk lane (the rest of the pool).

    Short requests queue for the interactive slots in arrival order; an upload or an indicator build
    that holds a connection for seconds takes a bulk one, so it never stalls the map clients' reads.
    """
    interactive = max(1, min(settings.interactive_slots, settings.pool_max_size - 1))
    return FifoGate(interactive), FifoGate(max(1, settings.pool_max_size - interactive))
