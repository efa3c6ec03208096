"""cityassets.db.pool: the asyncpg pool every request draws its connection from."""

from __future__ import annotations

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


async def create_pool(settings: Settings, **overrides: Any) -> asyncpg.Pool:
    """A pool with orjson codecs and a statement timeout on every connection."""
    kwargs: dict[str, Any] = {
        "min_size": settings.pool_min_size,
        "max_size": settings.pool_max_size,
        "init": _init_connection,
        "server_settings": {
            "statement_timeout": str(settings.statement_timeout_ms),
            "application_name": "cityassets",
            "jit": "off",
        },
    }
    kwargs.update(overrides)
    return await asyncpg.create_pool(settings.dsn, **kwargs)
