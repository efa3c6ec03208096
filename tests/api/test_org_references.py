"""Organisation references and point validity, enforced per statement (migration 0006) as strictly as the
foreign keys and ST_IsValid checks they replaced: unknown codes fail with SQLSTATE 23503 (a 422 over the
API), code renames cascade, referenced organisations cannot be deleted, non-finite points are refused."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from cityassets.api.errors import from_postgres
from cityassets.models import ASSET_TABLES, REFERENCE_TABLES
from tests.api.test_features_crud import feature
from tests.fixtures import auth

POINT = "ST_Transform(ST_SetSRID(ST_MakePoint(113.72, 34.76), 4326), {srid})"
#: A toilet with asset code $1 and manager $2; $3 is the storage SRID.
TOILET = (
    "INSERT INTO toilets (asset_code, district_code, toilet_type, toilet_class, public_access, manager, "
    f"geom) VALUES ($1, '410105', 'standalone', 'II', 'municipal', $2, {POINT.format(srid='$3::int')})"
)


def _code(tag: str) -> str:
    """A fresh organisation code (tests that commit must not collide)."""
    return f"T{tag}_{uuid.uuid4().hex[:8]}".upper()


def _asset_code() -> str:
    """A fresh 16-digit asset code in district 410105."""
    return f"4101059999{uuid.uuid4().int % 10**6:06d}"


@pytest.fixture
async def tx(db) -> AsyncIterator[asyncpg.Connection]:
    """The test connection inside a transaction that is rolled back (statements that fail use savepoints)."""
    tr = db.transaction()
    await tr.start()
    try:
        yield db
    finally:
        await tr.rollback()


async def _org(conn: asyncpg.Connection, code: str, parent: str | None = None) -> None:
    await conn.execute(
        "INSERT INTO organisations (code, name_zh, org_type, parent_code) VALUES ($1, $2, 'contractor', $3)",
        code,
        f"测试单位 {code}",
        parent,
    )


async def _manhole(conn: asyncpg.Connection, srid: int, owner=None, authority=None, maintainer=None) -> int:
    return await conn.fetchval(
        "INSERT INTO manholes (asset_code, district_code, utility_type, owner, authority, maintainer, geom) "
        f"VALUES ($1, '410105', 'water_supply', $2, $3, $4, {POINT.format(srid='$5::int')}) RETURNING id",
        _asset_code(),
        owner,
        authority,
        maintainer,
        srid,
    )


async def test_foreign_keys_replaced_by_the_registry(db):
    """No foreign key to organisations is left; org_references lists every column the models mark as one."""
    assert (
        await db.fetchval(
            "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND confrelid = 'organisations'::regclass"
        )
        == 0
    )
    registry = {
        (r["table_name"], r["column_name"]): r["constraint_name"]
        for r in await db.fetch("SELECT * FROM org_references")
    }
    declared = {
        (t.name, c.name)
        for t in (*ASSET_TABLES, *REFERENCE_TABLES)
        for c in t.c
        if c.info.get("ref") == "organisations"
    }
    assert set(registry) == declared
    assert {("toilets", "manager"), ("organisations", "parent_code"), ("manholes", "owner")} <= declared
    assert all(name == f"fk_{t}_{c}" for (t, c), name in registry.items())
    # Each referencing table has the insert and the update check; pole_code -> lamp_poles stays a foreign key.
    triggers = await db.fetch(
        "SELECT tgrelid::regclass::text AS t, tgname FROM pg_trigger WHERE tgname LIKE 'org_refs_%'"
    )
    for table in {t for t, _ in declared}:
        assert {r["tgname"] for r in triggers if r["t"] == table} >= {"org_refs_insert", "org_refs_update"}
    assert (
        await db.fetchval("SELECT count(*) FROM pg_constraint WHERE conname = 'fk_pole_devices_pole_code'")
        == 1
    )


async def test_unknown_owner_fails_like_a_foreign_key(tx, settings, city):
    code = _code("nope")
    with pytest.raises(asyncpg.ForeignKeyViolationError) as err:
        async with tx.transaction():
            await _manhole(tx, settings.storage_srid, owner=code)
    exc = err.value
    assert exc.sqlstate == "23503"
    assert (
        exc.constraint_name == "fk_manholes_owner"
        and exc.table_name == "manholes"
        and exc.column_name == "owner"
    )
    assert (
        exc.message
        == 'insert or update on table "manholes" violates foreign key constraint "fk_manholes_owner"'
    )
    assert exc.detail == f'Key (owner)=({code}) is not present in table "organisations".'
    # The API's mapping of database errors: a 422 naming the field and the rule.
    mapped = from_postgres(exc)
    assert mapped.status == 422 and mapped.code == "ValidationFailed"
    assert (mapped.issues[0].field, mapped.issues[0].rule) == ("owner", "fk_manholes_owner")
    # NULLs and known codes pass.
    assert await _manhole(tx, settings.storage_srid, owner="WATER", authority=None, maintainer="GAS")


async def test_unknown_owner_over_the_api(client, tokens, city, db):
    body = feature("manholes")
    body["properties"]["owner"] = _code("nobody")
    before = await db.fetchval("SELECT count(*) FROM manholes")
    r = await client.post("/collections/manholes/items", json=body, headers=auth(tokens["admin"]))
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["issues"][0]["field"] == "owner", r.text
    assert await db.fetchval("SELECT count(*) FROM manholes") == before


async def test_multi_row_insert_with_one_bad_authority_fails_whole(tx, settings, city):
    codes = [_asset_code() for _ in range(3)]
    bad = _code("bad")
    with pytest.raises(asyncpg.ForeignKeyViolationError) as err:
        async with tx.transaction():
            await tx.execute(
                "INSERT INTO manholes (asset_code, district_code, utility_type, owner, authority, geom) "
                f"SELECT c, '410105', 'water_supply', 'WATER', a, {POINT.format(srid='$3::int')} "
                "FROM unnest($1::text[], $2::text[]) AS u(c, a)",
                codes,
                ["WATER", bad, None],
                settings.storage_srid,
            )
    assert err.value.constraint_name == "fk_manholes_authority" and err.value.column_name == "authority"
    assert bad in err.value.detail
    assert await tx.fetchval("SELECT count(*) FROM manholes WHERE asset_code = ANY ($1)", codes) == 0


async def test_update_to_unknown_maintainer_fails(tx, settings, city):
    fid = await _manhole(tx, settings.storage_srid, owner="WATER", maintainer="GAS")
    bad = _code("gone")
    with pytest.raises(asyncpg.ForeignKeyViolationError) as err:
        async with tx.transaction():
            await tx.execute("UPDATE manholes SET maintainer = $2 WHERE id = $1", fid, bad)
    assert err.value.constraint_name == "fk_manholes_maintainer"
    assert err.value.detail == f'Key (maintainer)=({bad}) is not present in table "organisations".'
    assert await tx.fetchval("SELECT maintainer FROM manholes WHERE id = $1", fid) == "GAS"
    # Updates that leave the codes alone, or set known ones, pass.
    await tx.execute("UPDATE manholes SET remarks = 'x', maintainer = 'PARKS' WHERE id = $1", fid)


async def test_other_referencing_columns(tx, settings, city):
    """toilets.manager and organisations.parent_code are checked the same way."""
    bad = _code("nope")
    with pytest.raises(asyncpg.ForeignKeyViolationError) as err:
        async with tx.transaction():
            await tx.execute(
                TOILET,
                _asset_code(),
                bad,
                settings.storage_srid,
            )
    assert (err.value.constraint_name, err.value.column_name) == ("fk_toilets_manager", "manager")
    with pytest.raises(asyncpg.ForeignKeyViolationError) as err:
        async with tx.transaction():
            await _org(tx, _code("child"), parent=bad)
    assert err.value.constraint_name == "fk_organisations_parent_code"
    # A parent and its child in one statement is fine, as with a foreign key checked at statement end.
    parent, child = _code("p"), _code("c")
    await tx.execute(
        "INSERT INTO organisations (code, name_zh, org_type, parent_code) "
        "VALUES ($1, 'p', 'contractor', NULL), ($2, 'c', 'contractor', $1)",
        parent,
        child,
    )


async def test_rename_cascades_to_referencing_rows(tx, settings, city):
    old, new, child = _code("old"), _code("new"), _code("child")
    await _org(tx, old)
    await _org(tx, child, parent=old)
    fid = await _manhole(tx, settings.storage_srid, owner=old, authority=old, maintainer="GAS")
    tid = await tx.fetchval(
        TOILET + " RETURNING id",
        _asset_code(),
        old,
        settings.storage_srid,
    )
    await tx.execute("UPDATE organisations SET code = $2 WHERE code = $1", old, new)

    row = await tx.fetchrow("SELECT owner, authority, maintainer FROM manholes WHERE id = $1", fid)
    assert tuple(row) == (new, new, "GAS")
    assert await tx.fetchval("SELECT manager FROM toilets WHERE id = $1", tid) == new
    assert await tx.fetchval("SELECT parent_code FROM organisations WHERE code = $1", child) == new
    # The cascade is an update like any other: the manhole's history records both changed columns.
    changed = {}
    for r in await tx.fetch(
        "SELECT changes FROM history WHERE collection = 'manholes' AND feature_id = $1 AND action = 'update'",
        fid,
    ):
        changed.update(r["changes"])
    assert changed == {"owner": [old, new], "authority": [old, new]}
    # Renaming a parent and its child in one statement (the child's parent code cascades too).
    await tx.execute("UPDATE organisations SET code = code || '_X' WHERE code IN ($1, $2)", new, child)
    assert (
        await tx.fetchval("SELECT parent_code FROM organisations WHERE code = $1", child + "_X") == new + "_X"
    )
    assert await tx.fetchval("SELECT owner FROM manholes WHERE id = $1", fid) == new + "_X"


async def test_delete_referenced_organisation_fails(tx, settings, city):
    used, unused = _code("used"), _code("unused")
    await _org(tx, used)
    await _org(tx, unused)
    await _manhole(tx, settings.storage_srid, owner="WATER", maintainer=used)
    with pytest.raises(asyncpg.ForeignKeyViolationError) as err:
        async with tx.transaction():
            await tx.execute("DELETE FROM organisations WHERE code = $1", used)
    assert err.value.sqlstate == "23503" and err.value.constraint_name == "fk_manholes_maintainer"
    assert err.value.message == (
        'update or delete on table "organisations" violates foreign key constraint '
        '"fk_manholes_maintainer" on table "manholes"'
    )
    assert err.value.detail == f'Key (code)=({used}) is still referenced from table "manholes".'
    assert await tx.fetchval("SELECT count(*) FROM organisations WHERE code = $1", used) == 1
    assert await tx.execute("DELETE FROM organisations WHERE code = $1", unused) == "DELETE 1"
    # A parent with a child is referenced too; the two together are not.
    parent, child = _code("p"), _code("c")
    await _org(tx, parent)
    await _org(tx, child, parent=parent)
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        async with tx.transaction():
            await tx.execute("DELETE FROM organisations WHERE code = $1", parent)
    assert await tx.execute("DELETE FROM organisations WHERE code IN ($1, $2)", parent, child) == "DELETE 2"


async def test_truncate_organisations_fails_while_referenced(tx, settings, city):
    await tx.execute("SET LOCAL lock_timeout = '10s'")
    await _manhole(tx, settings.storage_srid, owner="WATER")
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        async with tx.transaction():
            await tx.execute("TRUNCATE organisations")


async def test_delete_waits_for_a_concurrent_insert(pool, settings, city):
    """The check locks the organisations it found FOR KEY SHARE, as the RI trigger did: a delete of one waits
    for the inserting transaction and then sees its rows."""
    code = _code("conc")
    async with pool.acquire() as a, pool.acquire() as b:
        await _org(a, code)
        fid = None
        try:
            writer = a.transaction()
            await writer.start()
            fid = await _manhole(a, settings.storage_srid, owner=code)
            await b.execute("SET lock_timeout = '20s'")
            delete = asyncio.create_task(b.execute("DELETE FROM organisations WHERE code = $1", code))
            await asyncio.sleep(0.5)
            assert not delete.done()  # waiting for the writer's KEY SHARE lock
            await writer.commit()
            with pytest.raises(asyncpg.ForeignKeyViolationError):
                await delete
        finally:
            await b.execute("RESET lock_timeout")
            if fid is not None:
                await a.execute("DELETE FROM manholes WHERE id = $1", fid)
            await a.execute("DELETE FROM organisations WHERE code = $1", code)


async def test_nan_point_refused(tx, settings, city):
    srid = settings.storage_srid
    nan, inf = float("nan"), float("inf")
    for x, y in ((nan, 1.0), (1.0, nan), (inf, 1.0), (1.0, -inf)):
        with pytest.raises(asyncpg.CheckViolationError) as err:
            async with tx.transaction():
                await tx.execute(
                    "INSERT INTO manholes (asset_code, district_code, utility_type, geom) VALUES ($1, "
                    "'410105', 'water_supply', ST_SetSRID(ST_MakePoint($2::float8, $3::float8), $4::int))",
                    _asset_code(),
                    x,
                    y,
                    srid,
                )
        assert err.value.constraint_name == "ck_manholes_geom_valid"
        assert from_postgres(err.value).status == 422


async def test_point_check_means_st_isvalid(db):
    """On every POINT table the check accepts what ST_IsValid accepted (an empty point included), except
    POINT(NaN NaN); other geometry types keep ST_IsValid."""
    checks = await db.fetch(
        "SELECT g.f_table_name AS t, g.type, pg_get_expr(c.conbin, c.conrelid) AS expr "
        "FROM geometry_columns g "
        "JOIN pg_constraint c ON c.conrelid = format('%I.%I', g.f_table_schema, g.f_table_name)::regclass "
        "AND c.conname = 'ck_' || g.f_table_name || '_geom_valid' WHERE g.f_table_schema = current_schema()"
    )
    points = [r for r in checks if r["type"] == "POINT"]
    assert {r["t"] for r in points} >= {
        "manholes",
        "trees",
        "lamp_poles",
        "pole_devices",
        "toilets",
        "street_furniture",
    }
    assert all("st_isvalid" in r["expr"].lower() for r in checks if r["type"] != "POINT")
    samples = (
        "(VALUES (ST_MakePoint(1, 2)), (ST_MakePoint(-1e300, 1e300)), ('POINT EMPTY'::geometry), "
        "(ST_MakePoint('NaN', 1)), (ST_MakePoint(1, 'NaN')), (ST_MakePoint('Infinity', 1)), "
        "(ST_MakePoint(1, '-Infinity')), (ST_MakePoint('NaN', 'NaN'))) AS v(geom)"
    )
    # The last sample, POINT(NaN NaN) from ST_MakePoint, is non-empty with NaN coordinates for PostGIS but
    # empty for GEOS: ST_IsValid accepted it, the new check refuses it (migration 0006 says so).
    for r in points:
        assert "st_isvalid" not in r["expr"].lower()
        # A CHECK passes unless it is false.
        rows = await db.fetch(
            f"SELECT ST_AsText(geom) AS g, ST_IsValid(geom) AS valid, "
            f"({r['expr']}) IS NOT FALSE AS passes FROM {samples}"
        )
        assert [x["valid"] for x in rows] == [True, True, True, False, False, False, False, True]
        assert [x["passes"] for x in rows] == [True, True, True, False, False, False, False, False], r["t"]
