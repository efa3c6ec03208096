"""cityassets.coverage.linear: road length within a point facility's service radius, exactly (coverage.md b10).

Each road is cut into straight segments; a toilet at perpendicular distance h ≤ r from a segment's line
covers the interval [s − √(r² − h²), s + √(r² − h²)] around its projection s. The covered length is the
length of the union of those intervals, clipped to the segment: no buffers, no polygonisation error.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import numpy as np
import pandas as pd
import shapely

from cityassets.catalogue import COLLECTIONS
from cityassets.coverage.radius import Spec

ROADS = COLLECTIONS["roads"].table.name
#: Road groups of the local toilet plan: main streets 300 m, riverside/park paths 800 m, other roads 500 m.
GROUP_SQL = ("CASE WHEN road_class IN ('expressway', 'main') THEN 'main' "
             "WHEN road_class = 'park_path' THEN 'park_path' ELSE 'other' END")
_cache: dict[tuple[Any, ...], pd.DataFrame] = {}


async def segments(conn: asyncpg.Connection) -> pd.DataFrame:
    """Straight road segments with district and group, cached per roads data version."""
    key = (await conn.fetchval("SELECT current_database()"),
           await conn.fetchval("SELECT coalesce(max(data_version), 0) FROM collection_stats WHERE collection = $1", ROADS))
    if key not in _cache:
        rows = await conn.fetch(f"SELECT district_code, {GROUP_SQL} AS grp, ST_AsBinary(geom) AS g FROM {ROADS} "
                                "WHERE retired_at IS NULL AND NOT ST_IsEmpty(geom)")
        lines = shapely.from_wkb([r["g"] for r in rows]) if rows else np.array([], dtype=object)
        coords, idx = shapely.get_coordinates(lines, return_index=True) if len(lines) else (np.zeros((0, 2)), np.zeros(0, int))
        same = idx[1:] == idx[:-1]  # consecutive vertices of one line make a segment
        a, b, li = coords[:-1][same], coords[1:][same], idx[:-1][same]
        _cache.clear()
        _cache[key] = pd.DataFrame({"district_code": [rows[i]["district_code"] for i in li],
                                    "grp": [rows[i]["grp"] for i in li],
                                    "ax": a[:, 0], "ay": a[:, 1], "bx": b[:, 0], "by": b[:, 1]})
    return _cache[key]


def covered(seg: pd.DataFrame, pts: np.ndarray, r: float) -> np.ndarray:
    """Covered length of each segment by the union of disks of radius r around pts."""
    n = len(seg)
    length = np.hypot(seg["bx"] - seg["ax"], seg["by"] - seg["ay"]).to_numpy()
    if n == 0 or len(pts) == 0:
        return np.zeros(n)
    lines = shapely.linestrings(np.stack([seg[["ax", "ay"]].to_numpy(), seg[["bx", "by"]].to_numpy()], axis=1))
    si, pi = shapely.STRtree(shapely.points(pts)).query(lines, predicate="dwithin", distance=r)
    ax, ay = seg["ax"].to_numpy()[si], seg["ay"].to_numpy()[si]
    L = np.maximum(length[si], 1e-12)
    ux, uy = (seg["bx"].to_numpy()[si] - ax) / L, (seg["by"].to_numpy()[si] - ay) / L
    dx, dy = pts[pi, 0] - ax, pts[pi, 1] - ay
    s, h = dx * ux + dy * uy, np.abs(dx * uy - dy * ux)
    half = np.sqrt(np.maximum(r * r - h * h, 0.0))
    iv = pd.DataFrame({"seg": si, "lo": np.clip(s - half, 0, length[si]), "hi": np.clip(s + half, 0, length[si])})
    iv = iv[iv["hi"] > iv["lo"]].sort_values(["seg", "lo"])
    # Union of sorted intervals: an interval adds what lies beyond the furthest end seen so far in its segment.
    reach = iv.groupby("seg")["hi"].cummax().shift(1)
    first = iv["seg"].ne(iv["seg"].shift(1))
    start = np.where(first, iv["lo"], np.maximum(iv["lo"], reach.fillna(-np.inf)))
    gain = np.maximum(iv["hi"].to_numpy() - start, 0.0)
    out = np.zeros(n)
    np.add.at(out, iv["seg"].to_numpy(), gain)
    return out


async def roads(conn: asyncpg.Connection, specs: dict[str, Spec], district: str | None) -> list[dict[str, Any]]:
    """Road length and covered length per district and group, plus city rows (total=True)."""
    seg = await segments(conn)
    if district is not None:
        seg = seg[seg["district_code"] == district]
    seg = seg.assign(length=np.hypot(seg["bx"] - seg["ax"], seg["by"] - seg["ay"]), covered=0.0)
    for grp, spec in specs.items():
        rows = await conn.fetch(f"SELECT ST_X(geom) AS x, ST_Y(geom) AS y, radius FROM ({spec.sql}) s", *spec.args)
        pts = np.array([(r["x"], r["y"]) for r in rows], dtype=float).reshape(-1, 2)
        mask = (seg["grp"] == grp).to_numpy()
        if mask.any() and rows:
            seg.loc[mask, "covered"] = covered(seg[mask], pts, float(rows[0]["radius"]))
    out = []
    for (d, g), v in seg.groupby(["district_code", "grp"], dropna=False)[["length", "covered"]].sum().iterrows():
        out.append({"district_code": None if pd.isna(d) else d, "total": False, "grp": g,
                    "length": float(v["length"]), "covered_length": float(v["covered"])})
    for g, v in seg.groupby("grp")[["length", "covered"]].sum().iterrows():
        out.append({"district_code": None, "total": True, "grp": g, "length": float(v["length"]),
                    "covered_length": float(v["covered"])})
    return out
