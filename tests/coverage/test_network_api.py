"""method=network (a park across a river), the catalogue, bad input, the report and the CLI."""

from __future__ import annotations

import json

import pytest
from shapely.geometry import box
from typer.testing import CliRunner

from tests.coverage.town import add_district, add_green, add_parcel

D = "419906"
X = 80000.0


async def road(db, town, coords) -> int:
    wkt = "LINESTRING(" + ", ".join(f"{town.x0 + X + x} {town.y0 + y}" for x, y in coords) + ")"
    return await db.fetchval("INSERT INTO roads (road_class, district_code, geom) VALUES ('branch', $1, "
                             "ST_GeomFromText($2, $3::int)) RETURNING id", D, wkt, town.srid)


@pytest.fixture(scope="module")
async def river(pool, town):
    """West bank road y=0, east bank road y=200, one bridge 1 km away; a park 220 m across the river."""
    async with pool.acquire() as db:
        await add_district(db, town, D, box(X - 500, -500, X + 1500, 800))
        await road(db, town, [(0, 0), (50, 0)])
        await road(db, town, [(50, 0), (1000, 0)])
        await road(db, town, [(0, 200), (50, 200)])
        await road(db, town, [(50, 200), (1000, 200)])
        await road(db, town, [(1000, 0), (1000, 200)])
        await add_green(db, town, D, box(X, 210, X + 100, 300), "G11")
        await add_parcel(db, town, D, box(X, -30, X + 20, -10), 100)


async def share(client, method: str) -> float:
    r = await client.get("/indicators/park_500m", params={"district": D, "method": method})
    assert r.status_code == 200, r.text
    return r.json()["by_district"][0]["area_share"]


async def test_network_counts_the_detour_over_the_bridge(client, db, town, river):
    assert await share(client, "euclidean") == pytest.approx(100.0)
    assert await share(client, "network") == pytest.approx(0.0)  # 20 + 990 + 200 + ~1000 + 10 m > 500 m
    await road(db, town, [(50, 0), (50, 200)])  # a footbridge
    assert await share(client, "network") == pytest.approx(100.0)


async def test_catalogue_lists_every_indicator_with_defaults(client):
    r = await client.get("/indicators")
    assert r.status_code == 200
    cat = {i["id"]: i for i in r.json()["indicators"]}
    for ind in ("green_300m", "park_500m", "park_service_radius", "toilet_density", "toilet_road_radius",
                "toilet_residential_300m", "toilet_class_mix", "bus_stop_500m", "bus_stop_300m", "kindergarten_300m",
                "primary_school_500m", "middle_school_1000m", "led_share", "light_on_rate", "facility_intact_rate",
                "manhole_registry", "street_tree_registry", "park_area_per_capita"):
        assert ind in cat and cat[ind]["title_zh"] and cat[ind]["source"]
    params = {p["name"]: p["default"] for p in cat["green_300m"]["parameters"]}
    assert params["radius_m"] == 300 and params["denominator"] == "residential" and params["population_weighted"] is False
    assert cat["park_service_radius"]["target"] == 80 and cat["park_area_per_capita"]["unit"] == "m2_per_person"


@pytest.mark.parametrize("path,params,status", [
    ("/indicators/nope", {}, 404),
    ("/indicators/nope/gaps", {}, 404),
    ("/indicators/green_300m", {"radius_m": "abc"}, 400),
    ("/indicators/green_300m", {"radius_m": "-5"}, 400),
    ("/indicators/green_300m", {"radius_m": "nan"}, 400),
    ("/indicators/green_300m", {"denominator": "moon"}, 400),
    ("/indicators/green_300m", {"population_weighted": "maybe"}, 400),
    ("/indicators/green_300m", {"foo": "1"}, 400),
    ("/indicators/green_300m", {"method": "teleport"}, 400),
    ("/indicators/green_300m", {"district": "x'; drop"}, 400),
    ("/indicators/led_share", {"method": "network"}, 400),
    ("/indicators/led_share/gaps", {}, 400),
    ("/indicators/led_share/candidates", {}, 400),
    ("/indicators/green_300m/candidates", {"count": "0"}, 400),
    ("/indicators/green_300m/candidates", {"count": "many"}, 400),
    ("/indicators/green_300m/gaps", {"limit": "0"}, 400),
])
async def test_bad_input_is_400_or_404(client, path, params, status):
    r = await client.get(path, params=params)
    assert r.status_code == status, r.text
    assert r.json()["status"] == status


async def test_every_indicator_answers_and_report_renders(client, river):
    for ind in (i["id"] for i in (await client.get("/indicators")).json()["indicators"]):
        r = await client.get(f"/indicators/{ind}")
        assert r.status_code == 200, (ind, r.text)
        assert {"value", "unit", "target", "met", "by_district", "parameters", "as_of"} <= set(r.json())
    r = await client.get("/indicators/report", params={"district": D})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "500米见园" in r.text and "data:image/png;base64," in r.text


def test_cli_json_and_csv(settings, river):
    from cityassets.cli import app

    runner = CliRunner()
    out = runner.invoke(app, ["indicators", "park_500m", "--district", D, "--format", "json"])
    assert out.exit_code == 0, out.output
    [res] = json.loads(out.stdout)
    assert res["id"] == "park_500m" and res["by_district"][0]["district_code"] == D
    out = runner.invoke(app, ["indicators", "park_500m", "--district", D, "--method", "network", "--format", "csv"])
    assert out.exit_code == 0, out.output
    assert out.stdout.splitlines()[0].startswith("indicator,district_code,value")
    bad = runner.invoke(app, ["indicators", "nope"])
    assert bad.exit_code == 2 and "does not exist" in bad.output
