"""Plan shapes of an upload's per-segment statements on a target table that already holds records.

Each segment must reach the stored records through indexes. Joined plainly, the planner hashed the whole target
table for every segment (its statistics were those of the empty table the upload was filling), so a bulk load
re-read everything the earlier segments wrote: O(n²) in the file size. Plan text, not time, is asserted.
"""

from __future__ import annotations

from cityassets.catalogue import COLLECTIONS
from cityassets.ingest.properties import PropertyRules
from cityassets.ingest.sql import ISSUES_DDL, SEGMENT_ISSUES_DDL, UploadSQL

# The trap as a bulk load meets it: statistics of an empty target (its rows deleted in this transaction, then
# analysed), then 20,000 manholes written (the transaction is rolled back): hundreds of pages that a per-segment
# hash or scan would read whole, against a few index probes.
FILL = """
INSERT INTO manholes (asset_code, district_code, utility_type, geom)
SELECT '4101020102' || lpad(g::text, 6, '0'), '410102', 'sewage', ST_SetSRID(ST_MakePoint(469000 + g % 200, 3847000 + g / 200), 4547)
FROM generate_series(900000, 919999) g
"""


# A staged segment of 16,384 new features ({code}: their asset codes, for the coded collections).
STAGE = """
INSERT INTO stg (ord, present, {cols}wkb)
SELECT g, 0, {code}ST_AsEWKB(ST_SetSRID(ST_MakePoint(469000 + g % 200, 3848000), 4547))
FROM generate_series(1, 16384) g
"""


async def _plan_after_staging(db, sql: UploadSQL, *args: object, write: bool = False) -> str:
    """EXPLAIN of the segment's checks (or, checked, of its writes), in a transaction rolled back after."""
    tx = db.transaction()
    await tx.start()
    try:
        await db.execute(f"DELETE FROM {sql.table}")
        await db.execute(f"ANALYZE {sql.table}")
        await db.execute(FILL)
        for ddl in (sql.stage_ddl(), ISSUES_DDL, SEGMENT_ISSUES_DDL, *sql.work_ddl()):
            await db.execute(ddl)
        coded = sql.has("asset_code")
        await db.execute(STAGE.format(cols="asset_code, " if coded else "",
                                      code="'4101020102' || lpad(g::text, 6, '0'), " if coded else ""))
        if write:
            await db.execute(sql.check_sql())
        statement = sql.write_sql() if write else sql.check_sql()
        return "\n".join(r[0] for r in await db.fetch(f"EXPLAIN {statement}", *args))
    finally:
        await tx.rollback()


async def test_checks_probe_the_stored_records_by_their_code_index(db, settings):
    sql = UploadSQL(PropertyRules(COLLECTIONS["manholes"], settings, frozenset()), "asset_code")
    plan = await _plan_after_staging(db, sql)
    assert "Seq Scan on manholes" not in plan, plan
    assert "uq_manholes_asset_code" in plan, plan


async def test_writes_reach_matched_records_by_primary_key(db, settings):
    sql = UploadSQL(PropertyRules(COLLECTIONS["manholes"], settings, frozenset()), "asset_code")
    plan = await _plan_after_staging(db, sql, "tester", "upload-1", "CRS84", write=True)
    assert "Seq Scan on manholes" not in plan, plan
    assert "pk_manholes" in plan, plan


async def test_insert_only_writes_do_not_touch_the_stored_records(db, settings):
    sql = UploadSQL(PropertyRules(COLLECTIONS["green_spaces"], settings, frozenset()), None)
    plan = await _plan_after_staging(db, sql, "tester", "upload-1", write=True)
    assert "Update on" not in plan and "Scan on green_spaces" not in plan, plan
