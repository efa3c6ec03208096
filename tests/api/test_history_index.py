"""A feature's history is read through ix_history_feature, keyed (feature_id, version, collection)."""

from __future__ import annotations

QUERY = "SELECT version FROM history WHERE collection = $1 AND feature_id = $2 ORDER BY version, id"


async def test_a_features_history_is_one_range_of_its_index(db):
    # The test database is small: with sequential scans off the plan says which index serves the read.
    await db.execute("SET enable_seqscan = off")
    try:
        plan = "\n".join(r[0] for r in await db.fetch(f"EXPLAIN {QUERY}", "manholes", 1))
    finally:
        await db.execute("RESET enable_seqscan")
    assert "ix_history_feature" in plan, plan
    cond = next(line for line in plan.splitlines() if "Index Cond" in line)
    assert "feature_id" in cond and "collection" in cond, plan
    columns = await db.fetchval(
        "SELECT array_agg(a.attname ORDER BY k.n) FROM pg_index i, unnest(i.indkey) WITH ORDINALITY k(att, n) "
        "JOIN pg_attribute a ON a.attrelid = 'history'::regclass AND a.attnum = k.att "
        "WHERE i.indexrelid = 'ix_history_feature'::regclass"
    )
    assert columns == ["feature_id", "version", "collection"]
