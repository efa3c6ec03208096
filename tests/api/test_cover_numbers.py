"""Provincial cover numbers stay unique where assigned (a partial index since migration 0007)."""

from __future__ import annotations

import asyncpg
import pytest

INSERT = (
    "INSERT INTO manholes (asset_code, district_code, utility_type, provincial_cover_no, geom) "
    "VALUES ($1, '410105', 'sewage', $2, ST_Transform(ST_SetSRID(ST_MakePoint(113.76, 34.79), 4326), $3::int))"
)


async def test_a_number_is_unique_and_unassigned_ones_do_not_collide(db, settings):
    tx = db.transaction()
    await tx.start()
    try:
        srid = settings.storage_srid
        await db.execute(INSERT, "4101050102990001", None, srid)
        await db.execute(INSERT, "4101050102990002", None, srid)  # two covers without a number
        await db.execute(INSERT, "4101050102990003", "4101050200000000001", srid)
        with pytest.raises(asyncpg.UniqueViolationError) as err:
            await db.execute(INSERT, "4101050102990004", "4101050200000000001", srid)
        assert err.value.constraint_name == "uq_manholes_provincial_cover_no"
    finally:
        await tx.rollback()


async def test_the_index_holds_only_assigned_numbers(db):
    definition = await db.fetchval("SELECT pg_get_indexdef('uq_manholes_provincial_cover_no'::regclass)")
    assert "UNIQUE" in definition and "WHERE (provincial_cover_no IS NOT NULL)" in definition
