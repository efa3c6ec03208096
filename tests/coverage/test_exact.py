"""Hand-made cases whose answers are known exactly (straight buffer edges cut parcels in half)."""

from __future__ import annotations

import pytest
import shapely
import shapely.affinity
from shapely.geometry import box

from tests.coverage.town import add_asset, add_district, add_green, add_parcel, local
from tests.fixtures import auth

A, B, C = "419901", "419902", "419909"


@pytest.fixture(scope="module")
async def case_a(pool, town):
    """A long park (100 m × 2 km); parcels: fully inside 300 m, half inside 500 m, far away."""
    async with pool.acquire() as db:
        await add_district(db, town, A, box(-1000, -2000, 3000, 2000))
        await add_green(db, town, A, box(0, -1000, 100, 1000), "G11")
        full = await add_parcel(db, town, A, box(200, 0, 300, 100), 3000)
        half = await add_parcel(db, town, A, box(550, 0, 650, 100), 1000)
        far = await add_parcel(db, town, A, box(1500, 0, 1600, 100), 1000)
        await db.execute("INSERT INTO grid_cells (code, district_code, geom) VALUES ('419901001001', $1, "
                         "ST_Multi(ST_GeomFromText($2, $3::int)))", A, local(town, box(500, -100, 2000, 200)), town.srid)
    return {"full": full, "half": half, "far": far}


@pytest.fixture(scope="module")
async def case_b(pool, town):
    """Park tiers: 3000 m² serves 300 m; 1500 m² serves nothing, unless in a historic district."""
    async with pool.acquire() as db:
        await add_district(db, town, B, box(9000, -2000, 15000, 4000))
        await add_green(db, town, B, box(10000, 0, 10050, 60), "G12")  # 3000 m²: 300 m
        await add_parcel(db, town, B, box(10300, 0, 10400, 60), 600)  # x 10300..10400, covered to 10350: half
        await add_green(db, town, B, box(10000, 2000, 10030, 2050), "G14")  # 1500 m², not historic: excluded
        await add_parcel(db, town, B, box(10100, 2000, 10200, 2100), 500)
        await add_green(db, town, B, box(12000, 0, 12030, 50), "G14", historic=True)  # 1500 m², historic: 300 m
        await add_parcel(db, town, B, box(12050, 0, 12150, 100), 500)


async def value(client, ind: str, district: str, **params) -> dict:
    r = await client.get(f"/indicators/{ind}", params={"district": district, **params})
    assert r.status_code == 200, r.text
    body = r.json()
    [row] = [d for d in body["by_district"] if d["district_code"] == district]
    return row


async def test_half_parcel_in_park_radius_is_50_percent(client, case_a):
    row = await value(client, "park_500m", A)
    # area: full 10000 + half 5000 of 30000; population: 3000 + 500 of 5000.
    assert row["area_share"] == pytest.approx(50.0, abs=1e-4)
    assert row["population_share"] == pytest.approx(70.0, abs=1e-4)
    assert row["value"] == pytest.approx(50.0, abs=1e-4) and row["met"] is False
    weighted = await value(client, "park_500m", A, population_weighted="true")
    assert weighted["value"] == pytest.approx(70.0, abs=1e-4)
    body = (await client.get("/indicators/park_500m", params={"district": A})).json()
    [cell] = body["by_grid_cell"]  # holds the half-covered and the far parcel: 5000 of 20000 m²
    assert cell["grid_code"] == "419901001001" and cell["area_share"] == pytest.approx(25.0, abs=1e-4)


async def test_green_300m_and_radius_override(client, case_a):
    row = await value(client, "green_300m", A)
    assert row["area_share"] == pytest.approx(100 / 3, abs=1e-4)
    assert row["population_share"] == pytest.approx(60.0, abs=1e-4)
    wide = await value(client, "green_300m", A, radius_m=1450)  # far parcel x 1500..1600: half
    assert wide["area_share"] == pytest.approx(250 / 3, abs=1e-4)


async def test_park_service_radius_tiers(client, case_b):
    row = await value(client, "park_service_radius", B)
    # Areas 6000 (half covered), 10000 (park of 1500 m² not historic: 0), 10000 (historic: all) -> 13000 / 26000;
    # population 600 · 50 % + 0 + 500 of 1600.
    assert row["area_share"] == pytest.approx(50.0, abs=1e-4)
    assert row["population_share"] == pytest.approx(100 * (300 + 500) / 1600, abs=1e-4)
    strict = await value(client, "park_service_radius", B, historic_min_m2=2000)
    assert strict["area_share"] == pytest.approx(100 * 3000 / 26000, abs=1e-4)


async def test_gaps_largest_first_with_population(client, case_a):
    r = await client.get("/indicators/park_500m/gaps", params={"district": A})
    assert r.status_code == 200
    fc = r.json()
    assert fc["type"] == "FeatureCollection"
    got = [(f["properties"]["target_id"], f["properties"]["area_m2"], f["properties"]["population"]) for f in fc["features"]]
    assert got == [(case_a["far"], 10000.0, 1000.0), (case_a["half"], 5000.0, 500.0)]
    lon, lat = fc["features"][0]["geometry"]["coordinates"][0][0][0]
    assert 113.0 < lon < 113.1 and 34.2 < lat < 34.4  # CRS84: longitude first


async def test_built_up_denominator_is_district_land(client, case_a):
    row = await value(client, "park_500m", A, denominator="built_up")
    # District 4000 × 4000 m; the park's 500 m buffer (rounded ends) inside it.
    exact = shapely.box(0, -1000, 100, 1000).buffer(500, quad_segs=256).intersection(box(-1000, -2000, 3000, 2000)).area
    assert row["area_share"] == pytest.approx(100 * exact / 16e6, abs=0.01)


async def test_candidates_cover_the_far_parcel_first(client, db, town, case_a):
    await db.execute(
        "INSERT INTO roads (road_class, district_code, geom) VALUES ('branch', $1, ST_GeomFromText($2, $3::int))",
        A, f"LINESTRING({town.x0 + 1550} {town.y0 - 50}, {town.x0 + 1550} {town.y0 + 150})", town.srid)
    r = await client.get("/indicators/park_500m/candidates", params={"district": A, "count": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["weight"] == "population" and body["uncovered"] == pytest.approx(1500.0)
    first = body["candidates"][0]
    assert first["rank"] == 1 and first["gain"] == pytest.approx(1000.0)


async def test_toilets_density_mix_and_residential(client, db, town, tokens):
    d = "419903"
    await add_district(db, town, d, box(20000, 0, 22000, 1000))
    for cls, fam in (("I", True), ("I", False), ("II", True), ("II", False), ("III", False)):
        await add_asset(db, town, "toilets", d, "0301", 20500, 500, toilet_type="standalone", toilet_class=cls,
                        public_access="municipal", family_room=fam, is_24h=cls == "I")
    await add_asset(db, town, "toilets", d, "0301", 20600, 500, toilet_type="standalone", toilet_class="I",
                    public_access="park_internal")
    gone = await add_asset(db, town, "toilets", d, "0301", 20700, 500, toilet_type="standalone", toilet_class="I",
                           public_access="municipal")
    await db.execute("UPDATE toilets SET retired_at = now() WHERE asset_code = $1", gone)
    parcel = box(20750, 400, 20850, 600)  # cut by the 300 m circle around the toilets
    await add_parcel(db, town, d, parcel, 100)
    row = await value(client, "toilet_density", d)
    assert row["value"] == pytest.approx(2.5) and row["met"] is False
    assert row["components"]["national_standard"]["target"] == 5.0
    wider = await value(client, "toilet_density", d, access="municipal,park_internal")
    assert wider["value"] == pytest.approx(3.0)
    mix = await value(client, "toilet_class_mix", d)
    assert mix["value"] == pytest.approx(40.0) and mix["met"] is True
    assert mix["components"]["class_ii"] == {"value": 40.0, "target": 50.0, "met": False}
    assert mix["components"]["family_room"]["value"] == pytest.approx(40.0)
    res = await value(client, "toilet_residential_300m", d)
    circle = shapely.Point(20500, 500).buffer(300, quad_segs=256)
    assert res["area_share"] == pytest.approx(100 * parcel.intersection(circle).area / parcel.area, abs=0.1)
    for cls, y in (("main", 500), ("branch", 900)):
        await db.execute("INSERT INTO roads (road_class, district_code, geom) VALUES ($1, $2, ST_GeomFromText($3, $4::int))",
                         cls, d, f"LINESTRING({town.x0 + 20000} {town.y0 + y}, {town.x0 + 21000} {town.y0 + y}, "
                         f"{town.x0 + 22000} {town.y0 + y})", town.srid)
    roads = await value(client, "toilet_road_radius", d)
    # main: through the toilets, 300 m each side = 600 of 2000 m; branch 400 m away, 500 m radius: 2·300 m.
    assert roads["components"]["main"]["value"] == pytest.approx(30.0, abs=1e-4)
    assert roads["components"]["other"]["value"] == pytest.approx(30.0, abs=1e-4)
    assert roads["value"] == pytest.approx(30.0, abs=1e-4)
    r = await client.get("/indicators/toilet_density/gaps", params={"district": d}, headers=auth(tokens["reader"]))
    gap = sum(f["properties"]["area_m2"] for f in r.json()["features"])
    exact = box(20000, 0, 22000, 1000).difference(shapely.Point(20500, 500).buffer(500, quad_segs=256)).area
    assert gap == pytest.approx(exact, rel=1e-3)


async def test_edge_parcel_outside_the_buffer_is_a_whole_gap(client, db, town):
    """A thin parcel tangent to a buffer's rounded corner: its circumcircle straddles the buffer edge and its box
    meets the buffer's box, yet no part of it is within 300 m: 0 % covered, and the whole parcel is a gap."""
    await add_district(db, town, C, box(99000, -1000, 101000, 1000))
    await add_green(db, town, C, box(100000, 0, 100100, 100), "G12")
    # Centre 305.5 m from the green's corner (100100, 100) on the diagonal, 80 m long along the tangent, 4 m wide:
    # nearest point 303.5 m away.
    c = shapely.Point(100100 + 305.5 / 2 ** 0.5, 100 + 305.5 / 2 ** 0.5)
    sliver = shapely.affinity.rotate(box(c.x - 40, c.y - 2, c.x + 40, c.y + 2), -45, origin=c)
    assert 303 < shapely.distance(sliver, box(100000, 0, 100100, 100)) < 304
    pid = await add_parcel(db, town, C, sliver, 40)
    row = await value(client, "green_300m", C, min_area_m2="0")
    assert row["area_share"] == pytest.approx(0.0, abs=1e-9)
    r = await client.get("/indicators/green_300m/gaps", params={"district": C, "min_area_m2": "0"})
    assert r.status_code == 200, r.text
    got = [(f["properties"]["target_id"], f["properties"]["area_m2"], f["properties"]["population"])
           for f in r.json()["features"]]
    assert got == [(pid, pytest.approx(320.0, abs=0.1), 40.0)]


async def test_toilet_gaps_follow_a_moved_toilet_and_new_parcels(client, db, town):
    """The gap polygons are kept between requests: moving the toilet, or adding a parcel, must show at once."""
    d = "419908"
    await add_district(db, town, d, box(30000, 0, 33000, 1000))
    code = await add_asset(db, town, "toilets", d, "0301", 30500, 500, toilet_type="standalone", toilet_class="I",
                           public_access="municipal")

    async def gaps() -> tuple[float, float]:
        r = await client.get("/indicators/toilet_density/gaps", params={"district": d})
        assert r.status_code == 200, r.text
        feats = r.json()["features"]
        return (sum(f["properties"]["area_m2"] for f in feats), sum(f["properties"]["population"] for f in feats))

    district = box(30000, 0, 33000, 1000)
    area, pop = await gaps()
    assert area == pytest.approx(district.difference(shapely.Point(30500, 500).buffer(500, quad_segs=256)).area, rel=1e-3)
    assert pop == 0
    await add_parcel(db, town, d, box(32400, 400, 32600, 600), 700)  # 1,900 m east of the toilet: in the gap
    assert (await gaps())[1] == pytest.approx(700)
    await db.execute("UPDATE toilets SET geom = ST_Translate(geom, 2000, 0), version = version + 1 WHERE asset_code = $1",
                     code)
    area, pop = await gaps()  # the toilet now stands beside the parcel
    assert area == pytest.approx(district.difference(shapely.Point(32500, 500).buffer(500, quad_segs=256)).area, rel=1e-3)
    assert pop == 0
