"""cityassets.coverage.blocks: 100 m blocks of parcel centroids that one facility's service area covers whole.

A cold build settles most parcels as fully covered: they lie deep inside a facility's service area. Testing them
pair by pair (index probe, distance, sort by parcel) was most of its work. A block settles all its parcels at once:
every point of a parcel lies within its circumradius rho of its centroid, and the centroid lies in the block, so
when the block's farthest corner from a facility vertex v, plus the largest rho of its parcels, is within the
facility's radius r, every parcel of the block lies in the disk of radius r around v. That disk is inside the
facility's service area (v belongs to the facility), so the parcel's covered fraction is 1, exactly what the pair
test (distance from centroid to facility ≤ r − rho) concludes for it. Blocks covered only by several facilities
together are not found here; their parcels take the pair path as before.
"""

from __future__ import annotations

import asyncio

import asyncpg
import numpy as np
import shapely

#: Block side in metres (coverage_target.blk). Small enough that a block fits inside a 300 m service area around
#: many vertices, large enough that a green space's reach spans a few dozen blocks, not thousands.
BLOCK_M = 100
#: Multiplier of the x index in a block or tile key (ix * KEY_STRIDE + iy): keys stay unique for any city (iy
#: would have to span 1e6 blocks to collide) and spread in PostgreSQL's int8 hash, which folds the high half onto
#: the low half (a key (ix << 32) | iy hashes as ix ^ iy: 7,393 tiles of the bench city had 310 hashes).
KEY_STRIDE = 1_000_003
#: Vertex × candidate block evaluations per numpy step: bounds the temporary arrays (~8 bytes × 6 each).
CHUNK = 1 << 20


#: Every block as (ix, iy, rho) in one value (coverage_blocks), in this layout; written by PACK.
PACKED = np.dtype([("ix", ">i4"), ("iy", ">i4"), ("rho", ">f8")])
PACK = (f"INSERT INTO coverage_blocks (packed) SELECT coalesce(string_agg(int4send(ix) || int4send(iy) || "
        f"float8send(rho), ''::bytea), ''::bytea) FROM (SELECT floor(min(x) / {BLOCK_M})::int AS ix, "
        f"floor(min(ST_Y(cent)) / {BLOCK_M})::int AS iy, max(rho) AS rho FROM coverage_target GROUP BY blk) b")
#: A spec's facilities in one row: their radii and their geometries collected in the same order.
FACILITIES = ("SELECT array_agg(radius ORDER BY fac_id) AS radii, ST_AsBinary(ST_Collect(geom ORDER BY fac_id)) AS wkb "
              "FROM coverage_facility WHERE spec = $1 AND NOT ST_IsEmpty(geom)")


def key_sql(x: str, y: str, size: float) -> str:
    """SQL for the block or tile key of a point's coordinates `x`, `y` (SQL expressions), `size` metres a side."""
    return f"(floor({x} / {size:g})::int8 * {KEY_STRIDE} + floor({y} / {size:g})::int8)"


async def covered(conn: asyncpg.Connection, spec_key: str) -> list[int]:
    """Keys of the blocks that one facility of the spec covers whole (coverage_blocks, coverage_facility)."""
    packed = await conn.fetchval("SELECT packed FROM coverage_blocks")
    facilities = await conn.fetchrow(FACILITIES, spec_key)
    if not packed or facilities["wkb"] is None:
        return []
    # In a thread: ~40 ms of numpy for 18k vertices (green_300m on the bench city), the event loop stays free.
    return await asyncio.to_thread(_covered, packed, facilities["radii"], facilities["wkb"])


def _covered(packed: bytes, radii: list[float], wkb: bytes) -> list[int]:
    b = np.frombuffer(packed, dtype=PACKED)
    # One part per facility (a MultiPolygon or a GeometryCollection of them), in the radii's order.
    parts = shapely.get_parts(shapely.from_wkb(wkb))
    if len(parts) != len(radii):  # not one part per facility: no block is settled, every parcel takes the pairs
        return []
    xy, which = shapely.get_coordinates(parts, return_index=True)
    radius = np.asarray(radii, dtype=float)[which]
    return covered_blocks(b["ix"].astype(np.int64), b["iy"].astype(np.int64), b["rho"].astype(float),
                          xy[:, 0], xy[:, 1], radius).tolist()


def covered_blocks(ix: np.ndarray, iy: np.ndarray, rho: np.ndarray, vx: np.ndarray, vy: np.ndarray,
                   radius: np.ndarray) -> np.ndarray:
    """Keys (ix * KEY_STRIDE + iy) of the blocks whose farthest corner from a vertex (vx, vy), plus the block's rho,
    is within that vertex's radius."""
    if len(ix) == 0 or len(vx) == 0:
        return np.empty(0, dtype=np.int64)
    x0, y0 = ix.min(), iy.min()
    span = int(np.ceil(radius.max() / BLOCK_M))
    # Block rho on a dense grid with a one-block margin of +inf (no parcels): a block beyond the parcels' extent is
    # looked up in the margin (indices clipped), so it is never reported.
    grid = np.full((ix.max() - x0 + 3, iy.max() - y0 + 3), np.inf)
    grid[ix - x0 + 1, iy - y0 + 1] = rho
    # Offsets of the blocks a vertex can cover: the farthest corner of the block dx blocks away is at least |dx| * B
    # away along x, wherever the vertex sits in its own block.
    off = np.arange(-span, span + 1)
    dx, dy = (a.ravel() for a in np.meshgrid(off, off, indexing="ij"))
    near = dx * dx + dy * dy <= span * span
    dx, dy = dx[near], dy[near]
    step = max(1, CHUNK // len(dx))
    found = []
    for s in range(0, len(vx), step):
        px, py, r = vx[s:s + step, None], vy[s:s + step, None], radius[s:s + step, None]
        bx, by = np.floor(px / BLOCK_M), np.floor(py / BLOCK_M)
        ux, uy = px - bx * BLOCK_M, py - by * BLOCK_M  # the vertex's place in its own block, [0, B)
        far_x = np.maximum(np.abs(dx * BLOCK_M - ux), np.abs((dx + 1) * BLOCK_M - ux))
        far_y = np.maximum(np.abs(dy * BLOCK_M - uy), np.abs((dy + 1) * BLOCK_M - uy))
        far2 = far_x * far_x + far_y * far_y
        v, k = np.nonzero(far2 <= r * r)  # within the radius before the blocks' rho: few, then looked up
        cx = bx[v, 0].astype(np.int64) + dx[k]
        cy = by[v, 0].astype(np.int64) + dy[k]
        gx = np.clip(cx - x0 + 1, 0, grid.shape[0] - 1)
        gy = np.clip(cy - y0 + 1, 0, grid.shape[1] - 1)
        reach = r[v, 0] - grid[gx, gy]
        ok = (reach >= 0) & (far2[v, k] <= reach * reach)
        found.append(cx[ok] * KEY_STRIDE + cy[ok])
    return np.unique(np.concatenate(found))
