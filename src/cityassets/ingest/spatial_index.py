"""cityassets.ingest.spatial_index: a first load builds its collection's GiST index after the rows are in.

Kept up row by row, the GiST index of a collection being filled is the largest single cost of a big
upload: each insert weighs every entry of the internal pages it descends (gistchoose), ~9 us a point
once the tree holds a million (docs/benchmarks.md, uploads round 8), against ~3 us a point for one
sorted build at the end (PostGIS's GiST sortsupport, PostgreSQL 15). Bulk loaders (ogr2ogr's
SPATIAL_INDEX=NONE, pg_restore) do the same.

Only an empty collection is loaded that way: the index is dropped in its own short transaction, so
readers are never blocked behind the upload (they see an empty table either way), and built again
inside the upload's transaction under a SHARE lock, which readers pass. Whatever happens the index
comes back: the upload's own failure path builds it on the still-empty table, and a crash leaves it
to the next upload of that collection or the service's start (`repair`). A session advisory lock per
table marks a load in flight: a second upload of that table waits for it to end (see `defer`).
"""

from __future__ import annotations

import logging

import asyncpg

from cityassets.catalogue import COLLECTIONS

log = logging.getLogger(__name__)

#: How long the drop may wait for readers: queued behind it, new readers would wait as long.
DROP_WAIT = "100ms"
#: How long a repair may wait for writers before it leaves the index to a later repair.
REPAIR_WAIT = "1s"
#: How long a load's final build may wait for other writers: less than PostgreSQL's deadlock_timeout (1 s).
BUILD_WAIT = "500ms"


def index_name(table: str) -> str:
    """The spatial index of a collection table (geoalchemy2's name in migration 0001)."""
    return f"idx_{table}_geom"


def create_sql(table: str) -> str:
    """The index's definition, as migration 0001 created it. `table` comes from the catalogue."""
    return f"CREATE INDEX IF NOT EXISTS {index_name(table)} ON {table} USING gist (geom)"


#: The session advisory lock marking a table's load in flight (released with the session if it dies).
LOCK_SQL = "SELECT pg_advisory_lock(hashtext($1))"
TRY_LOCK_SQL = "SELECT pg_try_advisory_lock(hashtext($1))"
UNLOCK_SQL = "SELECT pg_advisory_unlock(hashtext($1))"
MISSING_SQL = "SELECT to_regclass($1) IS NULL"


def _lock_key(table: str) -> str:
    return f"cityassets.spatial_index.{table}"


class Deferred:
    """The spatial index of one table, taken out (or found missing) for a load; built back once."""

    def __init__(self, table: str) -> None:
        self.table = table
        self.built = False

    async def build(self, conn: asyncpg.Connection) -> None:
        """Inside the upload's transaction, before its commit: one sorted build over all the rows.

        Its SHARE lock waits for every other writer of the table. A single write made during the load
        may be waiting for this upload in turn (a code serial of the same prefix): given up after
        BUILD_WAIT, below the deadlock timeout, so the load commits and `release` builds the index.
        """
        try:
            # A savepoint: a refused lock leaves the upload's transaction whole.
            async with conn.transaction():
                await conn.execute(f"SET LOCAL lock_timeout = '{BUILD_WAIT}'")
                await conn.execute(create_sql(self.table))
            self.built = True
        except asyncpg.LockNotAvailableError:
            log.info("spatial index of %s: a writer holds the table, built after the commit", self.table)
        finally:
            await conn.execute("SET LOCAL lock_timeout = 0")

    async def release(self, conn: asyncpg.Connection) -> None:
        """After the upload, whatever its outcome: the index exists again, the table is unmarked."""
        try:
            if not self.built:
                # Rolled back (the table is as empty as before) or committed past a busy table: built now
                # unless another writer still holds it, in which case the next upload or start repairs it.
                await _build_now(conn, self.table)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            log.warning("spatial index of %s left for a later repair: %s", self.table, exc)
        finally:
            try:
                await conn.execute(UNLOCK_SQL, _lock_key(self.table))
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
                pass  # a broken connection is closed by the pool, which releases its session locks


async def defer(conn: asyncpg.Connection, table: str) -> Deferred | None:
    """Before the upload's transaction: take the index out when the collection is empty.

    Waits first for a first load in flight on the table. Its final build takes a SHARE lock, which
    waits for every other writer of the table, and a writer may be waiting for the load's own rows
    (a code serial of the same prefix, say): a deadlock, seen with two loads at once. Queued, the second
    upload starts once the first has committed, and finds rows.

    Also returns a Deferred when the index is missing and the table empty (a load that was killed):
    the upload then builds it. None when the collection holds rows, or when readers hold the table
    for longer than DROP_WAIT.
    """
    await conn.execute(LOCK_SQL, _lock_key(table))
    try:
        empty = not await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {table})")
        if await conn.fetchval(MISSING_SQL, index_name(table)):
            if empty:
                return Deferred(table)
            # Left out by a crashed load: built now, before this upload's near-duplicate probes need it.
            await _build_now(conn, table)
            raise _Keep
        if not empty:
            raise _Keep
        async with conn.transaction():
            await conn.execute(f"SET LOCAL lock_timeout = '{DROP_WAIT}'")
            await conn.execute(f"DROP INDEX IF EXISTS {index_name(table)}")
            # Checked again under the drop's exclusive lock: a row committed since would be left in a
            # table whose index this load then builds anyway, but a big table should keep its index.
            if await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {table})"):
                raise _Keep
        return Deferred(table)
    except (_Keep, asyncpg.LockNotAvailableError, asyncpg.InsufficientPrivilegeError) as exc:
        if isinstance(exc, asyncpg.InsufficientPrivilegeError):
            # The service's role does not own the table (a deployment choice): load with the index kept.
            log.info("spatial index of %s kept for this load: %s", table, exc)
        await conn.execute(UNLOCK_SQL, _lock_key(table))
        return None
    except BaseException:
        await conn.execute(UNLOCK_SQL, _lock_key(table))
        raise


class _Keep(Exception):
    """The table holds rows: its index stays."""


async def _build_now(conn: asyncpg.Connection, table: str) -> bool:
    """Build a missing index in its own transaction; False when writers hold the table too long."""
    try:
        async with conn.transaction():
            await conn.execute(f"SET LOCAL lock_timeout = '{REPAIR_WAIT}'")
            # As long as the rows take (5M points: 15 s), not the pool's per-request limit.
            await conn.execute("SET LOCAL statement_timeout = 0")
            await conn.execute(create_sql(table))
        return True
    except asyncpg.LockNotAvailableError:
        log.warning("spatial index of %s: the table is busy, left for the next upload", table)
        return False


async def repair(conn: asyncpg.Connection) -> list[str]:
    """At start: build back every collection's spatial index a crashed load left out. Returns the tables."""
    repaired = []
    for c in COLLECTIONS.values():
        table = c.table.name
        if "geom" not in c.table.c or not await conn.fetchval(
            MISSING_SQL, index_name(table)
        ):
            continue
        if not await conn.fetchval(TRY_LOCK_SQL, _lock_key(table)):
            continue  # a load is in flight and builds it
        try:
            if await _build_now(conn, table):
                repaired.append(table)
        finally:
            await conn.execute(UNLOCK_SQL, _lock_key(table))
    return repaired
