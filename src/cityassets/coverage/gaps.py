"""cityassets.coverage.gaps: what a service-radius indicator leaves uncovered (服务盲区), as GeoJSON in CRS84."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from cityassets.coverage import network, radius
from cityassets.coverage.catalogue import get_indicator
from cityassets.errors import InvalidRequest

# Residential parcels minus the union of the service-area pieces that touch them; population pro rata by area.
PARCEL_GAPS = f"""
SELECT t.id AS target_id, t.district_code, ST_AsGeoJSON(ST_Transform(x.g, 4326), 7) AS geometry,
       ST_Area(x.g) AS area_m2, t.population * ST_Area(x.g) / NULLIF(ST_Area(t.geom), 0) AS population
FROM {radius.TARGETS} t LEFT JOIN coverage_fraction f ON f.spec = $1 AND f.target_id = t.id
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
DISTRICT_GAPS = f"""
WITH g AS MATERIALIZED (
  SELECT row_number() OVER () AS gid, district_code, g FROM (
    SELECT d.code AS district_code, (ST_Dump(coalesce(ST_Difference(d.geom, u.g), d.geom))).geom AS g
    FROM {radius.DISTRICTS} d CROSS JOIN LATERAL (SELECT ST_Union(p.geom) AS g FROM coverage_piece p
         WHERE p.spec = $1 AND ST_Intersects(p.geom, d.geom)) u
    WHERE d.retired_at IS NULL) x
  WHERE ST_Dimension(g) = 2 AND ST_Area(g) > 0.01),
pop AS (SELECT g.gid, sum(t.pop) AS pop FROM g JOIN coverage_target t ON ST_Intersects(g.g, t.cent) GROUP BY g.gid)
INSERT INTO coverage_gap (spec, district_code, area, pop, geom)
SELECT $1, g.district_code, ST_Area(g.g), coalesce(pop.pop, 0), g.g FROM g LEFT JOIN pop USING (gid)
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


async def ensure_district_gaps(conn: asyncpg.Connection, spec: radius.Spec) -> None:
    """Recompute the city's gap polygons of `spec` when the facilities, districts or parcels changed since."""
    await radius.ensure(conn, spec, fractions=False)
    (fv, dv), tv = await radius.data_versions(conn, spec.collection, radius.DISTRICTS)
    name, version = f"gaps|{spec.key}", f"{fv}:{dv}:{tv}"
    async with conn.transaction():
        await radius.ensure_targets(conn, tv)
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", name)
        if await conn.fetchval("SELECT version = $2 FROM coverage_state WHERE name = $1", name, version):
            return
        await conn.execute("DELETE FROM coverage_gap WHERE spec = $1", spec.key)
        await conn.execute(DISTRICT_GAPS, spec.key)
        await conn.execute("INSERT INTO coverage_state (name, version) VALUES ($1, $2) "
                           "ON CONFLICT (name) DO UPDATE SET version = EXCLUDED.version", name, version)


def feature_collection(indicator_id: str, rows: list[asyncpg.Record], method: str = "euclidean") -> dict[str, Any]:
    """GeoJSON FeatureCollection (RFC 7946, CRS84), largest gap first."""
    feats = [{"type": "Feature", "geometry": json.loads(r["geometry"]),
              "properties": {"district_code": r["district_code"], "target_id": r["target_id"],
                             "area_m2": round(r["area_m2"], 1),
                             "population": None if r["population"] is None else round(r["population"], 1)}}
             for r in rows]
    return {"type": "FeatureCollection", "indicator": indicator_id, "method": method, "numberReturned": len(feats),
            "features": feats}
