"""Blocks settled whole (coverage.blocks): sound against shapely, found in practice, and exact end to end."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import box

from cityassets.coverage import blocks
from tests.coverage.test_reference import CASES, D, check, random_town  # noqa: F401  (fixture)


def test_covered_blocks_hold_only_parcels_inside_one_vertex_disk():
    """Every parcel of a reported block lies within its radius of one facility vertex, so inside the service area;
    and the blocks a single vertex plainly covers are reported."""
    rng = np.random.default_rng(7)
    parcels = []
    for _ in range(3000):
        x, y = rng.uniform(-1500, 1500, 2)
        w, h = rng.uniform(5, 60, 2)
        parcels.append(box(x, y, x + w, y + h))
    cent = shapely.centroid(parcels)
    cx, cy = shapely.get_x(cent), shapely.get_y(cent)
    rho = np.array([shapely.hausdorff_distance(c, p) for c, p in zip(cent, parcels, strict=True)])
    ix = np.floor(cx / blocks.BLOCK_M).astype(np.int64)
    iy = np.floor(cy / blocks.BLOCK_M).astype(np.int64)
    keys = ix * blocks.KEY_STRIDE + iy
    uniq, inv = np.unique(keys, return_inverse=True)
    brho = np.zeros(len(uniq))
    np.maximum.at(brho, inv, rho)
    bix, biy = uniq // blocks.KEY_STRIDE, uniq % blocks.KEY_STRIDE
    facilities = [shapely.Polygon(np.column_stack([x + 40 * np.cos(a), y + 25 * np.sin(a)]))
                  for x, y in rng.uniform(-1400, 1400, (25, 2)) for a in [np.sort(rng.uniform(0, 2 * np.pi, 6))]]
    facilities.append(shapely.Point(0.0, 0.0))
    radii = rng.choice([300.0, 500.0], len(facilities))
    xy, which = shapely.get_coordinates(facilities, return_index=True)
    found = blocks.covered_blocks(bix, biy, brho, xy[:, 0], xy[:, 1], radii[which])
    assert len(found) > 50
    settled = np.isin(keys, found)
    verts = [(shapely.points(shapely.get_coordinates(f)), r) for f, r in zip(facilities, radii, strict=True)]
    for p in np.flatnonzero(settled):
        corners = shapely.points(shapely.get_coordinates(parcels[p]))
        assert any((shapely.distance(v[:, None], corners[None, :]).max(axis=1) <= r).any() for v, r in verts), p
        assert shapely.union_all([f.buffer(r, quad_segs=64) for f, r in zip(facilities, radii, strict=True)]).buffer(
            0.5).contains(parcels[p])
    # Blocks around the point facility: those whose farthest corner + rho is clearly inside 300/500 m are found.
    r0 = radii[-1]
    far = np.hypot(np.maximum(np.abs(bix * 100.0), np.abs(bix * 100.0 + 100)),
                   np.maximum(np.abs(biy * 100.0), np.abs(biy * 100.0 + 100)))
    assert set(uniq[far + brho <= r0 - 1e-6]) <= set(found.tolist())


async def test_cold_build_with_settled_blocks_equals_pair_by_pair(client, db, town, random_town, monkeypatch):
    """The stored fraction of every parcel, and the indicators, are the same with and without the blocks."""
    await check(client, town)
    specs = [r["spec"] for r in await db.fetch("SELECT spec FROM coverage_spec WHERE target_version IS NOT NULL")]
    used = {spec: len(await blocks.covered(db, spec)) for spec in specs}
    assert used and all(n > 0 for n in used.values()), used  # the random town has blocks covered whole
    with_blocks = await _fractions(db)
    shares = {k: (await client.get(f"/indicators/{k}", params={"district": D})).json()["by_district"][0] for k in CASES}

    async def none(conn, spec_key):
        return []

    monkeypatch.setattr(blocks, "covered", none)
    await db.execute("DELETE FROM coverage_spec")
    await check(client, town)
    assert await _fractions(db) == pytest.approx(with_blocks, abs=1e-9)
    for k in CASES:
        pair_by_pair = (await client.get(f"/indicators/{k}", params={"district": D})).json()["by_district"][0]
        assert pair_by_pair["area_share"] == pytest.approx(shares[k]["area_share"], abs=1e-9)
        assert pair_by_pair["population_share"] == pytest.approx(shares[k]["population_share"], abs=1e-9)


async def _fractions(db) -> dict[tuple[str, int], float]:
    rows = await db.fetch("SELECT cf.spec, u.target_id, u.frac FROM coverage_fraction cf "
                          "CROSS JOIN LATERAL unnest(cf.ids, cf.fracs) AS u(target_id, frac)")
    return {(r["spec"], r["target_id"]): r["frac"] for r in rows}
