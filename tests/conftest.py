"""Test fixtures: a fresh database on the real PostGIS, the app, tokens per role, a tiny city.

The project-local cluster (or the server named by DATABASE_URL) hosts a new database per test
session, migrated to head; it is dropped at the end.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from cityassets.settings import get_settings

pytest_plugins = ["tests.fixtures"]


@pytest.fixture(scope="session")
def settings():
    """Settings pointing at a fresh, migrated test database."""
    from cityassets.db import admin, local_cluster

    base = get_settings()
    if base.uses_local_cluster:
        local_cluster.start(base)
    dsn = base.dsn.rsplit("/", 1)[0] + f"/cityassets_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin.drop_database(dsn)
    admin.upgrade(dsn)
    os.environ["DATABASE_URL"] = dsn
    get_settings.cache_clear()
    s = get_settings()
    yield s
    get_settings.cache_clear()
    admin.drop_database(dsn)


@pytest.fixture(scope="session")
async def pool(settings) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the test database."""
    from cityassets.db.pool import create_pool

    p = await create_pool(settings, min_size=1, max_size=8)
    yield p
    await p.close()


@pytest.fixture(scope="session")
async def app(settings, pool):
    """The application, sharing the test pool (httpx's ASGI transport does not run lifespan)."""
    from cityassets.api.app import create_app
    from cityassets.db.pool import lanes

    application = create_app(settings)
    application.state.pool = pool
    application.state.gate, application.state.bulk_gate = lanes(settings)
    return application


@pytest.fixture(scope="session")
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the app in process."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def db(pool) -> AsyncIterator[asyncpg.Connection]:
    """A connection for direct checks against the database."""
    async with pool.acquire() as conn:
        yield conn
