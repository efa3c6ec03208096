"""cityassets.coverage.gaps: what a service-radius indicator leaves uncovered (服务盲区), as GeoJSON in CRS84."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from cityassets.coverage import network, radius, workers
from cityassets.coverage.catalogue import get_indicator
from cityassets.errors import InvalidRequest

# Residential parcels minus the union of the service-area pieces that touch them; population pro rata by area.
PARCEL_GAPS = f"""
SELECT t.id AS target_id, t.district_code, ST_AsGeoJSON(ST_Transform(x.g, 4326), 7) AS geometry,
       ST_Area(x.g) AS area_m2, t.population * ST_Area(x.g) / NULLIF(ST_Area(t.geom), 0) AS population
FROM {radius.TARGETS} t LEFT JOIN {radius.FRACTIONS} f ON f.target_id = t.id
CROSS JOIN LATERAL (SELECT CASE WHEN f.frac IS NULL THEN t.geom ELSE ST_Difference(t.geom,
    (SELECT ST_Union(p.geom) FROM coverage_piece p WHERE p.spec = $1 AND ST_Intersects(p.geom, t.geom))) END AS g) x
WHERE t.retired_at IS NULL AND coalesce(f.frac, 0) < 1 AND ($2::text IS NULL OR t.district_code = $2)
  AND NOT ST_IsEmpty(x.g) AND ST_Area(x.g) > 0.01
ORDER BY area_m2 DESC LIMIT $3
"""


# District land outside every service area (toilet gap > 500 m, bus-stop gaps on built-up land), kept in
# coverage_gap per facility selection with the population of the parcels whose centroid lies in each gap (object
# method). The centroids are probed with each whole gap: consecutive tests against one polygon reuse PostGIS's
# prepared geometry, which beat probing ST_Subdivide(gap, 64) pieces (bench city: 57 -> 27 ms; doubled,
# 170 -> 88 ms; same sums). Only the pieces that meet the district itself are unioned, not every piece in its
# box: a third fewer pieces, -27 % on the statement at both scales of the bench city, the same gaps.
def _gaps(land: str) -> str:
    """The gap polygons of `land` (rows of district_code, land, covered: the union of the pieces over it) and their
    population, inserted into coverage_gap: the tail of the full build and of the update near changes."""
    return f"""
g AS MATERIALIZED (
  SELECT row_number() OVER () AS gid, district_code, g FROM (
    SELECT l.district_code, (ST_Dump(coalesce(ST_Difference(l.land, l.covered), l.land))).geom AS g FROM ({land}) l) x
  WHERE ST_Dimension(g) = 2 AND ST_Area(g) > 0.01),
pop AS (SELECT g.gid, sum(t.pop) AS pop FROM g JOIN coverage_target t ON ST_Intersects(g.g, t.cent) GROUP BY g.gid)
INSERT INTO coverage_gap (spec, district_code, area, pop, geom)
SELECT $1, g.district_code, ST_Area(g.g), coalesce(pop.pop, 0), g.g FROM g LEFT JOIN pop USING (gid)
"""


DISTRICT_GAPS = "WITH " + _gaps(
    f"SELECT d.code AS district_code, d.geom AS land, u.g AS covered FROM {radius.DISTRICTS} d "
    "CROSS JOIN LATERAL (SELECT ST_Union(p.geom) AS g FROM coverage_piece p "
    "WHERE p.spec = $1 AND ST_Intersects(p.geom, d.geom)) u WHERE d.retired_at IS NULL "
    "AND ($2::text IS NULL OR d.code = $2)")
# The same after facilities moved (cov_moved: the old and new positions of what changed, from the pieces' refresh
# in this transaction), redone only where it can differ. Boxes b hold every old and new service area of a change
# (+1 m). A gap polygon whose box meets none of them is still a whole gap: no service area that changed overlapped
# or touched it, and no other one did before or does now. The others are deleted, and their land with the boxes'
# district land is the region redone: its gaps are that region minus the pieces meeting a box (outside the boxes,
# the deleted gaps' land met no unchanged piece but along their edges). A new gap cannot run out of that region:
# any old gap it would join touches a box, so it was deleted and is inside. The pieces are found from the boxes
# (`near`, once), not per district from its whole box. 100 moved toilets, refresh + gaps on the bench city:
# 0.65 -> 0.36 s; doubled, 1.32 -> 0.54 s (docs/benchmarks.md, indicators round 7).
NEAR_CHANGES = f"""
WITH b AS MATERIALIZED (SELECT ST_Expand(geom, radius + 1) AS box FROM cov_moved),
old AS (DELETE FROM coverage_gap o WHERE o.spec = $1 AND EXISTS (SELECT 1 FROM b WHERE b.box && o.geom)
        RETURNING o.district_code, o.geom),
w AS MATERIALIZED (
  SELECT d.code AS district_code, d.geom, (SELECT ST_Union(x.g) FROM (
      SELECT o.geom AS g FROM old o WHERE o.district_code = d.code
      UNION ALL SELECT ST_Intersection(b.box, d.geom) FROM b WHERE b.box && d.geom) x) AS land
  FROM {radius.DISTRICTS} d WHERE d.retired_at IS NULL AND EXISTS (SELECT 1 FROM b WHERE b.box && d.geom)),
near AS MATERIALIZED (SELECT DISTINCT ON (p.ctid) p.geom FROM b
  CROSS JOIN LATERAL (SELECT p.ctid, p.geom FROM coverage_piece p WHERE p.spec = $1 AND p.geom && b.box) p),
""" + _gaps("SELECT w.district_code, w.land, u.g AS covered FROM w CROSS JOIN LATERAL "
            "(SELECT ST_Union(n.geom) AS g FROM near n WHERE ST_Intersects(n.geom, w.geom)) u")
# Gap land and its population per district, and for the city (total), from the stored gap polygons.
GAP_TOTALS = """
SELECT district_code, GROUPING(district_code) = 1 AS total, sum(area) AS area, sum(pop) AS pop
FROM coverage_gap WHERE spec = $1 AND ($2::text IS NULL OR district_code = $2) GROUP BY ROLLUP (district_code)
"""
CACHED_GAPS = """
SELECT NULL::bigint AS target_id, district_code, ST_AsGeoJSON(ST_Transform(geom, 4326), 7) AS geometry,
       area AS area_m2, pop AS population
FROM coverage_gap WHERE spec = $1 AND ($2::text IS NULL OR district_code = $2) ORDER BY area DESC LIMIT $3
"""


# Whole parcels (method=network is the object method: a parcel is reached or not), largest first.
NETWORK_GAPS = f"""
SELECT t.id AS target_id, t.district_code, ST_AsGeoJSON(ST_Transform(t.geom, 4326), 7) AS geometry,
       ST_Area(t.geom) AS area_m2, t.population::float8 AS population
FROM {radius.TARGETS} t WHERE t.id = ANY($1::bigint[]) ORDER BY area_m2 DESC, t.id LIMIT $2
"""


async def gap_rows(conn: asyncpg.Connection, indicator_id: str, overrides: dict[str, Any], district: str | None,
                   limit: int, method: str = "euclidean") -> list[asyncpg.Record]:
    """Gap polygons of a radius indicator (or of toilet density: land farther than gap_radius_m from a toilet)."""
    ind = get_indicator(indicator_id)
    if ind.rule not in ("radius_coverage", "point_density"):
        raise InvalidRequest(f"indicator '{ind.id}' has no gap map (only service-radius indicators and toilet density)")
    if not 1 <= limit <= 100_000:
        raise InvalidRequest("limit must be within [1, 100000]")
    if method not in ("euclidean", "network"):
        raise InvalidRequest("method must be one of euclidean, network")
    p = ind.bind(overrides)
    if method == "network":
        if ind.rule != "radius_coverage" or p.get("denominator") == "built_up":
            raise InvalidRequest("method=network gaps are residential parcels: only service-radius indicators with "
                                 "denominator=residential have them")
        _, dem = await network.uncovered(conn, radius.facility_spec(ind.facilities, p), district)
        return await conn.fetch(NETWORK_GAPS, [int(i) for i in dem["id"]], limit)
    if ind.rule == "point_density" or p.get("denominator") == "built_up":
        spec = radius.facility_spec(ind.facilities, p, p.get("gap_radius_m"))
        await ensure_district_gaps(conn, spec)
        return await conn.fetch(CACHED_GAPS, spec.key, district, limit)
    spec = radius.facility_spec(ind.facilities, p)
    await radius.ensure(conn, spec)
    return await conn.fetch(PARCEL_GAPS, spec.key, district, limit)


async def totals(conn: asyncpg.Connection, spec: radius.Spec, district: str | None) -> dict[str | None, asyncpg.Record]:
    """Gap area (m²) and population per district code, and for the city under None (the gaps brought up to date)."""
    await ensure_district_gaps(conn, spec)
    return {None if r["total"] else r["district_code"]: r for r in await conn.fetch(GAP_TOTALS, spec.key, district)}


async def ensure_district_gaps(conn: asyncpg.Connection, spec: radius.Spec) -> None:
    """Bring the city's gap polygons of `spec` up to date: redone near the facilities that moved when only they
    changed since, rebuilt when the districts or parcels changed (or the gaps were never computed)."""
    name = f"gaps|{spec.key}"
    (fv, dv), tv = await radius.data_versions(conn, spec.collection, radius.DISTRICTS)
    # Current already (the common case): built from pieces of the facilities as they are now.
    stored = await conn.fetchval("SELECT version FROM coverage_state WHERE name = $1", name)
    if stored == f"{fv}:{dv}:{tv}":
        return
    # Built for other districts or parcels, or never: outside a caller's transaction, rebuilt on two connections.
    if (stored is None or stored.split(":", 1)[1] != f"{dv}:{tv}") and not conn.is_in_transaction():
        await _rebuild_split(conn, spec, name, f"{dv}:{tv}")
        return
    async with conn.transaction():
        # Lock order as in radius.ensure (parcels, then the spec). The pieces are refreshed in this transaction,
        # under the spec's lock: their changes (cov_moved) are still here, and no other request moves them between.
        await radius.ensure_targets(conn, tv)
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", spec.key)
        before = await _pieces_version(conn, spec)
        await radius.ensure(conn, spec, fractions=False)
        after = await _pieces_version(conn, spec)
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", name)
        stored = await conn.fetchval("SELECT version FROM coverage_state WHERE name = $1", name)
        version = f"{after}:{dv}:{tv}"
        if stored == version:
            return
        if before is not None and before != after and stored == f"{before}:{dv}:{tv}":
            await conn.execute(NEAR_CHANGES, spec.key)
        else:
            await conn.execute("DELETE FROM coverage_gap WHERE spec = $1", spec.key)
            await conn.execute(DISTRICT_GAPS, spec.key, None)
        await _store(conn, name, version)


async def _rebuild_split(conn: asyncpg.Connection, spec: radius.Spec, name: str, places: str) -> None:
    """Every district's gaps from scratch, districts taken in turn by this connection and a helper (2 cores).

    The pieces are brought up to date and committed first, so the helper reads them; this transaction then holds
    the spec's lock (no refresh moves them meanwhile) and the gaps' lock (a second request waits, then finds the
    work done) while both connections insert. Should it fail, the helper's committed rows stay with the old
    version and are deleted by the next rebuild.
    """
    await radius.current_targets(conn)
    await radius.ensure(conn, spec, fractions=False)
    # Largest first, so the last district a connection takes is a short one.
    codes = [r["code"] for r in await conn.fetch(
        f"SELECT code FROM {radius.DISTRICTS} WHERE retired_at IS NULL ORDER BY ST_Area(geom) DESC, code")]
    helper = await workers.helper(conn) if len(codes) > 1 else None
    try:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", spec.key)
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", name)
            version = f"{await _pieces_version(conn, spec)}:{places}"
            if await conn.fetchval("SELECT version FROM coverage_state WHERE name = $1", name) == version:
                return
            # Before the helper starts: a later statement here must not see (and delete) its committed rows.
            await conn.execute("DELETE FROM coverage_gap WHERE spec = $1", spec.key)

            async def district(c: asyncpg.Connection, code: str) -> None:
                await c.execute(DISTRICT_GAPS, spec.key, code)

            await workers.in_turn(conn, helper, codes, district)
            await _store(conn, name, version)
    finally:
        if helper is not None:
            await workers.release(helper)


async def _store(conn: asyncpg.Connection, name: str, version: str) -> None:
    await conn.execute("INSERT INTO coverage_state (name, version) VALUES ($1, $2) "
                       "ON CONFLICT (name) DO UPDATE SET version = EXCLUDED.version", name, version)


async def _pieces_version(conn: asyncpg.Connection, spec: radius.Spec) -> int | None:
    """The facility data version the spec's buffer pieces were built from (None: never built)."""
    return await conn.fetchval("SELECT facility_version FROM coverage_spec WHERE spec = $1", spec.key)


def feature_collection(indicator_id: str, rows: list[asyncpg.Record], method: str = "euclidean") -> dict[str, Any]:
    """GeoJSON FeatureCollection (RFC 7946, CRS84), largest gap first."""
    feats = [{"type": "Feature", "geometry": json.loads(r["geometry"]),
              "properties": {"district_code": r["district_code"], "target_id": r["target_id"],
                             "area_m2": round(r["area_m2"], 1),
                             "population": None if r["population"] is None else round(r["population"], 1)}}
             for r in rows]
    return {"type": "FeatureCollection", "indicator": indicator_id, "method": method, "numberReturned": len(feats),
            "features": feats}
