"""Radius indicators against an independent shapely computation on a random town, before and after edits."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import box

from tests.coverage.town import Town, add_district, add_green, add_parcel, move_green

D = "419904"
X0 = 40000.0  # this town's corner, local metres


def shares(town: Town, district: str, radius_of) -> tuple[float, float]:
    """Area and population shares of the district's parcels inside the union of buffers (quad_segs 256)."""
    bufs = [g.buffer(r, quad_segs=256) for gid, (cls, g, hist) in town.greens.items() if (r := radius_of(cls, g, hist))]
    cover = shapely.union_all(bufs) if bufs else shapely.Polygon()
    area = cov = pop = cpop = 0.0
    for d, g, p in town.parcels.values():
        if d != district:
            continue
        frac = g.intersection(cover).area / g.area
        area, cov, pop, cpop = area + g.area, cov + frac * g.area, pop + p, cpop + frac * p
    return 100 * cov / area, 100 * cpop / pop


def green(cls, g, hist):
    return 300.0 if g.area >= 400 and cls in ("G11", "G12", "G13", "G14", "G3") else None


def park(cls, g, hist):
    return 500.0 if g.area >= 5000 and cls in ("G11", "G12", "G13", "G14") else None


def service(cls, g, hist):
    # GB/T 51346-2019 §4.3.4 tiers, written independently of the engine.
    if cls not in ("G11", "G12", "G13", "G14"):
        return None
    if g.area >= 5000:
        return 500.0
    return 300.0 if g.area >= 2000 or (hist and g.area >= 1000) else None


CASES = {"green_300m": green, "park_500m": park, "park_service_radius": service}


def blob(rng, cx: float, cy: float, size: float):
    """An irregular (non-convex) polygon around (cx, cy)."""
    k = rng.integers(5, 11)
    ang = np.sort(rng.uniform(0, 2 * np.pi, k))
    rad = size * rng.uniform(0.4, 1.0, k)
    return shapely.Polygon(np.column_stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)])).buffer(0)


@pytest.fixture(scope="module")
async def random_town(pool, town):
    rng = np.random.default_rng(4547)
    async with pool.acquire() as db:
        await add_district(db, town, D, box(X0 - 500, -500, X0 + 3500, 3500))
        for _ in range(400):
            x, y = rng.uniform(0, 3000, 2)
            w, h = rng.uniform(10, 80, 2)
            await add_parcel(db, town, D, box(X0 + x, y, X0 + x + w, y + h), int(rng.integers(0, 500)))
        for _ in range(40):
            x, y = rng.uniform(0, 3000, 2)
            g = blob(rng, X0 + x, y, float(rng.choice([15, 30, 50, 120])))
            await add_green(db, town, D, g, str(rng.choice(["G12", "G14", "G3"])), historic=bool(rng.random() < 0.3))
    return rng


async def check(client, town: Town) -> None:
    for ind, radius_of in CASES.items():
        r = await client.get(f"/indicators/{ind}", params={"district": D})
        assert r.status_code == 200, r.text
        [row] = r.json()["by_district"]
        area, pop = shares(town, D, radius_of)
        assert row["area_share"] == pytest.approx(area, abs=0.1), ind
        assert row["population_share"] == pytest.approx(pop, abs=0.1), ind
        assert 0 < row["area_share"] < 100  # the random town exercises partial coverage


async def test_radius_indicators_match_shapely(client, town, random_town):
    await check(client, town)


async def test_incremental_update_matches_shapely_and_full_rebuild(client, db, town, random_town):
    rng = random_town
    await check(client, town)  # cache warm
    gids = sorted(gid for gid, (_, g, _) in town.greens.items() if g.centroid.x > X0 - 1000)
    for gid in gids[:6]:  # move six greens by up to 400 m
        _, g, _ = town.greens[gid]
        await move_green(db, town, gid, shapely.affinity.translate(g, *rng.uniform(-400, 400, 2)))
    await add_green(db, town, D, blob(rng, X0 + 1500, 1500, 60), "G12")
    gone = gids[7]
    await db.execute("UPDATE green_spaces SET retired_at = now() WHERE id = $1", gone)
    del town.greens[gone]
    await check(client, town)
    incremental = {k: (await client.get(f"/indicators/{k}", params={"district": D})).json()["by_district"][0]
                   for k in CASES}
    kept = await stored_fractions(db)
    await db.execute("DELETE FROM coverage_spec")
    for k in CASES:
        full = (await client.get(f"/indicators/{k}", params={"district": D})).json()["by_district"][0]
        assert full["area_share"] == pytest.approx(incremental[k]["area_share"], abs=1e-3)
        assert full["population_share"] == pytest.approx(incremental[k]["population_share"], abs=1e-3)
    # The refresh rewrote the tiles near the moves: every parcel's stored fraction, there and elsewhere, is the
    # rebuild's (a later refresh subtracts these, and the gap map and siting read them).
    rebuilt = await stored_fractions(db)
    assert kept.keys() == rebuilt.keys()
    for spec, fracs in rebuilt.items():
        assert kept[spec].keys() == fracs.keys(), spec
        assert max(abs(kept[spec][t] - f) for t, f in fracs.items()) < 1e-9, spec


async def stored_fractions(db) -> dict[str, dict[int, float]]:
    """The fraction cache unpacked: spec -> parcel id -> covered fraction; each parcel in one tile row only."""
    rows = await db.fetch("SELECT cf.spec, u.target_id, u.frac FROM coverage_fraction cf "
                          "CROSS JOIN LATERAL unnest(cf.ids, cf.fracs) AS u(target_id, frac)")
    out: dict[str, dict[int, float]] = {}
    for r in rows:
        assert r["target_id"] not in out.setdefault(r["spec"], {})
        out[r["spec"]][r["target_id"]] = r["frac"]
    return out


async def test_cold_build_in_strips_over_two_connections_matches_shapely(client, db, town, random_town, monkeypatch,
                                                                         helpers):
    """The cold build's strips, taken in turn by this connection and a helper, add up exactly."""
    from cityassets.coverage import radius

    monkeypatch.setattr(radius, "SPLIT_MIN_TARGETS", 0)
    monkeypatch.setattr(radius, "STRIPS", 6)
    opened = helpers
    strips: list = []
    real_band = radius.band

    async def band(conn, spec, rho, lo, hi, part, core):
        strips.append((conn, spec.key, lo, hi))
        await real_band(conn, spec, rho, lo, hi, part, core)

    monkeypatch.setattr(radius, "band", band)
    await client.get("/indicators/green_300m", params={"district": D})  # parcels' table current
    # Strips cut through this town every 500 m, so both connections compute some of its parcels.
    cuts = [town.x0 + X0 + 500.0 * k for k in range(1, 6)]
    await db.execute("DELETE FROM coverage_state WHERE name LIKE 'targets_cut:%'")
    await db.execute("INSERT INTO coverage_state (name, version, value) SELECT 'targets_cut:' || (k - 1), "
                     "(SELECT version FROM coverage_state WHERE name = 'targets'), v FROM unnest($1::float8[]) "
                     "WITH ORDINALITY u(v, k)", cuts)
    await db.execute("DELETE FROM coverage_spec")
    strips.clear()
    await check(client, town)
    assert len(opened) == len(CASES) and all(h is not None and h.is_closed() for h in opened)
    # Every spec built in six strips covering the whole line, each strip once, and the helper took some of them.
    for key in {k for _, k, _, _ in strips}:
        mine = sorted((lo, hi) for _, k, lo, hi in strips if k == key)
        assert [lo for lo, _ in mine] == [-radius.INF, *cuts] and [hi for _, hi in mine] == [*cuts, radius.INF]
    assert any(c in opened for c, *_ in strips) and any(c not in opened for c, *_ in strips)
    # One sum row per district and grid cell, as the incremental deltas expect.
    assert await db.fetchval("SELECT count(*) FROM (SELECT 1 FROM coverage_sum GROUP BY spec, district_code, grid_code "
                             "HAVING count(*) > 1) d") == 0
