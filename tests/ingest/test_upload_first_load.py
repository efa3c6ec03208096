"""The first load of an empty collection builds its spatial index after the rows (ingest.spatial_index).

They run on a database of their own (`scratch`), where the collection is empty when they start.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import threading
import time
from collections.abc import AsyncIterator

import asyncpg
import httpx
import orjson

from cityassets.api.launch import free_port, start_server
from cityassets.ingest import spatial_index
from tests.fixtures import auth
from tests.ingest.helpers import fc, manhole, spread

INDEX = "idx_manholes_geom"
LOCK = "SELECT pg_advisory_lock(hashtext('cityassets.spatial_index.manholes'))"
_serials = itertools.count(1)


def code() -> str:
    """A fresh water-supply manhole code of the east district (this database is the tests' own)."""
    return f"4101050101{next(_serials):06d}"


async def _has_index(conn: asyncpg.Connection) -> bool:
    return await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", INDEX)


async def _empty(conn: asyncpg.Connection) -> None:
    await conn.execute("TRUNCATE manholes, history RESTART IDENTITY CASCADE")


async def _one_manhole(scratch: dict) -> None:
    """A collection with a row in it."""
    h = {"Content-Type": "application/geo+json", **auth(scratch["token"])}
    r = await scratch["client"].post(
        "/collections/manholes/uploads", content=fc([manhole(113.80, 34.80, code())]), headers=h
    )
    assert r.status_code == 200, r.text[:500]


def _body(n: int) -> tuple[bytes, bytes]:
    """A FeatureCollection split in two halves at a feature boundary."""
    features = [manhole(x, y, code()) for x, y in spread(n)]
    whole = fc(features)
    cut = whole.index(b',{"type":"Feature"', len(whole) // 2) + 1
    return whole[:cut], whole[cut:]


async def _upload_watching(scratch: dict, n: int, **params) -> tuple[httpx.Response, dict]:
    """Upload n manholes; halfway through the body, look at the index and read the table from another
    connection (the upload is then in its transaction, waiting for the rest of the body)."""
    first, rest = _body(n)
    seen: dict = {}

    async def body() -> AsyncIterator[bytes]:
        yield first
        async with scratch["pool"].acquire() as conn:
            # The server reads the first half into its transaction; give it up to 5 s to get there.
            for _ in range(100):
                await asyncio.sleep(0.05)
                if await conn.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND state = 'idle in transaction'"
                ):
                    break
            seen["index"] = await _has_index(conn)
            clock = time.perf_counter()
            await conn.execute("SET statement_timeout = '3s'")
            seen["readable"] = await conn.fetchval("SELECT count(*) FROM manholes")
            seen["read_s"] = time.perf_counter() - clock
            await conn.execute("RESET statement_timeout")
        yield rest

    h = {"Content-Type": "application/geo+json", **auth(scratch["token"])}
    r = await scratch["client"].post("/collections/manholes/uploads", content=body(), headers=h, params=params)
    return r, seen


async def test_first_load_builds_the_index_after_the_rows(scratch):
    async with scratch["pool"].acquire() as conn:
        await _empty(conn)
        r, seen = await _upload_watching(scratch, 6000)
        assert r.status_code == 200, r.text[:500]
        report = orjson.loads(r.content)
        # During the load the index was out, and a reader was not held up by the upload.
        assert seen["index"] is False
        assert seen["readable"] == 0 and seen["read_s"] < 2
        assert report["counts"]["inserted"] == 6000 and "spatial_index" in report["counts"]["seconds"]
        # After it the index is back, valid, covers every row, and the planner uses it.
        assert await _has_index(conn)
        assert await conn.fetchval(
            "SELECT indisvalid AND indisready FROM pg_index WHERE indexrelid = $1::regclass", INDEX
        )
        await conn.execute("SET enable_seqscan = off")
        try:
            plan = "\n".join(
                r[0]
                for r in await conn.fetch(
                    "EXPLAIN SELECT count(*) FROM manholes WHERE geom && ST_Expand("
                    "(SELECT geom FROM manholes ORDER BY id LIMIT 1), 100)"
                )
            )
            inside = await conn.fetchval(
                "SELECT count(*) FROM manholes WHERE geom && ST_Expand((SELECT ST_Extent(geom)::geometry "
                "FROM manholes), 1)"
            )
        finally:
            await conn.execute("RESET enable_seqscan")
        assert INDEX in plan
        assert inside == 6000


async def test_a_refused_first_load_puts_the_index_back(scratch):
    async with scratch["pool"].acquire() as conn:
        await _empty(conn)
        features = [manhole(x, y, code()) for x, y in spread(50)]
        features.append(manhole(34.76, 113.75, code()))  # swapped axes: refused, so nothing is written
        h = {"Content-Type": "application/geo+json", **auth(scratch["token"])}
        r = await scratch["client"].post("/collections/manholes/uploads", content=fc(features), headers=h)
        assert r.status_code == 422, r.text[:500]
        assert await conn.fetchval("SELECT count(*) FROM manholes") == 0
        assert await _has_index(conn)


async def test_a_dry_run_keeps_the_index(scratch):
    async with scratch["pool"].acquire() as conn:
        await _empty(conn)
        r, seen = await _upload_watching(scratch, 6000, dry_run="true")
        assert r.status_code == 200, r.text[:500]
        assert seen["index"] is True and await _has_index(conn)


async def test_a_collection_with_rows_keeps_its_index(scratch):
    async with scratch["pool"].acquire() as conn:
        await _empty(conn)
        await _one_manhole(scratch)
        r, seen = await _upload_watching(scratch, 6000)
        assert r.status_code == 200, r.text[:500]
        assert seen["index"] is True and await _has_index(conn)


async def test_an_upload_waits_for_a_load_in_flight(scratch):
    """Another load holds the table's mark: this upload queues until it ends, then loads as usual."""
    async with scratch["pool"].acquire() as conn, scratch["pool"].acquire() as other:
        await _empty(conn)
        await other.execute(LOCK)
        h = {"Content-Type": "application/geo+json", **auth(scratch["token"])}
        body = fc([manhole(x, y, code()) for x, y in spread(200)])
        task = asyncio.ensure_future(
            scratch["client"].post("/collections/manholes/uploads", content=body, headers=h)
        )
        try:
            await asyncio.sleep(1.0)
            assert not task.done()  # queued behind the mark
            assert await _has_index(conn)
            assert await conn.fetchval("SELECT count(*) FROM manholes") == 0
        finally:
            await other.execute("SELECT pg_advisory_unlock_all()")
        r = await asyncio.wait_for(task, 30)
        assert r.status_code == 200, r.text[:500]
        assert orjson.loads(r.content)["counts"]["inserted"] == 200
        assert await _has_index(conn)


async def test_two_first_loads_at_once_both_land(scratch):
    """The second upload waits for the first one's mark, then loads into a collection with rows. Run side
    by side, the first one's final build (SHARE lock) waited for the second's writes while they waited for
    the first's code serial row: a deadlock, one of them refused with 409."""
    async with scratch["pool"].acquire() as conn:
        await _empty(conn)
        h = {"Content-Type": "application/geo+json", **auth(scratch["token"])}
        bodies = [
            fc([manhole(x, y, code()) for x, y in spread(20_000, lat0=34.72)]),
            fc([manhole(x, y, code()) for x, y in spread(20_000, lat0=34.80)]),
        ]
        first, second = await asyncio.gather(
            *(scratch["client"].post("/collections/manholes/uploads", content=b, headers=h) for b in bodies)
        )
        assert first.status_code == 200, first.text[:500]
        assert second.status_code == 200, second.text[:500]
        a, b = orjson.loads(first.content), orjson.loads(second.content)
        # Exactly one of them took the index out and built it back; the other queued behind it.
        assert ["spatial_index" in r["counts"]["seconds"] for r in (a, b)].count(True) == 1
        assert await conn.fetchval("SELECT count(*) FROM manholes") == 40_000
        assert await _has_index(conn)
        assert await conn.fetchval(
            "SELECT count(*) FROM manholes WHERE geom && ST_Expand((SELECT ST_Extent(geom)::geometry "
            "FROM manholes), 1)"
        ) == 40_000


async def test_a_single_write_during_a_first_load_does_not_deadlock(scratch):
    """A feature written by hand mid-load with a code of a prefix the load has reserved waits for the load's
    serial row, and the load's final build waits for that writer: the build gives way (BUILD_WAIT, below the
    deadlock timeout), the load commits, the writer follows, and the index is built after."""
    waiting = (
        "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = "
        "'asset_code_serials' AND l.mode = 'RowExclusiveLock' AND l.pid <> pg_backend_pid()"
    )
    async with scratch["pool"].acquire() as conn, scratch["pool"].acquire() as writer:
        await _empty(conn)
        whole = fc([manhole(x, y, code()) for x, y in spread(20_000)])  # more than one segment (16,384)
        cut = whole.index(b',{"type":"Feature"', int(len(whole) * 0.9)) + 1
        tx = writer.transaction()
        inserted: list[asyncio.Future] = []

        async def body() -> AsyncIterator[bytes]:
            yield whole[:cut]
            for _ in range(200):  # the first segment written: the load holds its serial row
                if await conn.fetchval(waiting):
                    break
                await asyncio.sleep(0.05)
            await tx.start()
            inserted.append(asyncio.ensure_future(writer.execute(
                "INSERT INTO manholes (asset_code, district_code, utility_type, owner, geom) VALUES "
                "('4101050101999999', '410105', 'water_supply', 'WATER', ST_Transform(ST_SetSRID("
                "ST_MakePoint(113.84, 34.84), 4326), 4547))"
            )))
            for _ in range(100):  # the writer waits for the load
                if await conn.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = "
                    "current_database()"
                ):
                    break
                await asyncio.sleep(0.05)
            yield whole[cut:]

        h = {"Content-Type": "application/geo+json", **auth(scratch["token"])}
        load = asyncio.ensure_future(
            scratch["client"].post("/collections/manholes/uploads", content=body(), headers=h)
        )
        while not inserted:
            await asyncio.sleep(0.05)
        await asyncio.wait_for(inserted[0], 30)  # ends once the load has committed
        await tx.commit()
        r = await asyncio.wait_for(load, 60)
        assert r.status_code == 200, r.text[:500]
        assert orjson.loads(r.content)["counts"]["inserted"] == 20_000
        assert await conn.fetchval("SELECT count(*) FROM manholes") == 20_001
        assert await _has_index(conn)


async def test_a_missing_index_comes_back_with_the_next_upload_or_a_repair(scratch):
    async with scratch["pool"].acquire() as conn:
        await _empty(conn)
        await _one_manhole(scratch)
        # As a load killed mid-way leaves it: rows, no index.
        await conn.execute(f"DROP INDEX {INDEX}")
        r, seen = await _upload_watching(scratch, 6000)
        assert r.status_code == 200, r.text[:500]
        assert seen["index"] is True  # built before the load, for its near-duplicate probes
        await conn.execute(f"DROP INDEX {INDEX}")
        assert await spatial_index.repair(conn) == ["manholes"]
        assert await _has_index(conn) and await spatial_index.repair(conn) == []


async def test_kill_9_mid_first_load_then_restart(scratch):
    """A killed first load leaves an empty collection; the restarted service builds the index back."""
    async with scratch["pool"].acquire() as conn:
        await _empty(conn)
        port = free_port()
        procs = [start_server(scratch["dsn"], port)]
        try:
            body = fc([manhole(x, y, code()) for x, y in spread(40_000)])
            sent = threading.Event()

            def chunks():
                for i in range(0, len(body), 1 << 16):
                    if i > len(body) // 2:
                        sent.set()
                        time.sleep(0.05)
                    yield body[i : i + (1 << 16)]

            def post() -> None:
                try:
                    httpx.post(
                        f"http://127.0.0.1:{port}/collections/manholes/uploads",
                        content=chunks(),
                        timeout=60,
                        headers={"Content-Type": "application/geo+json", **auth(scratch["token"])},
                    )
                except httpx.HTTPError:
                    pass  # the server died under it

            client = threading.Thread(target=post, daemon=True)
            client.start()
            assert await asyncio.to_thread(sent.wait, 60)
            for _ in range(100):
                if not await _has_index(conn):
                    break
                await asyncio.sleep(0.05)
            assert not await _has_index(conn)
            os.kill(procs[0].pid, signal.SIGKILL)
            procs[0].wait()
            await asyncio.to_thread(client.join, 30)
            for _ in range(100):  # the dead server's backend rolls back once it sees the closed socket
                if not await conn.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
                    "state LIKE '%transaction%' AND pid <> pg_backend_pid()"
                ):
                    break
                await asyncio.sleep(0.1)
            assert not await _has_index(conn)
            procs.append(start_server(scratch["dsn"], port))
            assert await _has_index(conn)
            assert await conn.fetchval("SELECT count(*) FROM manholes") == 0
            assert await conn.fetchval("SELECT count(*) FROM history") == 0
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()


async def test_a_role_that_does_not_own_the_table_loads_with_the_index_kept(scratch):
    """A deployment may run the service as a role without ownership: no drop, no error, the lock let go."""
    role = f"ca_nonowner_{os.getpid()}"
    async with scratch["pool"].acquire() as conn:
        await _empty(conn)
        await conn.execute(f"DROP ROLE IF EXISTS {role}")
        await conn.execute(f"CREATE ROLE {role} LOGIN")
        await conn.execute(f"GRANT SELECT ON manholes TO {role}")
        other = await asyncpg.connect(scratch["dsn"], user=role)
        try:
            assert await spatial_index.defer(other, "manholes") is None
            assert await _has_index(conn)
            assert not await conn.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = $1",
                await other.fetchval("SELECT pg_backend_pid()"),
            )
        finally:
            await other.close()
            await conn.execute(f"REVOKE ALL ON manholes FROM {role}")
            await conn.execute(f"DROP ROLE {role}")
