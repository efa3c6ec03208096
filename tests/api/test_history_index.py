"""A feature's history is one range of the history's key, (feature_id, version, collection, id), in order."""

from __future__ import annotations

QUERY = "SELECT version FROM history WHERE collection = $1 AND feature_id = $2 ORDER BY version, id"


async def test_a_features_history_is_one_range_of_the_key_in_order(db):
    # The test database is small: with sequential scans off the plan says which index serves the read.
    await db.execute("SET enable_seqscan = off")
    try:
        plan = "\n".join(r[0] for r in await db.fetch(f"EXPLAIN {QUERY}", "manholes", 1))
    finally:
        await db.execute("RESET enable_seqscan")
    assert "pk_history" in plan and "Sort" not in plan, plan  # the key's order is the reader's order
    cond = next(line for line in plan.splitlines() if "Index Cond" in line)
    assert "feature_id" in cond and "collection" in cond, plan
    columns = await db.fetchval(
        "SELECT array_agg(a.attname ORDER BY k.n) FROM pg_index i, unnest(i.indkey) WITH ORDINALITY k(att, n) "
        "JOIN pg_attribute a ON a.attrelid = 'history'::regclass AND a.attnum = k.att "
        "WHERE i.indrelid = 'history'::regclass AND i.indisprimary"
    )
    assert columns == ["feature_id", "version", "collection", "id"]
    # One B-tree per history row: the key and the upload's BRIN summary, nothing else.
    indexes = await db.fetch("SELECT indexname FROM pg_indexes WHERE tablename = 'history' ORDER BY 1")
    assert [r["indexname"] for r in indexes] == ["ix_history_upload", "pk_history"]
