"""cityassets.ingest.pipeline: features -> staged segments (COPY) -> checks -> merge, one transaction."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import gc
import queue
import sys
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg

from cityassets.auth import AuthPrincipal
from cityassets.catalogue import Collection
from cityassets.errors import Conflict, Issue
from cityassets.ingest import spatial_index
from cityassets.ingest.geometry import Finished, GeometryBatch
from cityassets.ingest.properties import PropertyRules
from cityassets.ingest.report import COUNT_SQL, Counts, IssueSink, UploadInfo, save
from cityassets.ingest.seen import SeenKeys
from cityassets.ingest.sources import Source
from cityassets.ingest.sql import (
    ISSUES_DDL,
    KEEP_ISSUES_SQL,
    SEGMENT_ISSUES_DDL,
    SETTINGS_SQL,
    UploadSQL,
)
from cityassets.settings import Settings

#: Features checked at a time (one vectorised geometry batch). Smaller batches hold the GIL in shorter pieces
#: (a batch's WKB, rows and frees are single calls), so the event loop answers the database sooner; and the
#: database starts sooner. Three interleaved runs each, 300k points / four of 100k polygons, 4,096 -> 2,048 ->
#: 1,024 -> 512: 5.28 / 5.13 / 5.08 / 5.12 s and 1.94 / 1.89 / 1.88 (1.83) / 1.83 s.
BATCH = 1024
#: The most features merged at a time (`segments`): a waiting segment costs ~10 MB, and past this size a
#: segment's fixed cost (~2 ms: statements, triggers, TRUNCATE) is under 0.15 µs a row.
SEGMENT = 16_384
#: Checked batches waiting for `segments` (each ~1,024 features' staging rows).
CHECKED_AHEAD = 4
#: The GIL switch interval while an upload streams (CPython's default is 5 ms).
SWITCH_S = 0.0005
_paused = 0
_streaming = 0
_switch_lock = threading.Lock()
_switch_default = sys.getswitchinterval()
_END = object()


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


@contextmanager
def quick_handoff() -> Iterator[None]:
    """Hand the GIL to the event loop within SWITCH_S while an upload streams.

    The event loop answers the database: each round trip of a segment (COPY, its pieces, the merge,
    TRUNCATE) waited for the GIL while the parser and the checking threads ran, up to a switch interval
    (5 ms) each time, with the database idle meanwhile (~10 % of a polygon upload's time in
    `pg_stat_activity` samples, ClientRead).
    Set while a COPY ran only: 1M points 19.00 -> 18.32 s. Set for the whole stream, with batches of 1,024,
    interleaved runs: 300k points 5.09 -> 4.99 s, 100k polygons 1.92 -> 1.84 s, the service's CPU unchanged.
    Counted: uploads in several event loop threads share the interpreter's setting.
    """
    global _streaming
    with _switch_lock:
        if not _streaming:
            sys.setswitchinterval(SWITCH_S)
        _streaming += 1
    try:
        yield
    finally:
        with _switch_lock:
            _streaming -= 1
            if not _streaming:
                sys.setswitchinterval(_switch_default)


@dataclass
class Outcome:
    """Status and counts of a finished upload."""

    status: str  # committed | rejected | dry_run
    counts: Counts
    message: str = ""  # written with the report, from the final counts


@dataclass
class Staged:
    """Staging rows (ord, present-mask, class, *values of `fields`, wkb, anchor, src_geom) of a batch or a
    segment.

    `fields` are the indices (in `PropertyRules.fields`) of the values a row carries: a batch checked down
    its columns stages the fields the file gives and those with a default, not the ~20 others that would be
    NULL in every row; COPY leaves those NULL (one segment's rows share their fields).
    """

    fields: tuple[int, ...]
    rows: list[tuple]

    def at(self, field: int | None) -> int | None:
        """Where a field's value is in a row, or None when the rows do not carry it (NULL)."""
        i = _index(self.fields, field)
        return None if i is None else 3 + i


async def rebatch(batches: AsyncIterator[list[Any]], size: int | None = None) -> AsyncIterator[list[Any]]:
    """Regroup the reader's lists (one per body chunk) into lists of about `size` (BATCH) features."""
    size = size or BATCH
    buf: list[Any] = []
    async for features in batches:
        if not buf and len(features) >= size:
            buf = features  # the reader's own list: no copy, and no second reference left here to free
        else:
            buf.extend(features)
            features.clear()  # a reference each, not the features (`buf` holds them)
        del features
        if len(buf) >= size:
            yield buf
            buf = []
    if buf:
        yield buf


def _check_and_release(
    features: list[Any],
    start: int,
    rules: PropertyRules,
    kind: str,
    src_crs: str,
    settings: Settings,
    sink: IssueSink,
) -> Staged:
    """`batch_rows` of a batch, then the batch's parsed features freed here, a slice at a time (`release`)."""
    geoms = GeometryBatch(kind, src_crs, settings.max_vertices)
    staged = batch_rows(features, start, rules, geoms, settings, sink)
    del geoms
    release(features)
    return staged


def release(items: list[Any], piece: int = 256) -> None:
    """Empty a big list a slice at a time.

    Freed at once, in one bytecode, the ~40 objects of each parsed polygon held the GIL for ~3 µs a feature,
    and the event loop, answering the database, waited that long; between slices another thread may take it.
    """
    while items:
        del items[-piece:]


async def release_soon(items: list[Any], piece: int = 1024) -> None:
    """`release` on the event loop while it waits for the database: a slice per turn of the loop."""
    while items:
        del items[-piece:]
        await asyncio.sleep(0)


def batch_rows(
    features: list[Any],
    start: int,
    rules: PropertyRules,
    geoms: GeometryBatch,
    settings: Settings,
    sink: IssueSink,
) -> Staged:
    """Staging rows for the valid features of one batch; issues of the others go to the sink."""
    if fast := _by_columns(features, start, rules, geoms, settings):
        out, issues = fast
        sink.add(issues)
        return out
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
        values, mask, cls = row
        pending.append((idx, mask, cls, values))
    out = []
    if pending:
        finished = geoms.finish(settings.storage_srid, settings.extent)
        out = _with_geometry(pending, finished, rules, issues, rules.all_fields)
    sink.add(issues)
    return Staged(rules.all_fields, out)


def _with_geometry(
    pending: list[tuple[int, int, str | None, Any]],
    finished: Finished,
    rules: PropertyRules,
    issues: list[Issue],
    fields: tuple[int, ...],
) -> list[tuple]:
    """Staging rows of the (index, mask, class, values of `fields`) whose geometry was added, in order; a
    geometry the batch's `finish` refuses (outside the city, invalid) becomes an issue instead."""
    code_at = _index(fields, rules.code_at)
    out = []
    for (idx, mask, cls, values), wkb, problem, anchor, src in zip(
        pending, finished.wkb, finished.problems, finished.anchors, finished.sources
    ):
        if problem is not None:
            code = values[code_at] if code_at is not None else None
            issues.append(Issue("geometry", problem[0], problem[1], idx, code))
        else:
            out.append((idx, mask, cls, *values, wkb, anchor, src))
    return out


def _index(fields: tuple[int, ...], field: int | None) -> int | None:
    """A field's place among the values of rows carrying `fields`, or None."""
    return fields.index(field) if field in fields else None


def _by_columns(
    features: list[Any], start: int, rules: PropertyRules, geoms: GeometryBatch, settings: Settings
) -> tuple[Staged, list[Issue]] | None:
    """`batch_rows` for a batch of well-formed features whose properties all pass (`rules.columns`):
    the same rows and geometry issues, without going through each feature's properties one by one."""
    props = [
        f.get("properties") if type(f) is dict and f.get("type") == "Feature" else None for f in features
    ]
    if set(map(type, props)) != {dict}:
        return None
    found = rules.columns(props)
    if found is None:
        return None
    cols, mask, classes = found
    codes = cols[rules.code_at] if rules.code_at is not None else [None] * len(features)
    # The fields the file gives, and those with a default: any other is NULL in every row.
    fields = tuple(i for i, d in enumerate(rules.defaults) if mask >> i & 1 or d is not None)
    issues: list[Issue] = []
    added = []
    for k, feat in enumerate(features):
        problem = geoms.add(feat.get("geometry"))
        if problem is None:
            added.append(k)
        else:
            issues.append(Issue("geometry", problem[0], problem[1], start + k, codes[k]))
    if not added:
        return Staged(fields, []), issues
    n = len(features)
    finished = geoms.finish(settings.storage_srid, settings.extent)
    staged = [cols[i] for i in fields]
    if len(added) == n and finished.problems.count(None) == n:
        rows = list(
            zip(
                range(start, start + n),
                [mask] * n,
                classes,
                *staged,
                finished.wkb,
                finished.anchors,
                finished.sources,
            )
        )
        return Staged(fields, rows), issues
    values = list(zip(*staged))
    pending = [(start + k, mask, classes[k], values[k]) for k in added]
    return Staged(fields, _with_geometry(pending, finished, rules, issues, fields)), issues


def _code(rules: PropertyRules, values: list[Any]) -> str | None:
    return values[rules.code_at] if rules.code_at is not None else None


async def checked(
    batches: AsyncIterator[list[Any]],
    rules: PropertyRules,
    src_crs: str,
    settings: Settings,
    sink: IssueSink,
    counts: Counts,
    seen: SeenKeys | None,
    key: str | None,
) -> AsyncIterator[Staged]:
    """Staging rows of each batch of the body, checked in a thread of the upload's own while the body arrives.

    The event loop only passes each batch to the thread and each checked batch back. Checked by a worker per
    batch instead (`asyncio.to_thread`), each batch cost the loop a chain of steps (the executor's future, the
    reader, the regrouping), in which the loop often waited several ms for the GIL while the database waited
    for the loop: 100,000 polygons, interleaved runs, 1.98 -> 1.89 s and 1.87 -> 1.81 s; 300,000 points
    5.12 -> 5.08 s. The thread asks for each batch when it is ready for it (reading ahead on the loop's side
    made no difference), and at most CHECKED_AHEAD checked batches wait.
    """
    loop = asyncio.get_running_loop()
    kind = rules.collection.geometry_type or "Point"
    source = rebatch(batches)
    todo: queue.Queue[Any] = queue.Queue()  # batches (or _END, or the reader's error) for the thread
    wanted = asyncio.Semaphore(0)  # the thread asks for each batch when it is ready for it
    out: asyncio.Queue[Any] = asyncio.Queue()  # checked batches (or _END, or an error) for the consumer
    room = threading.Semaphore(CHECKED_AHEAD)  # checked batches the consumer has not taken yet
    stop = threading.Event()
    finished: concurrent.futures.Future[None] = concurrent.futures.Future()

    async def feed() -> None:
        try:
            while True:
                await wanted.acquire()
                features = await anext(source, _END)
                todo.put(features)
                if features is _END:
                    return
        except Exception as exc:  # noqa: BLE001 (a reader's error: raised by the consumer, in order)
            todo.put(exc)

    def hand_over(item: Any) -> None:
        if not stop.is_set():
            loop.call_soon_threadsafe(out.put_nowait, item)

    def work() -> None:
        try:
            while not stop.is_set():
                loop.call_soon_threadsafe(wanted.release)
                features = todo.get()
                if features is _END or isinstance(features, BaseException) or stop.is_set():
                    hand_over(features)
                    return
                received = len(features)
                staged = _check_and_release(features, counts.received, rules, kind, src_crs, settings, sink)
                counts.received += received
                if seen is not None and key is not None:
                    staged.rows = _first_only(staged, rules, key, seen, sink)
                while not room.acquire(timeout=0.5):
                    if stop.is_set():
                        return
                hand_over(staged)
        except BaseException as exc:  # noqa: BLE001 (raised on the event loop, by the consumer)
            hand_over(exc)
        finally:
            finished.set_result(None)

    feeding = asyncio.ensure_future(feed())
    threading.Thread(target=work, daemon=True, name="upload-checks").start()
    try:
        while (item := await out.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            room.release()
            if item.rows:
                yield item
    finally:
        stop.set()
        feeding.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await feeding
        todo.put(_END)  # wakes the thread if it waits for a batch
        room.release()  # or for room
        await asyncio.wrap_future(finished)
        await source.aclose()
        # The reader too (its parser thread stops): closing `rebatch` leaves it open.
        close = getattr(batches, "aclose", None)
        if close is not None:
            await close()


async def segments(batches: AsyncIterator[Staged], limit: int | None = None) -> AsyncIterator[Staged]:
    """Segments of the checked batches: whatever is checked when the database asks for more (one batch at
    least, `limit` (SEGMENT) rows at most, all sharing their fields).

    Pulled rather than sized ahead: the batches are checked (`checked`'s thread) while the database works,
    and each segment takes what is there. Sized ahead (2,048 doubling to 16,384), each segment took as long
    to check as the database took over the one before plus its growth, so the database waited for the file
    ~0.2 s in 100,000 polygons (service and database there work at about the same rate). A segment ends
    where a batch brings other fields (the staging COPY names one set of columns).
    """
    limit = limit or SEGMENT
    ready: deque[Staged] = deque()
    queued = 0
    arrived = asyncio.Event()  # a batch is ready, or the batches have ended
    taken = asyncio.Event()  # rows were taken: room for more

    async def produce() -> None:
        nonlocal queued
        async for staged in batches:
            while queued >= limit:  # one segment waiting is enough: memory stays flat
                taken.clear()
                await taken.wait()
            ready.append(staged)
            queued += len(staged.rows)
            arrived.set()

    producer = asyncio.ensure_future(produce())
    producer.add_done_callback(lambda _: arrived.set())
    try:
        while True:
            if producer.done():
                producer.result()  # a failure of the checks ends the upload now
            if not ready:
                if producer.done():
                    return
                arrived.clear()
                await arrived.wait()
                continue
            first = ready.popleft()
            rows = first.rows
            if len(rows) > limit:
                ready.appendleft(Staged(first.fields, rows[limit:]))
                rows = rows[:limit]
            while ready and ready[0].fields == first.fields and len(rows) + len(ready[0].rows) <= limit:
                rows += ready.popleft().rows
            queued -= len(rows)
            taken.set()
            yield Staged(first.fields, rows)
    finally:
        if not producer.done():
            producer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await producer
        close = getattr(batches, "aclose", None)
        if close is not None:
            await close()


def _first_only(
    staged: Staged, rules: PropertyRules, key: str, seen: SeenKeys, sink: IssueSink
) -> list[tuple]:
    """Drop (and report) rows whose match key appeared earlier in the file: the first one is used."""
    rows = staged.rows
    at = staged.at(rules.position[key])
    if at is None:  # no row has a key: none is a repeat
        return rows
    code_at = staged.at(rules.code_at)
    keep, issues = [], []
    for row, first in zip(rows, seen.first([r[at] for r in rows])):
        if first:
            keep.append(row)
        else:
            message = f"{key} {row[at]} appears earlier in the file; only the first one is used"
            issues.append(
                Issue(key, "duplicate_in_file", message, row[0], None if code_at is None else row[code_at])
            )
    if issues:
        sink.add(issues, kind="duplicate_in_file")
    return keep


@dataclass
class Stream:
    """One upload's merge state across segments."""

    conn: asyncpg.Connection
    sql: UploadSQL
    info: UploadInfo
    counts: Counts
    sink: IssueSink
    writing: bool = True  # atomic mode stops writing at the first refused feature
    db_seconds: float = 0.0
    copy_seconds: float = 0.0  # of which staging (COPY)

    @contextmanager
    def _timed(self) -> Iterator[None]:
        """Time spent waiting for the database (the report's `database` seconds)."""
        clock = time.perf_counter()
        try:
            yield
        finally:
            self.db_seconds += time.perf_counter() - clock

    async def run(self, statement: str, *args: Any) -> str:
        with self._timed():
            return await self.conn.execute(statement, *args)

    async def fetchrow(self, statement: str, *args: Any) -> asyncpg.Record:
        with self._timed():
            return await self.conn.fetchrow(statement, *args)

    async def copy(self, segment: Staged) -> None:
        clock = time.perf_counter()
        columns = self.sql.stage_columns(segment.fields)
        with self._timed():
            await self.conn.copy_records_to_table("stg", columns=columns, records=segment.rows)
        self.copy_seconds += time.perf_counter() - clock


async def run(
    conn: asyncpg.Connection,
    collection: Collection,
    principal: AuthPrincipal,
    info: UploadInfo,
    source: Source,
    settings: Settings,
    request_id: str,
) -> Outcome:
    """The whole upload in one transaction: a crash at any point leaves the registry untouched.

    The file is merged segment by segment, so the database checks and writes one segment while
    the service parses the next (two cores busy instead of one after the other). A refused atomic
    upload or a dry run rolls the whole transaction back and records its report in a new one. The
    first load of an empty collection builds its spatial index once at the end (`spatial_index`).
    """
    orgs = frozenset(
        r["code"] for r in await conn.fetch("SELECT code FROM organisations WHERE retired_at IS NULL")
    )
    rules = PropertyRules(collection, settings, orgs, text=source.text, dbf_names=source.dbf_names)
    sql = UploadSQL(rules, info.match)
    counts, sink = Counts(), IssueSink()
    # Decided before the transaction: the index is dropped in a transaction of its own.
    deferred = None if info.dry_run else await spatial_index.defer(conn, sql.table)
    try:
        return await _run_in_transaction(
            Stream(conn, sql, info, counts, sink), principal, source, settings, request_id, deferred
        )
    finally:
        if deferred is not None:
            await deferred.release(conn)


async def _run_in_transaction(
    st: Stream,
    principal: AuthPrincipal,
    source: Source,
    settings: Settings,
    request_id: str,
    deferred: spatial_index.Deferred | None,
) -> Outcome:
    """Stream, check and merge in one transaction; a deferred spatial index is built before the commit."""
    conn, info, sink = st.conn, st.info, st.sink
    tx = conn.transaction()
    await tx.start()
    try:
        outcome = await _stream(st, principal, source, settings, request_id)
        if outcome.status == "committed":
            if deferred is not None:
                clock = time.perf_counter()
                await deferred.build(conn)
                outcome.counts.seconds["spatial_index"] = round(time.perf_counter() - clock, 3)
            await _report(conn, info, outcome, sink)
        else:
            await sink.spool_from(conn, "iss")
    except BaseException:
        await tx.rollback()
        raise
    if outcome.status == "committed":
        await tx.commit()
        return outcome
    await tx.rollback()
    async with conn.transaction():
        await conn.execute(ISSUES_DDL)
        await _report(conn, info, outcome, sink)
    return outcome


async def _report(conn: asyncpg.Connection, info: UploadInfo, outcome: Outcome, sink: IssueSink) -> None:
    """Final counts from every issue (the file's and the database's), the message, the stored report."""
    await sink.copy_to(conn)
    found = await conn.fetchrow(COUNT_SQL)
    c = outcome.counts
    c.rejected, c.duplicated, c.near_duplicates = (
        found["rejected"],
        found["duplicated"],
        found["near_duplicates"],
    )
    if outcome.status == "rejected":
        outcome.message = (
            f"{c.rejected + c.duplicated:,} of {c.received:,} features were refused: nothing was written "
            "(mode=atomic)"
        )
    elif outcome.status == "dry_run":
        outcome.message = "dry run: validated and counted, nothing was written"
    else:
        outcome.message = (
            f"{c.inserted:,} inserted, {c.updated:,} updated, {c.unchanged:,} unchanged, "
            f"{c.rejected:,} rejected"
        )
    await save(conn, info, outcome.status, c, outcome.message)


async def _stream(
    st: Stream, principal: AuthPrincipal, source: Source, settings: Settings, request_id: str
) -> Outcome:
    """Stage, check and merge each segment; allocate codes for the waiting features at the end."""
    conn, sql, info, counts = st.conn, st.sql, st.info, st.counts
    c = sql.collection
    # Big uploads outlive the pool's per-statement timeout; history triggers read these settings.
    await conn.execute("SET LOCAL statement_timeout = 0")
    await conn.execute("SET LOCAL work_mem = '256MB'")
    owner = principal.owner if c.scope_owner_field else None
    districts = list(principal.districts) if principal.districts and c.scope_district_field else None
    await conn.execute(
        SETTINGS_SQL, info.actor, request_id, info.id, owner, districts, settings.near_duplicate_m
    )
    for ddl in (sql.stage_ddl(), ISSUES_DDL, SEGMENT_ISSUES_DDL, *sql.work_ddl()):
        await conn.execute(ddl)
    # Decided before the first segment writes anything: in a collection with no row at all there is
    # nothing to be near and no stored record to match or code to meet (`FirstLoad`).
    present = await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {sql.table})")
    near = c.is_asset and present and await conn.fetchval(
        f"SELECT EXISTS (SELECT 1 FROM {sql.table} WHERE retired_at IS NULL)"
    )
    checks = sql.checks_sql(owner is not None, districts is not None, near)
    first = None if present else FirstLoad.of(sql, owner is not None, districts is not None)
    seen = SeenKeys() if info.match else None
    args = (info.actor, info.id, info.crs) if sql.has("source_crs") else (info.actor, info.id)
    clock = time.perf_counter()
    waited = 0.0
    releasing: set[asyncio.Future[None]] = set()  # rows being freed (asyncio keeps only weak references)
    with gc_paused(), quick_handoff():
        produced = checked(source.batches, sql.rules, source.crs, settings, st.sink, counts, seen, info.match)
        async with contextlib.aclosing(segments(produced)) as rows:
            while True:
                tick = time.perf_counter()
                segment = await anext(rows, None)
                waited += time.perf_counter() - tick
                if segment is None:
                    break
                fast = first is not None and first.takes(segment)
                await st.copy(segment)
                staged = len(segment.rows)
                # The segment's rows are freed while the database merges them, not before it is asked to.
                freeing = asyncio.ensure_future(release_soon(segment.rows))
                releasing.add(freeing)
                freeing.add_done_callback(releasing.discard)
                del segment
                if fast and await first.merge(st, staged, args):
                    continue
                await _merge_segment(st, checks, args)
    if info.mode == "atomic" and st.sink.refused:
        st.writing = False  # the file's last features were refused after the last segment was written
    if st.writing and sql.has("asset_code"):
        await st.run(sql.allocate_sql())
        counts.inserted += _rowcount(await st.run(sql.insert_sql(pending=True), *args))
    counts.seconds.update(
        {
            "stream": round(time.perf_counter() - clock, 3),
            "database": round(st.db_seconds, 3),
            "copy": round(st.copy_seconds, 3),
            "waiting_for_file": round(waited, 3),
        }
    )
    if info.mode == "atomic" and not st.writing:
        counts.inserted = counts.updated = counts.unchanged = 0
        return Outcome("rejected", counts)
    if info.dry_run:
        return Outcome("dry_run", counts)
    return Outcome("committed", counts)


@dataclass
class FirstLoad:
    """Segments of a collection that held no row when the upload began: one filtered INSERT each.

    Most of a first load's database time went to the `chk` table, the match and code probes that
    find nothing and the issue pass that finds nothing; `UploadSQL.first_load_sql` inserts the
    clean rows straight from `stg` with the same derivations and rules. Issues are looked for only
    when fewer rows went in than were staged.
    """

    insert: str
    checks: str  # the segment's issues, nothing looked up (`checks_sql(probe=False)`)
    code_field: int | None  # the asset code's field

    @classmethod
    def of(cls, sql: UploadSQL, owner_scope: bool, district_scope: bool) -> FirstLoad:
        return cls(
            sql.first_load_sql(owner_scope, district_scope),
            sql.checks_sql(owner_scope, district_scope, near=False, probe=False),
            sql.rules.code_at,
        )

    def takes(self, segment: Staged) -> bool:
        """Every feature has its code: one without waits in `pend` for an allocated one (the regular path)."""
        if self.code_field is None:
            return True
        at = segment.at(self.code_field)
        return at is not None and all(row[at] is not None for row in segment.rows)

    async def merge(self, st: Stream, staged: int, args: tuple[str, ...]) -> bool:
        """Insert the staged segment; False when it is not for this path (atomic mode has stopped)."""
        if not st.writing or (st.info.mode == "atomic" and st.sink.refused):
            return False
        try:
            inserted = _rowcount(await st.run(self.insert, *args))
        except asyncpg.UniqueViolationError as exc:
            raise Conflict(
                f"{exc.detail or exc}: another writer added this record while the upload ran; nothing was "
                "written. Upload the file again."
            ) from exc
        st.counts.inserted += inserted
        if inserted == staged:
            await st.run("TRUNCATE stg")
            return True
        # Some rows broke a rule: the same rules, run again with their messages, name each of them.
        await st.run(self.checks)
        refused = await st.fetchrow("SELECT count(DISTINCT ord) AS n FROM segiss WHERE kind = 'rejected'")
        if refused["n"] + inserted != staged:
            # Only a change committed by another writer between the two statements (a district's
            # boundary, a referenced record) can part them: refuse rather than lose a feature unreported.
            raise Conflict(
                f"{staged - inserted - refused['n']:,} features of this upload met records changed by "
                "another writer while it ran; nothing was written. Upload the file again."
            )
        if st.info.mode == "atomic":
            st.writing = False
        await st.run(KEEP_ISSUES_SQL)
        return True


async def _merge_segment(st: Stream, checks: str, args: tuple[str, ...]) -> None:
    """Checks of one staged segment, then its writes (unless atomic mode has stopped writing)."""
    refused = await st.run(checks) != "SELECT 0"
    if st.info.mode == "atomic" and (refused or st.sink.refused):
        st.writing = False
    if not st.writing:
        await st.run(KEEP_ISSUES_SQL)
        return
    done = await st.fetchrow(st.sql.write_sql(), *args)
    st.counts.inserted += done["inserted"]
    st.counts.updated += done["updated"]
    st.counts.unchanged += done["matched"] - done["updated"]


def _rowcount(status: str) -> int:
    """Rows of an INSERT/UPDATE command tag ('INSERT 0 12', 'UPDATE 3')."""
    return int(status.rsplit(" ", 1)[1])
