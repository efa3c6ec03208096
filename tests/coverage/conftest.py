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
