"""cityassets.coverage.radius: exact service-area coverage of residential land, cached and updated incrementally.

Method (coverage.md §8, GB/T 51346-2019 A.0.3): a parcel's covered share is its area inside the union
of the facilities' service buffers. A facility-driven ST_DWithin join into the GiST index of parcel
centroids gives each parcel's distance to its nearest facility; with the parcel's circumradius that
settles most parcels as fully covered or not covered at all without geometry work; only parcels on a
buffer edge are intersected with the buffers (quad_segs=32, large ones ST_Subdivide'd: coverage.md
pitfalls 3–4). Fractions are kept in coverage_fraction per facility selection ("spec") and 250 m tile of
parcel centroids, and refreshed from the facilities that changed. A cold build first settles the 100 m blocks of
parcels that one facility covers whole (coverage.blocks), so the pairs are only probed for the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

from cityassets.catalogue import COLLECTIONS
from cityassets.coverage import blocks, workers

GREENS = COLLECTIONS["green_spaces"].table.name
TOILETS = COLLECTIONS["toilets"].table.name
FACILITIES = COLLECTIONS["facilities"].table.name
TARGETS = COLLECTIONS["residential_areas"].table.name
DISTRICTS = COLLECTIONS["districts"].table.name
GRID = COLLECTIONS["grid_cells"].table.name
#: Lifecycle states in which an asset serves the public.
IN_USE = ("in_service", "in_service_provisional")
#: Buffers are inscribed polygons: 32 segments per quarter keep a 300 m circle within 9 cm (coverage.md §3.4).
BUFFER = "'quad_segs=32'"
SUBDIVIDE = 256
#: Fractions are stored per square tile of parcel centroids (coverage_fraction): one row per tile, not per parcel.
TILE_M = 250


@dataclass(frozen=True)
class Spec:
    """A facility selection with its service radii: the cache key of the pieces and fractions."""

    key: str
    collection: str
    sql: str  # SELECT id, radius, geom ... with $1.. bound to args
    args: tuple[Any, ...]


def facility_spec(selector: str, p: dict[str, Any], radius: float | None = None) -> Spec:
    """The facility selection named in indicators.yaml, with its parameters bound."""
    r = float(radius if radius is not None else p.get("radius_m", 0))
    if selector == "green":
        classes = list(p["green_classes"])
        return Spec(f"green|r={r:g}|min={p['min_area_m2']:g}|cls={','.join(classes)}", GREENS,
                    f"SELECT id, $1::float8 AS radius, geom FROM {GREENS} WHERE retired_at IS NULL AND is_public "
                    "AND green_class = ANY($2::text[]) AND area_m2 >= $3",
                    (r, classes, float(p["min_area_m2"])))
    if selector == "park_service":
        # GB/T 51346-2019 §4.3.4: ≥ 5000 m² serve 500 m, 2000–5000 m² serve 300 m, ≥ 1000 m² in historic districts.
        classes = list(p["green_classes"])
        vals = (p["large_min_m2"], p["large_radius_m"], p["small_min_m2"], p["small_radius_m"], p["historic_min_m2"])
        return Spec("park_service|" + ",".join(f"{v:g}" for v in vals) + "|cls=" + ",".join(classes), GREENS,
                    "SELECT id, radius, geom FROM (SELECT id, geom, CASE WHEN area_m2 >= $1 THEN $2::float8 "
                    "WHEN area_m2 >= $3 OR (historic_district AND area_m2 >= $5) THEN $4::float8 END AS radius "
                    f"FROM {GREENS} WHERE retired_at IS NULL AND is_public AND green_class = ANY($6::text[])) s "
                    "WHERE radius IS NOT NULL",
                    (*map(float, vals), classes))
    if selector == "toilet":
        access = list(p["access"])
        return Spec(f"toilet|r={r:g}|access={','.join(access)}", TOILETS,
                    f"SELECT id, $1::float8 AS radius, geom FROM {TOILETS} WHERE retired_at IS NULL "
                    "AND status = ANY($2::text[]) AND public_access = ANY($3::text[])",
                    (r, list(IN_USE), access))
    return Spec(f"{selector}|r={r:g}", FACILITIES,
                f"SELECT id, $1::float8 AS radius, geom FROM {FACILITIES} WHERE retired_at IS NULL AND category = $2",
                (r, selector))


def _shift(sql: str, by: int) -> str:
    """Renumber $n placeholders so a selector can follow other bound values."""
    for i in range(9, 0, -1):
        sql = sql.replace(f"${i}", f"${i + by}")
    return sql


async def data_versions(conn: asyncpg.Connection, *collections: str) -> tuple[list[int], str]:
    """Data versions of `collections` (0 for one never written), and of residential land + grid cells as one key
    (collection_stats)."""
    rows = await conn.fetch("SELECT collection, data_version FROM collection_stats WHERE collection = ANY($1::text[])",
                            [*collections, TARGETS, GRID])
    v = {r["collection"]: r["data_version"] for r in rows}
    return [v.get(c, 0) for c in collections], f"{v.get(TARGETS, 0)}:{v.get(GRID, 0)}"


async def versions(conn: asyncpg.Connection, spec: Spec) -> tuple[int, str]:
    """Data version of the facility collection, and of residential land + grid cells."""
    (fv,), tv = await data_versions(conn, spec.collection)
    return fv, tv


async def current_targets(conn: asyncpg.Connection) -> None:
    """Bring coverage_target up to date for a reader without a facility selection (the network graph)."""
    _, tv = await data_versions(conn)
    async with conn.transaction():
        await ensure_targets(conn, tv)


# Per-parcel fractions. m = min over facilities of (distance from the parcel's centroid − radius): every point
# of a parcel lies within its circumradius rho of the centroid, so m ≤ −rho means fully covered, m > rho not at
# all; only the parcels in between are intersected with the buffers. {fac} is the facility set probed and {tgt}
# the parcels: coverage_target with {only} restricting it to a band of centroid x in [$3, $4) (IN_BAND, the
# spatial partition a connection computes), or, in an incremental refresh, cov_aff (the parcels near what
# changed, with their own GiST index: a probe returns only parcels to recompute, 3× fewer than a probe of
# coverage_target filtered by membership, for 100 moved greens). {probe} is a bare box test (the index
# condition of ST_DWithin, REACH or REACH_IN_BAND); the distance is computed once per pair, and a pair farther
# than its parcel's own rho is dropped before the sort, as it decides nothing (29 % of the pairs on the bench
# city, −15 % on the statement). Each parcel's area, population, cell key (its district and grid cell, as one
# integer: coverage_cell) and tile ride along, so the sums need no second pass over the parcels. An edge parcel
# is intersected with each buffer piece whose box overlaps its own, and the small clips are unioned (far cheaper
# than unioning whole buffers around a 20 m parcel); each piece is first cut to the parcel's box (ST_ClipByBox2D:
# linear, no topology), so the exact overlay only sees the few vertices near the parcel (−35 % on that step).
# The parcel lies inside the box, so the intersection is unchanged. In a cold build, {cull} leaves out the parcels of
# the blocks one facility covers whole (`core`, blocks.covered), and {settled} adds them back with fraction 1.
FRACTION_ROWS = f"""
WITH {{core}} m AS MATERIALIZED (
  SELECT x.id, min(x.d) AS m, max(x.rho) AS rho, max(x.area) AS area, max(x.pop) AS pop, max(x.cell) AS cell,
         max(x.tile) AS tile
  FROM {{fac}} f CROSS JOIN LATERAL (SELECT * FROM (
    SELECT t.target_id AS id, ST_Distance(f.geom, t.cent) - f.radius AS d, t.rho, t.area, t.pop, t.cell, t.tile
    FROM {{tgt}} t
    WHERE t.cent && {{probe}} {{only}} {{cull}} OFFSET 0) y WHERE y.d <= y.rho) x
  GROUP BY x.id)
SELECT id AS target_id, 1.0::float8 AS frac, area, pop, cell, tile FROM m WHERE m <= -rho
UNION ALL {{settled}}
SELECT m.id, LEAST(1.0, ST_Area(ST_Union(ST_Intersection(t.geom, ST_ClipByBox2D(p.geom, ST_Expand(t.geom::box2d, 1)))))
                 / m.area), m.area, m.pop, m.cell, m.tile
FROM m JOIN {TARGETS} t ON t.id = m.id JOIN coverage_piece p ON p.spec = $1 AND p.geom && t.geom
WHERE m.m > -m.rho AND m.area > 0
GROUP BY m.id, t.geom, m.area, m.pop, m.cell, m.tile
"""
IN_BAND = "AND t.x >= $3 AND t.x < $4"
# The blocks covered whole ($6, a cold build's strips): probed parcels in them are skipped before their distance is
# computed (a hash anti-join: the block keys spread in the hash, blocks.KEY_STRIDE), and they come back here once
# each, fraction 1, from one scan of the band.
CORE = "core AS MATERIALIZED (SELECT DISTINCT unnest($6::int8[]) AS blk),"
CULL = "AND NOT EXISTS (SELECT FROM core c WHERE c.blk = t.blk)"
SETTLED = ("SELECT t.target_id, 1.0::float8, t.area, t.pop, t.cell, t.tile FROM coverage_target t "
           "WHERE t.blk IN (SELECT blk FROM core) AND t.x >= $3 AND t.x < $4 UNION ALL")
# The probe box: a facility's reach, or in a strip only the part of it inside [$3, $4], so the index does not
# fetch the neighbouring strip's parcels only for the x filter to drop them.
REACH = "ST_Expand(f.geom, f.radius + $2) AND ST_DWithin(t.cent, f.geom, f.radius + t.rho)"
REACH_IN_BAND = ("ST_MakeEnvelope(GREATEST(ST_XMin(f.geom) - f.radius - $2, $3), ST_YMin(f.geom) - f.radius - $2, "
                 "LEAST(ST_XMax(f.geom) + f.radius + $2, $4), ST_YMax(f.geom) + f.radius + $2, ST_SRID(f.geom))")
# The fraction rows (r), the head of both the band and the refresh statements. They are stored one row per tile
# and writer (`part`: the strip, 0 in a refresh), ids and fractions as two arrays aggregated in the same order:
# a row per parcel cost 2-4 us in the btree of (spec, target_id), a fifth of a cold build (migration 0012).
# No entry for a parcel with nothing covered (an edge parcel whose box meets a piece's box but not the piece):
# none means 0 to every reader, as for a parcel out of reach.
WITH_FRACTIONS = "WITH r AS MATERIALIZED (" + FRACTION_ROWS + "), "
INSERT_TILES = ("INSERT INTO coverage_fraction (spec, tile, part, ids, fracs) "
                "SELECT $1, tile, {part}, array_agg(target_id), array_agg(frac) FROM ({rows}) e GROUP BY tile")
#: Every fraction of a spec ($1) as (target_id, frac) rows, for the readers that join them to parcels.
FRACTIONS = ("(SELECT u.target_id, u.frac FROM coverage_fraction cf "
             "CROSS JOIN LATERAL unnest(cf.ids, cf.fracs) AS u(target_id, frac) WHERE cf.spec = $1)")
# A band's fractions and its covered area and population per district/grid cell in one statement: summed from the
# fraction rows themselves (carried columns, no join back to the parcels) per integer cell key, and named by
# coverage_cell at the end (not sorted by two text codes). The land and population totals are the parcel
# table's (coverage_cell), added once by MERGE_SUMS.
BAND = (WITH_FRACTIONS + "ins AS (" + INSERT_TILES.format(part="$5", rows="SELECT * FROM r WHERE frac > 0") + ") "
        "INSERT INTO coverage_sum "
        "(spec, district_code, grid_code, area, covered_area, pop, covered_pop) "
        "SELECT $1, c.district_code, c.grid_code, 0, s.ca, 0, s.cp FROM ("
        "SELECT cell, sum(area * frac) AS ca, sum(pop * frac) AS cp FROM r GROUP BY cell) s "
        "JOIN coverage_cell c USING (cell)")
# Facilities whose reach (radius + the largest circumradius) overlaps the band of centroid x [$3, $4).
BAND_FACILITIES = ("(SELECT * FROM coverage_facility WHERE spec = $1 AND ST_XMax(geom) + radius + $2 >= $3 "
                   "AND ST_XMin(geom) - radius - $2 < $4)")
STRIP = BAND.format(fac=BAND_FACILITIES, tgt="coverage_target", only=IN_BAND, probe=REACH_IN_BAND, core=CORE,
                    cull=CULL, settled=SETTLED)
# One row per district and grid cell once every band has added its covered parts: the cell's land and population
# totals, and the covered parts of all bands (0 where nothing is covered).
MERGE_SUMS = """
WITH d AS (DELETE FROM coverage_sum WHERE spec = $1 RETURNING *),
b AS (SELECT district_code, grid_code, sum(covered_area) AS ca, sum(covered_pop) AS cp FROM d GROUP BY 1, 2)
INSERT INTO coverage_sum (spec, district_code, grid_code, area, covered_area, pop, covered_pop)
SELECT $1, c.district_code, c.grid_code, c.area, coalesce(b.ca, 0), c.pop, coalesce(b.cp, 0)
FROM coverage_cell c LEFT JOIN b ON b.district_code IS NOT DISTINCT FROM c.district_code
  AND b.grid_code IS NOT DISTINCT FROM c.grid_code
"""
# Facilities that can reach a parcel near a changed facility lie within both radii + 2 rho of it.
# $3 = the largest radius of the spec, so the GiST index of coverage_facility serves the probe from each change.
NEAR_CHANGED = ("(SELECT * FROM coverage_facility f WHERE f.spec = $1 AND f.fac_id IN (SELECT n.fac_id FROM cov_moved g "
                "CROSS JOIN LATERAL (SELECT n.fac_id FROM coverage_facility n WHERE n.spec = $1 "
                "AND ST_DWithin(n.geom, g.geom, g.radius + $3 + 2 * $2) "
                "AND ST_DWithin(n.geom, g.geom, n.radius + g.radius + 2 * $2) OFFSET 0) n))")
PIECES = ("INSERT INTO coverage_piece (spec, fac_id, geom) SELECT $1, fac_id, "
          f"ST_Subdivide(ST_Buffer(geom, radius, {BUFFER}), {SUBDIVIDE}) FROM coverage_facility WHERE spec = $1 {{only}}")
# Parcels with their cell key: one integer per distinct (district, grid cell) pair, named in coverage_cell.
TARGET_ROWS = f"""
INSERT INTO coverage_target (target_id, district_code, grid_code, cell, area, pop, cent, rho, tile, x, blk)
SELECT id, district_code, grid_code, dense_rank() OVER (ORDER BY district_code, grid_code), area, pop, cent, rho,
       {blocks.key_sql("x", "y", TILE_M)}, x, {blocks.key_sql("x", "y", blocks.BLOCK_M)} FROM (
  SELECT t.id, t.district_code, g.code AS grid_code, ST_Area(t.geom) AS area, t.population AS pop, c AS cent,
         ST_MaxDistance(c, t.geom) AS rho, ST_X(c) AS x, ST_Y(c) AS y
  FROM {TARGETS} t CROSS JOIN LATERAL ST_Centroid(t.geom) c
  LEFT JOIN LATERAL (SELECT code FROM {GRID} g WHERE g.retired_at IS NULL AND ST_Intersects(g.geom, c) LIMIT 1) g ON true
  WHERE t.retired_at IS NULL AND NOT ST_IsEmpty(t.geom)) s
"""
# Each cell's residential land and population: every indicator's denominators, summed once per parcel table.
CELLS = ("INSERT INTO coverage_cell (cell, district_code, grid_code, area, pop) "
         "SELECT cell, district_code, grid_code, sum(area), sum(pop) FROM coverage_target "
         "GROUP BY cell, district_code, grid_code")
# An incremental refresh in one statement: the recomputed parcels' fractions, written back into their tiles with
# the tiles' other parcels (cov_old holds every entry of the tiles it deleted), and the (new − old) covered area
# and population added to their district/grid sums. The new parts come from the fraction rows themselves (their
# carried columns), the old ones from cov_old, so no parcel is looked up again.
REFRESH = (WITH_FRACTIONS + "ins AS (" + INSERT_TILES.format(
    part="0", rows="SELECT tile, target_id, frac FROM r WHERE frac > 0 UNION ALL SELECT tile, target_id, frac "
                   "FROM cov_old o WHERE NOT EXISTS (SELECT FROM cov_aff a WHERE a.target_id = o.target_id)") + "), "
           "d AS (SELECT cell, sum(a) AS da, sum(p) AS dp FROM ("
           "SELECT cell, area * frac AS a, pop * frac AS p FROM r UNION ALL "
           "SELECT t.cell, -t.area * o.frac, -t.pop * o.frac FROM cov_old o JOIN cov_aff t USING (target_id)) x "
           "GROUP BY cell) "
           "UPDATE coverage_sum s SET covered_area = s.covered_area + d.da, covered_pop = s.covered_pop + d.dp "
           "FROM d JOIN coverage_cell c USING (cell) WHERE s.spec = $1 "
           "AND s.district_code IS NOT DISTINCT FROM c.district_code AND s.grid_code IS NOT DISTINCT FROM c.grid_code"
           ).format(fac=NEAR_CHANGED, tgt="cov_aff", only="", probe=REACH, core="", cull="", settled="")
PER_SPEC = ("coverage_sum", "coverage_fraction", "coverage_piece", "coverage_facility", "coverage_spec")


#: The cold build's strips of centroid x, equal parcel counts each, taken one at a time by whichever connection is
#: free. Two, one per core: 4 and 8 strips were measured too (bench city, interleaved runs) and cost ~10 % more CPU
#: for no shorter wall time, as every facility near a cut is probed from both sides.
STRIPS = 2
_CUT = "targets_cut:"


async def ensure_targets(conn: asyncpg.Connection, version: str) -> tuple[float, list[float]]:
    """Rebuild the parcels' centroids and circumradii when residential land changed.

    Returns the largest circumradius and the centroid-x cut points of the cold build's strips.
    """
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('coverage_target'))")
    have = await conn.fetch("SELECT name, version, value FROM coverage_state WHERE name = 'targets' OR name LIKE $1",
                            _CUT + "%")
    got = {r["name"]: r["value"] for r in have if r["version"] == version}
    if len(got) == len(have) == STRIPS and "targets" in got:
        return got.pop("targets"), [got[k] for k in sorted(got, key=lambda k: int(k[len(_CUT):]))]
    # Emptied and refilled with its index dropped: one sorted GiST build instead of 200k index insertions and
    # 200k dead rows. TRUNCATE locks the table until commit; readers wait for the rebuild, as they would anyway.
    await conn.execute("TRUNCATE coverage_target, coverage_cell, coverage_blocks")
    await conn.execute("DROP INDEX IF EXISTS ix_coverage_target_cent")
    await conn.execute(TARGET_ROWS)
    await conn.execute(CELLS)
    await conn.execute(blocks.PACK)
    await conn.execute("CREATE INDEX ix_coverage_target_cent ON coverage_target USING gist (cent)")
    await conn.execute("ANALYZE coverage_target")
    row = await conn.fetchrow("SELECT coalesce(max(rho), 0) AS rho, percentile_cont($1::float8[]) "
                              "WITHIN GROUP (ORDER BY x) AS cuts FROM coverage_target",
                              [k / STRIPS for k in range(1, STRIPS)])
    cuts = list(row["cuts"] or [0.0] * (STRIPS - 1))  # equal cuts make empty strips, which cost nothing
    names = ["targets", *(f"{_CUT}{k}" for k in range(len(cuts)))]
    await conn.execute("DELETE FROM coverage_state WHERE name = 'targets' OR name LIKE $1", _CUT + "%")
    await conn.execute("INSERT INTO coverage_state (name, version, value) "
                       "SELECT * FROM unnest($1::text[], $2::text[], $3::float8[])",
                       names, [version] * len(names), [row["rho"], *cuts])
    return row["rho"], cuts


async def ensure(conn: asyncpg.Connection, spec: Spec, fractions: bool = True) -> None:
    """Bring the cached buffers (and, when asked, parcel fractions and district sums) of `spec` up to date.

    Outside a caller's transaction, a missing set of fractions is computed in strips of centroid x on this
    connection and a helper connection at once (the machine has 2 cores): parcels, buffers and facilities are
    committed first so the helper sees them, the helper commits its strips while this connection holds the spec's
    lock, and this connection merges the sums and marks the spec current. Inside a caller's transaction
    everything stays on `conn`.
    """
    standalone = not conn.is_in_transaction()
    fv, tv = await versions(conn, spec)
    rho, cuts = 0.0, []
    if fractions:
        async with conn.transaction():
            rho, cuts = await ensure_targets(conn, tv)
    async with conn.transaction():
        await conn.execute(LOCAL_SETTINGS)
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", spec.key)
        row = await conn.fetchrow("SELECT facility_version, target_version FROM coverage_spec WHERE spec = $1", spec.key)
        has_fractions = row is not None and row["target_version"] == tv
        stale = row is not None and row["facility_version"] != fv
        if has_fractions and stale and not fractions:
            rho, cuts = await ensure_targets(conn, tv)
        if row is None:
            await _build(conn, spec, fv)
        elif stale:
            await _refresh(conn, spec, fv, has_fractions, rho)
        if fractions and not has_fractions and not standalone:
            await _fractions(conn, spec, tv, rho)
    if fractions and not has_fractions and standalone:
        helper = await workers.helper(conn) if await _worth_splitting(conn) else None
        try:
            await _fractions_split(conn, helper, spec, tv, rho, cuts)
        finally:
            if helper is not None:
                await workers.release(helper)


# Sorting/hashing 400k facility-parcel pairs in memory instead of on disk; and a plan for each strip's own band and
# blocks: a generic plan of the strip (chosen after five runs on a connection) joined the covered blocks, which it
# cannot count, by nested loops, and a strip ran for 90 s instead of 0.5 s. Planning costs ~1 ms a strip.
LOCAL_SETTINGS = "SET LOCAL work_mem = '128MB'; SET LOCAL plan_cache_mode = force_custom_plan"
#: Below this many parcels a second connection costs more (connecting, planning) than it saves.
SPLIT_MIN_TARGETS = 20_000
INF = float("inf")


async def _worth_splitting(conn: asyncpg.Connection) -> bool:
    n = await conn.fetchval("SELECT reltuples FROM pg_class WHERE oid = 'coverage_target'::regclass")
    return (n or 0) >= SPLIT_MIN_TARGETS


async def _begin_fractions(conn: asyncpg.Connection, spec: Spec, tv: str) -> bool:
    """Take the spec's lock (this transaction); False when another request already computed these fractions."""
    await conn.execute(LOCAL_SETTINGS)
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", spec.key)
    return not await conn.fetchval("SELECT target_version IS NOT DISTINCT FROM $2 FROM coverage_spec WHERE spec = $1",
                                   spec.key, tv)


async def _fractions(conn: asyncpg.Connection, spec: Spec, tv: str, rho: float) -> None:
    """Every parcel's covered fraction and the district/grid sums, in the caller's transaction, on one connection."""
    await conn.execute("DELETE FROM coverage_fraction WHERE spec = $1", spec.key)
    await conn.execute("DELETE FROM coverage_sum WHERE spec = $1", spec.key)
    await band(conn, spec, rho, -INF, INF, 0, await blocks.covered(conn, spec.key))
    await conn.execute(MERGE_SUMS, spec.key)
    await _finish_fractions(conn, spec, tv)


async def band(conn: asyncpg.Connection, spec: Spec, rho: float, lo: float, hi: float, part: int,
               core: list[int]) -> None:
    """Fractions and district/grid sums of the parcels with centroid x in [lo, hi), strip number `part`; `core` are
    the blocks covered whole (blocks.covered)."""
    await conn.execute(STRIP, spec.key, rho, lo, hi, part, core)


async def _finish_fractions(conn: asyncpg.Connection, spec: Spec, tv: str) -> None:
    # Fresh statistics, or the planner expects no fractions for a new spec and nests loops over 200k rows
    # (an incremental refresh then runs for minutes).
    await conn.execute("ANALYZE coverage_fraction")
    await conn.execute("UPDATE coverage_spec SET target_version = $2 WHERE spec = $1", spec.key, tv)


async def _fractions_split(conn: asyncpg.Connection, helper: asyncpg.Connection | None, spec: Spec, tv: str,
                           rho: float, cuts: list[float]) -> None:
    """The same, strip by strip on `conn` and `helper` at the same time (when there is one): each connection takes
    the next strip when it is done with its last one."""
    if helper is None:
        async with conn.transaction():
            if await _begin_fractions(conn, spec, tv):
                await _fractions(conn, spec, tv, rho)
        return
    # Old rows go in a transaction of their own: the helper's inserts must not wait on this one's deletions.
    async with conn.transaction():
        if not await _begin_fractions(conn, spec, tv):
            return
        await conn.execute("DELETE FROM coverage_fraction WHERE spec = $1", spec.key)
        await conn.execute("DELETE FROM coverage_sum WHERE spec = $1", spec.key)
    strips = [(part, lo, hi) for part, (lo, hi) in enumerate(zip([-INF, *cuts], [*cuts, INF], strict=True))]
    core = await blocks.covered(conn, spec.key)

    async def strip(c: asyncpg.Connection, s: tuple[int, float, float]) -> None:
        part, lo, hi = s
        await band(c, spec, rho, lo, hi, part, core)

    async with conn.transaction():
        # Holding the lock while the helper writes: a second request waits, then finds the work done. Should
        # this transaction fail, the helper's committed strips stay with target_version unset and are deleted
        # first by the next attempt.
        if not await _begin_fractions(conn, spec, tv):
            return
        await workers.in_turn(conn, helper, strips, strip, setup=LOCAL_SETTINGS)
        await conn.execute(MERGE_SUMS, spec.key)
        await _finish_fractions(conn, spec, tv)


async def _build(conn: asyncpg.Connection, spec: Spec, fv: int) -> None:
    for table in PER_SPEC:
        await conn.execute(f"DELETE FROM {table} WHERE spec = $1", spec.key)
    await conn.execute("INSERT INTO coverage_spec (spec, facility_version, target_version) VALUES ($1, $2, NULL)",
                       spec.key, fv)
    await conn.execute("INSERT INTO coverage_facility (spec, fac_id, radius, geom) SELECT $1, id, radius, geom "
                       f"FROM ({_shift(spec.sql, 1)}) s WHERE radius > 0", spec.key, *spec.args)
    await conn.execute(PIECES.format(only=""), spec.key)
    await conn.execute("ANALYZE coverage_piece, coverage_facility")


async def _refresh(conn: asyncpg.Connection, spec: Spec, fv: int, with_fractions: bool, rho: float) -> None:
    """Replace only the facilities that changed, and recompute only the parcels within their reach."""
    await conn.execute("CREATE TEMP TABLE cov_cur ON COMMIT DROP AS SELECT id AS fac_id, radius, geom "
                       f"FROM ({_shift(spec.sql, 0)}) s WHERE radius > 0", *spec.args)
    await conn.execute(
        "CREATE TEMP TABLE cov_changed ON COMMIT DROP AS SELECT coalesce(c.fac_id, o.fac_id) AS fac_id "
        "FROM cov_cur c FULL JOIN (SELECT * FROM coverage_facility WHERE spec = $1) o USING (fac_id) "
        "WHERE c.fac_id IS NULL OR o.fac_id IS NULL OR c.radius <> o.radius OR NOT (c.geom = o.geom)", spec.key)
    # The changed ids as an array: each table is probed by (spec, fac_id), not read for the whole spec to match.
    changed = "AND fac_id = ANY(ARRAY(SELECT fac_id FROM cov_changed))"
    # Old and new positions of what changed: the parcels within their reach are recomputed below, and the gap
    # polygons near them by gaps.ensure_district_gaps (in this transaction).
    await conn.execute(
        "CREATE TEMP TABLE cov_moved ON COMMIT DROP AS "
        f"SELECT geom, radius FROM coverage_facility WHERE spec = $1 {changed} "
        f"UNION ALL SELECT geom, radius FROM cov_cur WHERE true {changed}", spec.key)
    if with_fractions:
        # A parcel farther than radius + its own rho from both positions of every changed facility keeps its
        # fraction: no point of it was or is inside those buffers. The probe's own rows are kept, deduplicated
        # by a sort: fetching each parcel again by key (an IN) cost twice as much (100 moved greens on the
        # bench city: 190-210 against 88-92 ms).
        await conn.execute(
            "CREATE TEMP TABLE cov_aff ON COMMIT DROP AS SELECT DISTINCT ON (t.target_id) t.* FROM cov_moved g "
            "CROSS JOIN LATERAL (SELECT t.* FROM coverage_target t WHERE ST_DWithin(t.cent, g.geom, g.radius + $1) "
            "AND ST_DWithin(t.cent, g.geom, g.radius + t.rho) OFFSET 0) t ORDER BY t.target_id", rho)
        # A key for the deletion below and the old fractions' join: an index probe whatever join the planner
        # picks, never a scan of cov_aff per parcel (minutes, with statistics of a truncated cache).
        await conn.execute("ALTER TABLE cov_aff ADD PRIMARY KEY (target_id)")
        await conn.execute("CREATE INDEX ON cov_aff USING gist (cent)")
        # Key statistics only: PostGIS's geometry histogram of cent cost ~30 ms a spec and no plan here needs it.
        await conn.execute("ANALYZE cov_aff (target_id)")
    await conn.execute(f"DELETE FROM coverage_piece WHERE spec = $1 {changed}", spec.key)
    await conn.execute(f"DELETE FROM coverage_facility WHERE spec = $1 {changed}", spec.key)
    await conn.execute("INSERT INTO coverage_facility (spec, fac_id, radius, geom) SELECT $1, fac_id, radius, geom "
                       f"FROM cov_cur WHERE true {changed}", spec.key)
    await conn.execute(PIECES.format(only=changed), spec.key)
    if with_fractions:
        # The tiles of the parcels recomputed, taken out whole: their old fractions for the district sums' delta,
        # and the entries of their other parcels, written back by REFRESH. Probed by key (the tiles as an array):
        # as a join, the spec's every row was read to hash-match the affected ones, a cost that grows with the city
        # rather than with the edit.
        await conn.execute("CREATE TEMP TABLE cov_old (tile bigint, target_id bigint, frac float8) ON COMMIT DROP")
        await conn.execute("WITH d AS (DELETE FROM coverage_fraction WHERE spec = $1 AND tile = ANY(ARRAY("
                           "SELECT DISTINCT tile FROM cov_aff)) RETURNING tile, ids, fracs) INSERT INTO cov_old "
                           "SELECT d.tile, u.target_id, u.frac FROM d CROSS JOIN LATERAL unnest(d.ids, d.fracs) "
                           "AS u(target_id, frac)", spec.key)
        rmax = await conn.fetchval("SELECT coalesce(max(radius), 0) FROM coverage_facility WHERE spec = $1", spec.key)
        await conn.execute(REFRESH, spec.key, rho, rmax)
    await conn.execute("UPDATE coverage_spec SET facility_version = $2 WHERE spec = $1", spec.key, fv)


async def residential(conn: asyncpg.Connection, spec: Spec, district: str | None) -> list[dict[str, Any]]:
    """Per district (and the city, total=true): land area, population, and the covered parts."""
    await ensure(conn, spec)
    rows = [dict(r, total=False) for r in await conn.fetch(
        "SELECT district_code, sum(area) AS area, sum(covered_area) AS covered_area, sum(pop) AS pop, "
        "sum(covered_pop) AS covered_pop FROM coverage_sum WHERE spec = $1 AND ($2::text IS NULL OR district_code = $2) "
        "GROUP BY district_code ORDER BY district_code", spec.key, district)]
    city = {k: sum(r[k] for r in rows) for k in ("area", "covered_area", "pop", "covered_pop")}
    return [*rows, {"district_code": None, "total": True, **city}]


async def residential_grid(conn: asyncpg.Connection, spec: Spec, district: str | None) -> list[asyncpg.Record]:
    """The same per unit grid cell (by parcel centroid); call after residential()."""
    return await conn.fetch(
        "SELECT grid_code, district_code, area, covered_area, pop, covered_pop FROM coverage_sum "
        "WHERE spec = $1 AND grid_code IS NOT NULL AND ($2::text IS NULL OR district_code = $2) ORDER BY grid_code",
        spec.key, district)


async def built_up(conn: asyncpg.Connection, spec: Spec, district: str | None) -> list[asyncpg.Record]:
    """Per district: district land area and the part inside the union of service areas."""
    await ensure(conn, spec, fractions=False)
    return await conn.fetch(
        "SELECT d.code AS district_code, false AS total, ST_Area(d.geom) AS area, "
        "coalesce(ST_Area(ST_Intersection(d.geom, u.g)), 0) AS covered_area, NULL::float8 AS pop, "
        "NULL::float8 AS covered_pop "
        f"FROM {DISTRICTS} d CROSS JOIN LATERAL (SELECT ST_Union(p.geom) AS g FROM coverage_piece p "
        "WHERE p.spec = $1 AND ST_Intersects(p.geom, d.geom)) u "
        "WHERE d.retired_at IS NULL AND ($2::text IS NULL OR d.code = $2) ORDER BY d.code",
        spec.key, district)
