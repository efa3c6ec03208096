"""Fixtures of the upload tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from cityassets.auth.tokens import create_token
from tests.fixtures import EAST, ORGS


@pytest.fixture(scope="module")
async def scratch(settings) -> AsyncIterator[dict]:
    """A migrated database of the module's own, with the east district and the organisations, an app and a
    client on it: tests of first loads need a collection that is empty when they start, and the session's
    database fills every collection as the suite goes."""
    from cityassets.api.app import create_app
    from cityassets.db import admin
    from cityassets.db.pool import create_pool, lanes

    dsn = settings.dsn + "_first"
    await asyncio.to_thread(admin.drop_database, dsn)
    await asyncio.to_thread(admin.upgrade, dsn)
    pool = await create_pool(settings.model_copy(update={"database_url": dsn}), min_size=1, max_size=4)
    async with pool.acquire() as conn:
        await conn.executemany(
            "INSERT INTO organisations (code, name_zh, org_type) VALUES ($1, $2, $3)", ORGS
        )
        await conn.execute(
            "INSERT INTO districts (code, name_zh, geom) VALUES ('410105', '金水区', "
            "ST_Transform(ST_GeomFromText($1, 4326), $2::int))",
            EAST,
            settings.storage_srid,
        )
        token = await create_token(conn, "admin", label="first-load")
    app = create_app(settings)
    app.state.pool = pool
    app.state.gate, app.state.bulk_gate = lanes(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        yield {"dsn": dsn, "pool": pool, "client": c, "token": token}
    await pool.close()
    await asyncio.to_thread(admin.drop_database, dsn)
