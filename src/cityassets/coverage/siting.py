"""cityassets.coverage.siting: where to build next, by greedy maximal coverage of the uncovered population.

Demand = each residential parcel's uncovered population (population × (1 − covered fraction)) at
its centroid; candidate sites = road vertices (intersections and bends), or a half-radius
grid when there are no roads. Greedy selection gives at least (1 − 1/e) of the optimum
(Nemhauser, Wolsey & Fisher 1978; Church & ReVelle 1974 maximal covering location problem).
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import numpy as np
from scipy import sparse
from scipy.spatial import cKDTree

from cityassets.catalogue import COLLECTIONS
from cityassets.coverage import network, radius
from cityassets.coverage.catalogue import get_indicator
from cityassets.errors import InvalidRequest

DEMAND = f"""
SELECT ST_X(t.cent) AS x, ST_Y(t.cent) AS y, t.pop * (1 - coalesce(f.frac, 0)) AS pop,
       t.area * (1 - coalesce(f.frac, 0)) AS area
FROM coverage_target t LEFT JOIN {radius.FRACTIONS} f ON f.target_id = t.target_id
WHERE coalesce(f.frac, 0) < 1 AND ($2::text IS NULL OR t.district_code = $2)
"""
SITES = f"""
SELECT DISTINCT ST_X(v) AS x, ST_Y(v) AS y FROM (
  SELECT (ST_DumpPoints(geom)).geom AS v FROM {COLLECTIONS['roads'].table.name}
  WHERE retired_at IS NULL AND walkable AND ($1::text IS NULL OR district_code = $1)) s
"""


def _radius_of(p: dict[str, Any]) -> float:
    # A new park is planned at the large size, so it serves the large radius (GB/T 51346-2019 §4.3.4).
    return float(p.get("radius_m") or p["large_radius_m"])


def cover_matrix(sites: np.ndarray, demand: np.ndarray, r: float) -> sparse.csr_matrix:
    """Which demand points lie within Euclidean distance r of each site (sites × demand, 0/1)."""
    tree = cKDTree(demand)
    hits = tree.query_ball_point(sites, r)
    rows = np.repeat(np.arange(len(sites)), [len(h) for h in hits])
    cols = np.fromiter((j for h in hits for j in h), dtype=np.int64, count=len(rows))
    return sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(sites), len(demand)))


def greedy_cover(a: sparse.csr_matrix, weight: np.ndarray, count: int) -> list[tuple[int, float]]:
    """Up to `count` (site row, gain) pairs of the cover matrix, each covering the most still-uncovered weight."""
    w = weight.astype(float).copy()
    out: list[tuple[int, float]] = []
    for _ in range(count):
        if a.shape[0] == 0:
            break
        gains = a @ w
        best = int(np.argmax(gains))
        if gains[best] <= 0:
            break
        out.append((best, float(gains[best])))
        w[a.getrow(best).indices] = 0.0
    return out


def greedy(sites: np.ndarray, demand: np.ndarray, weight: np.ndarray, r: float, count: int) -> list[tuple[int, float]]:
    """Up to `count` (site index, gain) pairs, each covering the most still-uncovered weight within r."""
    return greedy_cover(cover_matrix(sites, demand, r), weight, count)


async def candidates(conn: asyncpg.Connection, indicator_id: str, overrides: dict[str, Any], district: str | None,
                     count: int, method: str = "euclidean") -> dict[str, Any]:
    """N suggested sites with the population (or land area) each newly covers."""
    ind = get_indicator(indicator_id)
    if ind.rule != "radius_coverage":
        raise InvalidRequest(f"indicator '{ind.id}' has no siting answer (only service-radius indicators do)")
    if not 1 <= count <= 100:
        raise InvalidRequest("count must be within [1, 100]")
    if method not in ("euclidean", "network"):
        raise InvalidRequest("method must be one of euclidean, network")
    p = ind.bind(overrides)
    spec = radius.facility_spec(ind.facilities, p)
    r = _radius_of(p)
    if method == "network":
        return await _network_candidates(conn, ind.id, spec, district, count, r)
    await radius.ensure(conn, spec)
    dem = await conn.fetch(DEMAND, spec.key, district)
    sites = np.array([(s["x"], s["y"]) for s in await conn.fetch(SITES, district)], dtype=float).reshape(-1, 2)
    pts = np.array([(d["x"], d["y"]) for d in dem], dtype=float).reshape(-1, 2)
    pop = np.array([d["pop"] for d in dem], dtype=float)
    # Parcels without recorded population still count by land area, so the answer is never empty.
    by_pop = pop.sum() > 0
    weight = pop if by_pop else np.array([d["area"] for d in dem], dtype=float)
    if len(sites) == 0 and len(pts):
        lo, hi = pts.min(axis=0) - r / 2, pts.max(axis=0) + r / 2
        gx, gy = np.meshgrid(np.arange(lo[0], hi[0] + 1, r / 2), np.arange(lo[1], hi[1] + 1, r / 2))
        sites = np.column_stack([gx.ravel(), gy.ravel()])
    picks = greedy(sites, pts, weight, r, count) if len(pts) and len(sites) else []
    return await _answer(conn, ind.id, r, district, "euclidean", by_pop, float(weight.sum()),
                         [(sites[i], gain) for i, gain in picks])


async def _network_candidates(conn: asyncpg.Connection, indicator_id: str, spec: radius.Spec, district: str | None,
                              count: int, r: float) -> dict[str, Any]:
    """The same along the roads: demand = parcels no facility reaches within its radius, sites = road nodes."""
    g, dem = await network.uncovered(conn, spec, district)
    pop = dem["pop"].to_numpy(float)
    by_pop = pop.sum() > 0
    weight = pop if by_pop else dem["area"].to_numpy(float)
    nodes, a = await asyncio.to_thread(network.site_cover, g, dem, r)
    picks = greedy_cover(a, weight, count)
    xy = network.node_xy(g) if picks else np.zeros((0, 2))
    return await _answer(conn, indicator_id, r, district, "network", by_pop, float(weight.sum()),
                         [(xy[nodes[i]], gain) for i, gain in picks])


async def _answer(conn: asyncpg.Connection, indicator_id: str, r: float, district: str | None, method: str,
                  by_pop: bool, total: float, picks: list[tuple[np.ndarray, float]]) -> dict[str, Any]:
    """Ranked sites in CRS84 with their gains."""
    srid = COLLECTIONS["roads"].table.c.geom.type.srid  # type: ignore[attr-defined]
    lonlat = await conn.fetch(
        "SELECT ST_X(g) AS lon, ST_Y(g) AS lat FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY u(x, y, i) "
        "CROSS JOIN LATERAL (SELECT ST_Transform(ST_SetSRID(ST_MakePoint(u.x, u.y), $3::int), 4326) AS g) t ORDER BY u.i",
        [float(xy[0]) for xy, _ in picks], [float(xy[1]) for xy, _ in picks], srid)
    cum, out = 0.0, []
    for rank, ((_, gain), ll) in enumerate(zip(picks, lonlat, strict=True), start=1):
        cum += gain
        out.append({"rank": rank, "geometry": {"type": "Point", "coordinates": [round(ll["lon"], 7), round(ll["lat"], 7)]},
                    "gain": round(gain, 1), "cumulative_gain": round(cum, 1),
                    "share_of_uncovered": None if not total else round(100 * cum / total, 3)})
    return {"id": indicator_id, "radius_m": r, "method": method, "weight": "population" if by_pop else "area_m2",
            "district": district, "uncovered": round(total, 1), "candidates": out}
