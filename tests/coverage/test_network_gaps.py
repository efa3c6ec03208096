"""method=network for gap maps and siting: a park across a river, a bridge 1 km away (answers known by hand)."""

from __future__ import annotations

import pytest
from shapely.geometry import box

from tests.coverage.town import add_district, add_green, add_parcel

E = "419907"
X = 120000.0


async def road(db, town, coords) -> None:
    wkt = "LINESTRING(" + ", ".join(f"{town.x0 + X + x} {town.y0 + y}" for x, y in coords) + ")"
    await db.execute("INSERT INTO roads (road_class, district_code, geom) VALUES ('branch', $1, ST_GeomFromText($2, $3::int))",
                     E, wkt, town.srid)


@pytest.fixture(scope="module")
async def river(pool, town):
    """West bank road y=0, east bank road y=200, a bridge at x=1000; a 9000 m² park on the east bank.

    Parcels (20 m × 20 m): `across` 220 m from the park straight over the river (Euclidean: covered; network:
    ~2 km round the bridge), `beside` the park on the east bank (covered both ways), `far` 546 m away (neither).
    """
    async with pool.acquire() as db:
        await add_district(db, town, E, box(X - 500, -500, X + 1500, 800))
        await road(db, town, [(0, 0), (50, 0)])
        await road(db, town, [(50, 0), (1000, 0)])
        await road(db, town, [(0, 200), (1000, 200)])
        await road(db, town, [(1000, 0), (1000, 200)])
        await add_green(db, town, E, box(X, 210, X + 100, 300), "G11")
        return {"across": await add_parcel(db, town, E, box(X, -30, X + 20, -10), 100),
                "beside": await add_parcel(db, town, E, box(X + 150, 220, X + 170, 240), 50),
                "far": await add_parcel(db, town, E, box(X + 600, -30, X + 620, -10), 30)}


async def gaps(client, method: str) -> list[dict]:
    r = await client.get("/indicators/park_500m/gaps", params={"district": E, "method": method})
    assert r.status_code == 200, r.text
    return [f["properties"] for f in r.json()["features"]]


async def test_network_gaps_are_the_parcels_the_roads_do_not_reach(client, river):
    euclid = await gaps(client, "euclidean")
    assert (await client.get("/indicators/park_500m/gaps", params={"method": "network", "district": E})).json()["method"] == "network"
    assert [g["target_id"] for g in euclid] == [river["far"]]
    net = await gaps(client, "network")
    assert sorted(g["target_id"] for g in net) == sorted([river["across"], river["far"]])
    assert {g["target_id"]: g["population"] for g in net} == {river["across"]: 100, river["far"]: 30}
    assert all(g["area_m2"] == pytest.approx(400.0) for g in net)
    # The gap map and the value tell the same story: 400 of 1200 m² reached.
    v = (await client.get("/indicators/park_500m", params={"district": E, "method": "network"})).json()
    assert v["by_district"][0]["area_share"] == pytest.approx(100 / 3, abs=1e-3)


async def test_network_candidates_follow_the_roads(client, db, town, river):
    r = await client.get("/indicators/park_500m/candidates", params={"district": E, "method": "network", "count": 3})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["method"] == "network" and body["uncovered"] == pytest.approx(130.0)
    # No road node reaches both: the first site serves `across` (100 people) from the west bank's end, the
    # second `far` (30) from the bridge foot at x=1000 (390 m + 10 m); nothing is left for a third.
    assert [c["gain"] for c in body["candidates"]] == [100.0, 30.0]
    assert body["candidates"][-1]["share_of_uncovered"] == pytest.approx(100.0)
    lon, lat = body["candidates"][1]["geometry"]["coordinates"]
    xy = await town_xy(db, town, lon, lat)
    assert xy == pytest.approx((1000.0, 0.0), abs=0.01)
    euclid = (await client.get("/indicators/park_500m/candidates", params={"district": E, "count": 3})).json()
    assert euclid["method"] == "euclidean" and euclid["uncovered"] == pytest.approx(30.0)


async def town_xy(db, town, lon: float, lat: float) -> tuple[float, float]:
    """Local metres of a CRS84 point (the river's frame)."""
    r = await db.fetchrow("SELECT ST_X(g) x, ST_Y(g) y FROM ST_Transform(ST_SetSRID(ST_MakePoint($1, $2), 4326), $3::int) g",
                          lon, lat, town.srid)
    return r["x"] - town.x0 - X, r["y"] - town.y0


@pytest.mark.parametrize("path,params", [
    ("/indicators/park_500m/gaps", {"method": "teleport"}),
    ("/indicators/park_500m/candidates", {"method": "teleport"}),
    ("/indicators/toilet_density/gaps", {"method": "network"}),
    ("/indicators/park_500m/gaps", {"method": "network", "denominator": "built_up"}),
])
async def test_network_gap_and_siting_bad_input_is_400(client, path, params):
    r = await client.get(path, params=params)
    assert r.status_code == 400, r.text
