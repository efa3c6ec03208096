"""cityassets.coverage.network: walking-network service radii (method=network) on the registry's roads.

One Dijkstra per distinct service radius from a virtual super-source wired to every facility's access
points ("gates": the closest point of each walkable road within GATE_M of the facility, plus the nearest
road), as coverage.md §6 c1/c4 (scipy csgraph; same numbers as pgr_drivingDistance). A parcel's distance is
its centroid's leg to the nearest road + the path + the gate's leg; a parcel counts as covered when
that distance is within the facility's radius (object method: a network has no exact area overlay).
Graph, snaps and gates are cached in memory per data version of roads, parcels and facilities.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse.csgraph import dijkstra

from cityassets.catalogue import COLLECTIONS
from cityassets.coverage import radius

ROADS = COLLECTIONS["roads"].table.name
#: A facility is reached from a road passing within this distance of it (coverage.md §1 definition).
GATE_M = 40.0
#: A parcel centroid first looks for its nearest road among the roads within this distance (most find it there).
SNAP_PROBE_M = 150.0
#: Nearest-road candidates closer than this to each other are settled by the exact tree search.
SNAP_EPS_M = 1e-6
#: One parcel as _targets packs it: id, area, population, then its centroid as XDR WKB.
TARGET_ROW = np.dtype([("id", ">i8"), ("area", ">f8"), ("pop", ">f8"), ("wkb_header", "V5"), ("x", ">f8"),
                       ("y", ">f8")])


@dataclass
class Graph:
    """Walkable roads as a graph, and every parcel snapped to its nearest road."""

    lines: np.ndarray  # shapely LineStrings
    tree: shapely.STRtree
    u: np.ndarray
    v: np.ndarray
    length: np.ndarray
    n_nodes: int
    targets: pd.DataFrame  # id, district_code, area, pop, edge, t, leg


_graphs: dict[tuple[Any, ...], Graph] = {}
_gates: dict[tuple[Any, ...], pd.DataFrame] = {}


async def _version(conn: asyncpg.Connection, collection: str) -> int:
    return await conn.fetchval("SELECT coalesce(max(data_version), 0) FROM collection_stats WHERE collection = $1", collection)


async def graph(conn: asyncpg.Connection) -> Graph:
    """The cached road graph and parcel snaps, rebuilt when roads or parcels changed."""
    key = (await conn.fetchval("SELECT current_database()"), await _version(conn, ROADS),
           await _version(conn, radius.TARGETS))
    if key in _graphs:
        return _graphs[key]
    g = await _build(conn)
    _graphs.clear()
    _graphs[key] = g
    return g


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside: building the graph and gates makes (and drops) objects per parcel
    and road, and each full collection walks every live object, so collections there cost more than linearly."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


async def _build(conn: asyncpg.Connection) -> Graph:
    """The road graph and every parcel's snap to its nearest road."""
    # Parcels first: asyncpg holds a query's rows until the connection's next query, so the roads query frees
    # the row per parcel while the collector is paused (else its first passes would walk them all).
    t = await _targets(conn)
    roads = await conn.fetch(f"SELECT ST_AsBinary(geom) AS g FROM {ROADS} WHERE retired_at IS NULL AND walkable "
                             "AND NOT ST_IsEmpty(geom)")
    lines = shapely.from_wkb([r["g"] for r in roads]) if roads else np.array([], dtype=object)
    ends = np.vstack([shapely.get_coordinates(shapely.get_point(lines, 0)),
                      shapely.get_coordinates(shapely.get_point(lines, -1))]) if len(lines) else np.zeros((0, 2))
    # Road ends within 1 cm are one node (a junction).
    _, node = np.unique(np.round(ends, 2), axis=0, return_inverse=True)
    node = node.ravel()
    n = len(lines)
    tree = shapely.STRtree(lines)
    if n and len(t):
        xy = t[["x", "y"]].to_numpy(float)
        pts = shapely.points(xy)
        pi, ei, leg = _nearest(lines, tree, pts, xy)
        t.loc[pi, "edge"], t.loc[pi, "leg"] = ei, leg
        t["t"] = shapely.line_locate_point(lines[t["edge"].to_numpy(int)], pts)
    else:
        t["edge"], t["leg"], t["t"] = -1, np.inf, 0.0
    return Graph(lines, tree, node[:n], node[n:], shapely.length(lines), int(node.max()) + 1 if n else 0, t)


async def _targets(conn: asyncpg.Connection) -> pd.DataFrame:
    """Live residential parcels: id, district_code, area, pop, centroid x, y (from coverage_target, the parcels
    the Euclidean engine keeps: their centroids are computed once per version of the residential land, not per
    graph build; -0.2 s at scale 1, -0.4 s doubled)."""
    await radius.current_targets(conn)
    # The numbers travel as one packed big-endian record per row (int8send, float8send, the centroid's XDR WKB)
    # that numpy reads in one go: a Python object per value (and a dict per row for the DataFrame) made this the
    # slowest step of the build.
    rows = await conn.fetch("SELECT district_code, int8send(target_id) || float8send(area) || float8send(pop) "
                            "|| ST_AsBinary(cent, 'XDR') AS v FROM coverage_target")
    v = np.frombuffer(b"".join([r["v"] for r in rows]), dtype=TARGET_ROW)
    return pd.DataFrame({"id": v["id"].astype(np.int64), "district_code": [r["district_code"] for r in rows],
                         **{c: v[c].astype(float) for c in ("area", "pop", "x", "y")}},
                        columns=["id", "district_code", "area", "pop", "x", "y"])


def _nearest(lines: np.ndarray, tree: shapely.STRtree, pts: np.ndarray,
             xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each point's (coordinates xy) nearest line and distance, as tree.query_nearest(pts, return_distance=True,
    all_matches=False) returns them.

    The tree's nearest-neighbour search costs a priority-queue walk per point. Instead each point takes the
    segments whose box, grown by SNAP_PROBE_M, holds it (a box-only query) and measures them with array
    arithmetic. Where one line is nearest by more than SNAP_EPS_M and lies within the probe, that is the
    tree's answer too; ties (the tree keeps the first it visits) and points with no road in the probe ask the tree.
    """
    c, owner = shapely.get_coordinates(lines, return_index=True)
    seg = np.flatnonzero(owner[1:] == owner[:-1])  # segment k runs from c[k] to c[k + 1] of line owner[k]
    (ax, ay), (bx, by) = c[seg].T, c[seg + 1].T
    pi, si = shapely.STRtree(shapely.box(np.minimum(ax, bx) - SNAP_PROBE_M, np.minimum(ay, by) - SNAP_PROBE_M,
                                         np.maximum(ax, bx) + SNAP_PROBE_M, np.maximum(ay, by) + SNAP_PROBE_M)).query(pts)
    dx, dy = (bx - ax)[si], (by - ay)[si]
    wx, wy = xy[pi, 0] - ax[si], xy[pi, 1] - ay[si]
    len2 = dx * dx + dy * dy
    along = np.clip(np.divide(wx * dx + wy * dy, len2, out=np.zeros(len(pi)), where=len2 > 0), 0.0, 1.0)
    d = np.hypot(wx - along * dx, wy - along * dy)
    best = np.full(len(pts), np.inf)
    np.minimum.at(best, pi, d)
    near = d <= best[pi] + SNAP_EPS_M
    line = owner[seg[si[near]]]
    first, last = np.full(len(pts), len(lines)), np.full(len(pts), -1)
    np.minimum.at(first, pi[near], line)
    np.maximum.at(last, pi[near], line)
    sure = (best + SNAP_EPS_M <= SNAP_PROBE_M) & (first == last)
    (fi, fe), fleg = tree.query_nearest(pts[~sure], return_distance=True, all_matches=False)
    i = np.concatenate([np.flatnonzero(sure), np.flatnonzero(~sure)[fi]])
    e = np.concatenate([first[sure], fe])
    leg = np.concatenate([shapely.distance(pts[sure], lines[first[sure]]), fleg])
    order = np.argsort(i)
    return i[order], e[order], leg[order]


async def gates(conn: asyncpg.Connection, g: Graph, spec: radius.Spec) -> pd.DataFrame:
    """Access points of the selected facilities: edge, position along it (m), leg (m), radius."""
    key = (id(g), spec.key, await _version(conn, spec.collection))
    if key in _gates:
        return _gates[key]
    rows = await conn.fetch(f"SELECT radius, ST_AsBinary(geom) AS g FROM ({spec.sql}) s WHERE radius > 0", *spec.args)
    out = pd.DataFrame(columns=["edge", "pos", "leg", "radius"])
    if rows and len(g.lines):
        fac = shapely.from_wkb([r["g"] for r in rows])
        rad = np.array([r["radius"] for r in rows], dtype=float)
        fi, ei = g.tree.query(fac, predicate="dwithin", distance=GATE_M)
        (nfi, nei), _ = g.tree.query_nearest(fac, return_distance=True, all_matches=False)
        fi, ei = np.concatenate([fi, nfi]), np.concatenate([ei, nei])
        near = shapely.shortest_line(g.lines[ei], fac[fi])
        pos = shapely.line_locate_point(g.lines[ei], shapely.get_point(near, 0))
        out = pd.DataFrame({"edge": ei, "pos": pos, "leg": shapely.length(near), "radius": rad[fi]}).drop_duplicates()
    _gates.clear()
    _gates[key] = out
    return out


def distances(g: Graph, gt: pd.DataFrame, r: float) -> np.ndarray:
    """Network distance (≤ r, else inf) from each parcel centroid to the nearest gate of radius r."""
    gt = gt[gt["radius"] == r]
    t = g.targets
    if gt.empty or t.empty or not len(g.lines):
        return np.full(len(t), np.inf)
    s = g.n_nodes  # the virtual super-source
    e, pos, leg = gt["edge"].to_numpy(int), gt["pos"].to_numpy(float), gt["leg"].to_numpy(float)
    src = np.concatenate([g.u, g.v, np.full(len(e), s), np.full(len(e), s)])
    dst = np.concatenate([g.v, g.u, g.u[e], g.v[e]])
    w = np.concatenate([g.length, g.length, leg + pos, leg + g.length[e] - pos])
    m = sparse.csr_matrix((np.maximum(w, 1e-9), (src, dst)), shape=(s + 1, s + 1))
    d = dijkstra(m, directed=True, indices=s, limit=r)
    edge, tt, tleg = t["edge"].to_numpy(int), t["t"].to_numpy(float), t["leg"].to_numpy(float)
    best = np.minimum(d[g.u[edge]] + tt, d[g.v[edge]] + g.length[edge] - tt)
    # A gate on the parcel's own edge is reached along the edge, without passing a node.
    same = pd.DataFrame({"i": np.arange(len(t)), "edge": edge, "t": tt}).merge(
        pd.DataFrame({"edge": e, "pos": pos, "leg": leg}), on="edge")
    if not same.empty:
        same["d"] = (same["t"] - same["pos"]).abs() + same["leg"]
        m2 = same.groupby("i")["d"].min()
        best[m2.index.to_numpy()] = np.minimum(best[m2.index.to_numpy()], m2.to_numpy())
    return best + tleg


async def coverage(conn: asyncpg.Connection, spec: radius.Spec) -> tuple[Graph, np.ndarray]:
    """The graph and, per parcel (rows of graph.targets), whether a facility is within its radius along the network."""
    with _gc_paused():
        g = await graph(conn)
        gt = await gates(conn, g, spec)
    covered = np.zeros(len(g.targets), dtype=bool)
    for r in sorted(gt["radius"].unique()):
        covered |= distances(g, gt, float(r)) <= r
    return g, covered


async def residential(conn: asyncpg.Connection, spec: radius.Spec, district: str | None) -> list[dict[str, Any]]:
    """Rows like radius.residential, covered = parcels within their facility's radius along the network."""
    g, covered = await coverage(conn, spec)
    t = g.targets.assign(cov=covered)
    if district is not None:
        t = t[t["district_code"] == district]
    t = t.assign(covered_area=t["area"] * t["cov"], covered_pop=t["pop"] * t["cov"])
    cols = ["area", "covered_area", "pop", "covered_pop"]
    rows = [{"district_code": k, "total": False, **{c: float(v[c]) for c in cols}}
            for k, v in t.groupby("district_code", dropna=False)[cols].sum().iterrows()]
    rows.append({"district_code": None, "total": True, **{c: float(t[c].sum()) for c in cols}})
    return rows


async def uncovered(conn: asyncpg.Connection, spec: radius.Spec, district: str | None) -> tuple[Graph, pd.DataFrame]:
    """The parcels no facility reaches within its radius along the network (whole parcels: the object method)."""
    g, covered = await coverage(conn, spec)
    t = g.targets[~covered]
    if district is not None:
        t = t[t["district_code"] == district]
    return g, t


def site_cover(g: Graph, demand: pd.DataFrame, r: float, chunk: int = 512) -> tuple[np.ndarray, sparse.csr_matrix]:
    """Candidate sites (road nodes, a new facility's gate) and which demand parcels each reaches within r.

    Sites are the nodes some demand parcel reaches within r (one bounded Dijkstra from all of them at once).
    A parcel hangs off both ends of its road: from node u at t + leg, from node v at length − t + leg. Those
    entries are sorted per node by that offset, so for a site that reaches a node at distance d the parcels
    it reaches through that node are one slice (offset ≤ r − d), found for all (site, node) pairs at once.
    """
    n = len(demand)
    if demand.empty or not len(g.lines):
        return np.zeros(0, dtype=int), sparse.csr_matrix((0, n))
    edge = demand["edge"].to_numpy(int)
    tt, leg = demand["t"].to_numpy(float), demand["leg"].to_numpy(float)
    length = g.length[edge]
    node = np.concatenate([g.u[edge], g.v[edge]])
    offset = np.concatenate([tt + leg, length - tt + leg])
    parcel = np.concatenate([np.arange(n), np.arange(n)])
    keep = offset <= r
    node, offset, parcel = node[keep], offset[keep], parcel[keep]
    big = 4.0 * r + 1.0  # keys node * big + offset sort by node, then offset
    order = np.lexsort((offset, node))
    node, offset, parcel = node[order], offset[order], parcel[order]
    key = node * big + offset
    start = np.searchsorted(node, np.arange(g.n_nodes))
    s = g.n_nodes  # virtual source wired to every parcel's entry nodes
    src = np.concatenate([g.u, g.v, np.full(len(node), s)])
    dst = np.concatenate([g.v, g.u, node])
    w = np.concatenate([g.length, g.length, offset])
    m = sparse.csr_matrix((np.maximum(w, 1e-9), (src, dst)), shape=(s + 1, s + 1))
    sites = np.flatnonzero(np.isfinite(dijkstra(m, directed=True, indices=s, limit=r)[:s]))
    net = m[:s, :s]
    rows, cols = [], []
    for i in range(0, len(sites), chunk):
        d = dijkstra(net, directed=True, indices=sites[i:i + chunk], limit=r)
        k, v = np.nonzero(np.isfinite(d))
        lo = start[v]
        hi = np.searchsorted(key, v * big + (r - d[k, v]), side="right")
        cnt = np.maximum(hi - lo, 0)
        # Expand every [lo, hi) slice into its entry indices.
        idx = np.repeat(lo - np.concatenate([[0], np.cumsum(cnt)[:-1]]), cnt) + np.arange(cnt.sum())
        rows.append(np.repeat(k + i, cnt))
        cols.append(parcel[idx])
    a = sparse.csr_matrix((np.ones(sum(len(x) for x in rows)), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(len(sites), n))
    a.data[:] = 1.0  # a parcel reached through both of its road's ends counts once
    return sites, a


def node_xy(g: Graph) -> np.ndarray:
    """Coordinates of every graph node (the first road end found at it)."""
    ends = np.vstack([shapely.get_coordinates(shapely.get_point(g.lines, 0)),
                      shapely.get_coordinates(shapely.get_point(g.lines, -1))])
    xy = np.zeros((g.n_nodes, 2))
    xy[np.concatenate([g.u, g.v])] = ends
    return xy
