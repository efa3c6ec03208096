"""Fixtures of the indicator tests: the hand-made test town."""

from __future__ import annotations

import pytest

from tests.coverage.town import Town, origin


@pytest.fixture(scope="session")
async def town(pool, settings) -> Town:
    """The empty test town: its origin and SRID."""
    async with pool.acquire() as db:
        x0, y0 = await origin(db, settings.storage_srid)
    return Town(settings.storage_srid, x0, y0)


@pytest.fixture
def helpers(monkeypatch) -> list:
    """The helper connections a cold build or a gap rebuild opens (coverage.workers.helper), in order."""
    from cityassets.coverage import workers

    opened: list = []
    real = workers.helper

    async def spy(conn):
        h = await real(conn)
        opened.append(h)
        return h

    monkeypatch.setattr(workers, "helper", spy)
    return opened
