"""Toilet gap polygons kept between requests and redone only near what moved: the same polygons as a rebuild
and as shapely, when a move joins two gaps into one and when it splits one again."""

from __future__ import annotations

import pytest
import shapely
from shapely.geometry import box

from tests.coverage.town import add_asset, add_district, add_parcel, local

D, FAR = "419910", "419911"
X = 140000.0  # this town's corner, local metres
LAND = box(X, 50, X + 3000, 950)
FAR_LAND = box(X + 10000, 0, X + 12000, 1000)
#: PostGIS buffers with quad_segs=32 (radius.BUFFER); shapely draws the same inscribed polygon.
R, QUAD = 500, 32


@pytest.fixture(scope="module")
async def strip(pool, town):
    """A 900 m strip cut in two by a toilet's 500 m disk; a second toilet at its east end; a far district."""
    async with pool.acquire() as db:
        await add_district(db, town, D, LAND)
        await add_district(db, town, FAR, FAR_LAND)
        toilets = {}
        for name, (x, y) in {"cut": (X + 1500, 500), "east": (X + 2900, 500), "far": (X + 10500, 500)}.items():
            toilets[name] = await add_asset(db, town, "toilets", FAR if name == "far" else D, "0301", x, y,
                                            toilet_type="standalone", toilet_class="I", public_access="municipal")
        await add_parcel(db, town, D, box(X + 100, 100, X + 200, 200), 300)  # west gap
        await add_parcel(db, town, D, box(X + 2000, 100, X + 2100, 200), 200)  # east gap
        await add_parcel(db, town, FAR, box(X + 11500, 100, X + 11600, 200), 50)
    return toilets


def expected(toilets: list[tuple[float, float]], land=LAND) -> list[float]:
    """Gap polygon areas of a district, largest first (shapely)."""
    cover = shapely.union_all([shapely.Point(x, y).buffer(R, quad_segs=QUAD) for x, y in toilets])
    rest = land.difference(cover)
    parts = list(getattr(rest, "geoms", [rest]))
    return sorted((p.area for p in parts if p.area > 0.01), reverse=True)


async def gaps(client, district: str) -> list[tuple[float, float]]:
    r = await client.get("/indicators/toilet_density/gaps", params={"district": district})
    assert r.status_code == 200, r.text
    return [(f["properties"]["area_m2"], f["properties"]["population"]) for f in r.json()["features"]]


async def rows(db, district: str) -> list[tuple]:
    """Physical row ids of the stored gaps: unchanged when the gaps were kept, not rewritten."""
    return [r["ctid"] for r in await db.fetch("SELECT ctid FROM coverage_gap WHERE spec LIKE 'toilet|%' "
                                              "AND district_code = $1 ORDER BY ctid", district)]


async def move(db, town, code: str, x: float, y: float) -> None:
    await db.execute("UPDATE toilets SET geom = ST_GeomFromText($2, $3::int), version = version + 1 "
                     "WHERE asset_code = $1", code, local(town, shapely.Point(x, y)), town.srid)


async def rebuilt(client, db, district: str) -> list[tuple[float, float]]:
    """The gaps recomputed from nothing (the stored ones dropped)."""
    await db.execute("DELETE FROM coverage_state WHERE name LIKE 'gaps|toilet|%'")
    return await gaps(client, district)


async def test_moves_join_and_split_gaps_as_a_rebuild_would(client, db, town, strip):
    east = (X + 2900, 500)
    before = await gaps(client, D)
    assert [a for a, _ in before] == pytest.approx(expected([(X + 1500, 500), east]), rel=1e-6)
    assert sorted(p for _, p in before) == [200, 300]
    far = await rows(db, FAR)
    far_gaps = await gaps(client, FAR)
    assert far and [a for a, _ in far_gaps] == pytest.approx(expected([(X + 10500, 500)], FAR_LAND), rel=1e-6)
    assert sum(p for _, p in far_gaps) == 50

    # North by 600 m: the disk leaves a passage along the south edge, and the two gaps become one.
    await move(db, town, strip["cut"], X + 1500, 1100)
    joined = await gaps(client, D)
    assert len(joined) == 1 and joined[0][1] == 500
    assert [a for a, _ in joined] == pytest.approx(expected([(X + 1500, 1100), east]), rel=1e-6)
    assert await rows(db, FAR) == far, "the far district's gaps were rewritten: not an update near the move"
    assert joined == [(pytest.approx(a), p) for a, p in await rebuilt(client, db, D)]

    # Back south: one gap split in two again.
    far = await rows(db, FAR)
    await move(db, town, strip["cut"], X + 1500, 500)
    split = await gaps(client, D)
    assert [a for a, _ in split] == pytest.approx(expected([(X + 1500, 500), east]), rel=1e-6)
    assert sorted(p for _, p in split) == [200, 300]
    assert await rows(db, FAR) == far
    assert split == [(pytest.approx(a), p) for a, p in await rebuilt(client, db, D)]


async def test_rebuild_on_two_connections_equals_one_connection(db, strip, helpers):
    """From nothing, the districts are shared by this connection and a helper: the same rows as one connection."""
    from cityassets.coverage import gaps as gapmod
    from cityassets.coverage import radius
    from cityassets.coverage.catalogue import get_indicator

    opened = helpers
    p = get_indicator("toilet_density").bind({})
    spec = radius.facility_spec("toilet", p, p["gap_radius_m"]).key

    async def build(one_connection: bool) -> tuple[list[tuple], int]:
        await db.execute("DELETE FROM coverage_state WHERE name LIKE 'gaps|toilet|%'")
        if one_connection:  # inside a caller's transaction everything stays on this connection
            async with db.transaction():
                got = await gapmod.gap_rows(db, "toilet_density", {}, None, 100_000)
        else:
            got = await gapmod.gap_rows(db, "toilet_density", {}, None, 100_000)
        writers = await db.fetchval("SELECT count(DISTINCT xmin::text) FROM coverage_gap WHERE spec = $1", spec)
        return sorted((r["district_code"], r["area_m2"], r["population"]) for r in got), writers

    split, writers = await build(one_connection=False)
    assert len(opened) == 1 and opened[0] is not None and opened[0].is_closed()
    assert writers == 2  # both connections wrote districts
    one, writers = await build(one_connection=True)
    assert writers == 1 and len(opened) == 1
    assert split == one and {d for d, *_ in split} >= {D, FAR}


async def test_toilet_density_reports_gap_land_per_district(client, town, strip):
    """Beside the density, each district's land farther than 500 m from a toilet and its people (shapely's areas)."""
    r = await client.get("/indicators/toilet_density", params={"district": D})
    assert r.status_code == 200, r.text
    [row] = [x for x in r.json()["by_district"] if x["district_code"] == D]
    assert row["gap_area_km2"] == pytest.approx(sum(expected([(X + 1500, 500), (X + 2900, 500)])) / 1e6, abs=1e-6)
    assert row["gap_population"] == 500
    city = (await client.get("/indicators/toilet_density")).json()["by_district"]
    far = next(x for x in city if x["district_code"] == FAR)
    assert far["gap_area_km2"] == pytest.approx(sum(expected([(X + 10500, 500)], FAR_LAND)) / 1e6, abs=1e-6)
    assert far["gap_population"] == 50
