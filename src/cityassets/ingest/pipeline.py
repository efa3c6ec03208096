"""cityassets.ingest.pipeline: features -> staging rows (COPY) -> checks -> one merge, one transaction."""

from __future__ import annotations

import gc
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg

from cityassets.auth import AuthPrincipal
from cityassets.catalogue import Collection
from cityassets.errors import Issue
from cityassets.ingest.geometry import GeometryBatch
from cityassets.ingest.properties import PropertyRules
from cityassets.ingest.report import COUNT_SQL, Counts, IssueSink, UploadInfo, save
from cityassets.ingest.sources import Source
from cityassets.ingest.sql import ISSUES_DDL, UploadSQL
from cityassets.settings import Settings

#: Features per vectorised geometry batch: large enough to amortise numpy/pyproj calls.
BATCH = 4096
_paused = 0


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause CPython's cyclic GC while streaming: parsed features are acyclic (freed by refcount),
    yet their allocation rate triggers full scans that double the CPU (design/ingest.md, obs. 3)."""
    global _paused
    _paused += 1
    gc.disable()
    try:
        yield
    finally:
        _paused -= 1
        if not _paused:
            gc.enable()


@dataclass
class Outcome:
    """Status and counts of a finished upload."""

    status: str  # committed | rejected | dry_run
    counts: Counts
    message: str


async def rebatch(batches: AsyncIterator[list[Any]], size: int = BATCH) -> AsyncIterator[list[Any]]:
    """Regroup the reader's lists (one per body chunk) into lists of about `size` features."""
    buf: list[Any] = []
    async for features in batches:
        buf.extend(features)
        if len(buf) >= size:
            yield buf
            buf = []
    if buf:
        yield buf


def batch_rows(
    features: list[Any],
    start: int,
    rules: PropertyRules,
    geoms: GeometryBatch,
    settings: Settings,
    sink: IssueSink,
) -> list[tuple]:
    """Staging rows for the valid features of one batch; issues of the others go to the sink."""
    issues: list[Issue] = []
    pending = []
    for k, feat in enumerate(features):
        idx = start + k
        if type(feat) is not dict or feat.get("type") != "Feature":
            issues.append(Issue(None, "type", "not a GeoJSON Feature (RFC 7946 §3.2)", idx))
            continue
        props = feat.get("properties")
        if props is None:
            props = {}
        elif type(props) is not dict:
            issues.append(Issue("properties", "type", "properties must be an object or null", idx))
            continue
        row = rules.row(props, idx, issues)
        if row is None:
            continue
        problem = geoms.add(feat.get("geometry"))
        if problem is not None:
            issues.append(Issue("geometry", problem[0], problem[1], idx, _code(rules, row[0])))
            continue
        pending.append((idx, row))
    out = []
    if pending:
        wkbs, problems, sources = geoms.finish(settings.storage_srid, settings.extent)
        for (idx, (values, mask, cls)), wkb, problem, src in zip(pending, wkbs, problems, sources):
            if problem is not None:
                issues.append(Issue("geometry", problem[0], problem[1], idx, _code(rules, values)))
                continue
            out.append((idx, mask, cls, *values, wkb, src))
    sink.add(issues)
    return out


def _code(rules: PropertyRules, values: list[Any]) -> str | None:
    return values[rules.code_at] if rules.code_at is not None else None


async def staged_rows(
    batches: AsyncIterator[list[Any]],
    rules: PropertyRules,
    src_crs: str,
    settings: Settings,
    sink: IssueSink,
    counts: Counts,
) -> AsyncIterator[tuple]:
    """Rows for the binary COPY, produced while the body is still arriving."""
    kind = rules.collection.geometry_type or "Point"
    async for features in rebatch(batches):
        geoms = GeometryBatch(kind, src_crs, settings.max_vertices)
        for row in batch_rows(features, counts.received, rules, geoms, settings, sink):
            yield row
        counts.received += len(features)


async def run(
    conn: asyncpg.Connection,
    collection: Collection,
    principal: AuthPrincipal,
    info: UploadInfo,
    source: Source,
    settings: Settings,
    request_id: str,
) -> Outcome:
    """The whole upload in one transaction: a crash at any point leaves the registry untouched."""
    orgs = frozenset(
        r["code"] for r in await conn.fetch("SELECT code FROM organisations WHERE retired_at IS NULL")
    )
    rules = PropertyRules(collection, settings, orgs, text=source.text, dbf_names=source.dbf_names)
    sql = UploadSQL(rules, info.match)
    counts, sink = Counts(), IssueSink()
    async with conn.transaction():
        # Big uploads outlive the pool's per-statement timeout; history triggers read these settings.
        await conn.execute("SET LOCAL statement_timeout = 0")
        # Duplicate detection and the anti-joins sort/hash whole uploads: keep them in memory.
        await conn.execute("SET LOCAL work_mem = '256MB'")
        await conn.execute(
            "SELECT set_config('cityassets.actor', $1, true), set_config('cityassets.request_id', $2, "
            "true), set_config('cityassets.upload_id', $3, true)",
            info.actor,
            request_id,
            info.id,
        )
        await conn.execute(sql.stage_ddl())
        await conn.execute(ISSUES_DDL)
        clock = time.perf_counter()
        with gc_paused():
            await conn.copy_records_to_table(
                "stg",
                columns=sql.stage_columns,
                records=staged_rows(source.batches, rules, source.crs, settings, sink, counts),
            )
        await sink.copy_to(conn)
        counts.seconds["parse_copy"] = round(time.perf_counter() - clock, 3)
        await conn.execute(sql.check_sql())
        await _checks(conn, sql, principal, settings)
        found = await conn.fetchrow(COUNT_SQL)
        counts.seconds["checks"] = round(time.perf_counter() - clock - counts.seconds["parse_copy"], 3)
        counts.rejected, counts.duplicated, counts.near_duplicates = (
            found["rejected"],
            found["duplicated"],
            found["near_duplicates"],
        )
        if info.mode == "atomic" and (counts.rejected or counts.duplicated):
            outcome = Outcome(
                "rejected",
                counts,
                f"{counts.rejected + counts.duplicated:,} of {counts.received:,} "
                "features were refused: nothing was written (mode=atomic)",
            )
        else:
            outcome = await _merge(conn, sql, info, counts)
        counts.seconds["total"] = round(time.perf_counter() - clock, 3)
        await save(conn, info, outcome.status, counts, outcome.message)
    return outcome


async def _checks(
    conn: asyncpg.Connection, sql: UploadSQL, principal: AuthPrincipal, settings: Settings
) -> None:
    """Rules that need the database: districts, matched records, scope, references, near duplicates."""
    c = sql.collection
    owner = principal.owner if c.scope_owner_field else None
    districts = list(principal.districts) if principal.districts and c.scope_district_field else None
    if sql.match:
        await conn.execute(sql.duplicates_sql())
    statement = sql.issues_sql(owner is not None, districts is not None)
    if statement:
        await conn.execute(statement, owner, districts)
    # Skipped for an empty collection: nothing to be near (and a bulk first load stays fast).
    if c.is_asset and await conn.fetchval(
        f"SELECT EXISTS (SELECT 1 FROM {sql.table} WHERE retired_at IS NULL)"
    ):
        await conn.execute(sql.near_duplicates_sql(), settings.near_duplicate_m)


def _rowcount(status: str) -> int:
    """Rows of an INSERT/UPDATE command tag ('INSERT 0 12', 'UPDATE 3')."""
    return int(status.rsplit(" ", 1)[1])


async def _merge(conn: asyncpg.Connection, sql: UploadSQL, info: UploadInfo, counts: Counts) -> Outcome:
    """Allocate codes, insert and update; a dry run does the same inside a savepoint it rolls back."""
    tx = conn.transaction()  # a savepoint inside the upload's transaction
    await tx.start()
    if sql.has("asset_code"):
        await conn.execute(sql.reserve_sql())
        await conn.execute(sql.allocate_sql())
    args = (info.actor, info.id, info.crs) if sql.has("source_crs") else (info.actor, info.id)
    counts.inserted = _rowcount(await conn.execute(sql.insert_sql(), *args))
    matched = await conn.fetchval(sql.matched_sql())
    counts.updated = _rowcount(await conn.execute(sql.update_sql(), *args)) if matched else 0
    counts.unchanged = matched - counts.updated
    if info.dry_run:
        await tx.rollback()
        return Outcome("dry_run", counts, "dry run: validated and counted, nothing was written")
    await tx.commit()
    return Outcome(
        "committed",
        counts,
        f"{counts.inserted:,} inserted, {counts.updated:,} updated, "
        f"{counts.unchanged:,} unchanged, {counts.rejected:,} rejected",
    )
