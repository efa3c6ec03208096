"""Count-based indicators (lighting, manholes, trees, per-capita park area) on hand-made records."""

from __future__ import annotations

import pytest
from shapely.geometry import box

from tests.coverage.town import add_asset, add_district, add_green, add_parcel

D = "419905"


async def row(client, ind: str) -> tuple[dict, dict]:
    r = await client.get(f"/indicators/{ind}", params={"district": D})
    assert r.status_code == 200, r.text
    body = r.json()
    [d] = body["by_district"]
    return body, d


@pytest.fixture(scope="module")
async def assets(pool, town, city):
    async with pool.acquire() as db:
        await add_district(db, town, D, box(60000, 0, 62000, 1000), population=1000)
        main = await add_asset(db, town, "lamp_poles", D, "0201", 60100, 100, road_class="main", condition="intact")
        branch = await add_asset(db, town, "lamp_poles", D, "0201", 60200, 100, road_class="branch", condition="damaged")
        for pole, method, on, cond in ((main, "LED", True, "intact"), (main, "LED", False, "intact"),
                                       (main, "HPS", True, "intact"), (branch, "LED", True, "intact"),
                                       (branch, "HPS", None, "intact")):
            await add_asset(db, town, "pole_devices", D, "0202", 60100, 100, pole_code=pole, device_type="luminaire",
                            light_method=method, is_on=on, condition=cond)
        await add_asset(db, town, "pole_devices", D, "0202", 60100, 100, pole_code=main, device_type="camera")
        for confirmed, mark, util, owner, cond in ((True, True, "water_supply", "WATER", "intact"),
                                                   (True, False, "gas", "GAS", "damaged"),
                                                   (False, False, "ownerless", None, "missing"),
                                                   (True, True, "water_supply", "WATER", "sunken")):
            await add_asset(db, town, "manholes", D, "0101", 60300, 100, ownership_confirmed=confirmed, owner_mark=mark,
                            utility_type=util, owner=owner, condition=cond)
        for chip, grate, status in (("c1", "grate", "alive"), (None, "soil", "alive"), ("c3", "grate", "alive"),
                                    (None, "grate", "vacant_site")):
            await add_asset(db, town, "trees", D, "0501", 60400, 100, chip_uid=chip, pit_surface=grate, tree_status=status)
        await db.execute("INSERT INTO roads (road_class, district_code, geom) VALUES ('branch', $1, ST_GeomFromText($2, $3::int))",
                         D, f"LINESTRING({town.x0 + 60000} {town.y0 + 500}, {town.x0 + 61500} {town.y0 + 500})", town.srid)
        await add_green(db, town, D, box(61000, 600, 61100, 700), "G12")  # 10000 m² park
        await add_green(db, town, D, box(61200, 600, 61250, 700), "G2")  # protective green: not a park
        await add_parcel(db, town, D, box(60000, 800, 60010, 810), 400)


async def test_lighting(client, assets):
    _, led = await row(client, "led_share")
    assert led["value"] == pytest.approx(60.0) and led["met"] is False  # 3 LED of 5 luminaires, not the camera
    _, on = await row(client, "light_on_rate")
    # checked: main 3 (2 on), branch 1 (1 on); the unchecked one does not count.
    assert on["components"]["main"]["value"] == pytest.approx(200 / 3, abs=1e-3)
    assert on["components"]["branch"] == {"value": 100.0, "target": 95.0, "met": True}
    assert on["value"] == pytest.approx(75.0)
    _, intact = await row(client, "facility_intact_rate")
    assert intact["value"] == pytest.approx(100 * 6 / 7, abs=1e-3)  # 2 poles + 5 luminaires, one pole damaged


async def test_manholes_by_district_and_owner(client, assets):
    body, m = await row(client, "manhole_registry")
    assert m["value"] == pytest.approx(75.0) and m["met"] is False
    c = m["components"]
    assert c["owner_mark"]["value"] == pytest.approx(50.0)
    assert c["valid_asset_code"]["value"] == pytest.approx(100.0)
    assert c["ownerless"]["value"] == pytest.approx(25.0)
    assert c["defective_covers"]["value"] == pytest.approx(75.0)
    owners = {o["owner"]: o for o in body["by_owner"]}
    assert owners["WATER"]["n"] == 2 and owners["WATER"]["value"] == pytest.approx(100.0)
    assert owners[None]["value"] == pytest.approx(0.0)


async def test_trees_and_park_per_capita(client, assets):
    _, t = await row(client, "street_tree_registry")
    assert t["value"] == pytest.approx(100 * 2 / 3, abs=1e-3)  # chipped of live trees
    assert t["components"]["dead_or_vacant"]["value"] == pytest.approx(25.0)
    assert t["components"]["grate"]["value"] == pytest.approx(75.0)
    assert t["components"]["trees_per_road_km"]["value"] == pytest.approx(2.0)  # 3 live trees on 1.5 km
    _, p = await row(client, "park_area_per_capita")
    assert p["value"] == pytest.approx(10.0) and p["met"] is True  # 10000 m² / 1000 people (district figure)
