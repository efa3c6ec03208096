"""OGC API - Features CRUD round trips on every collection, ETags, history and retirement."""

from __future__ import annotations

import pytest

from tests.fixtures import auth

# One valid feature per collection (CRS84), inside district 410105 (east of 113.70E).
P = [113.72, 34.76]
SAMPLES = {
    "organisations": ({"code": "TESTORG", "name_zh": "测试单位", "org_type": "contractor"}, {"type": "Point", "coordinates": P}),
    "districts": ({"code": "410199", "name_zh": "测试区"},
                  {"type": "Polygon", "coordinates": [[[113.9, 34.9], [113.95, 34.9], [113.95, 34.95], [113.9, 34.95], [113.9, 34.9]]]}),
    "grid_cells": ({"code": "410105001001099"},
                   {"type": "Polygon", "coordinates": [[[113.76, 34.76], [113.77, 34.76], [113.77, 34.77], [113.76, 34.77], [113.76, 34.76]]]}),
    "green_spaces": ({"name": "测试公园", "green_class": "G12"},
                     {"type": "Polygon", "coordinates": [[[113.72, 34.76], [113.725, 34.76], [113.725, 34.765], [113.72, 34.765], [113.72, 34.76]]]}),
    "residential_areas": ({"name": "测试小区", "population": 1200},
                          {"type": "MultiPolygon", "coordinates": [[[[113.73, 34.77], [113.735, 34.77], [113.735, 34.775], [113.73, 34.775], [113.73, 34.77]]]]}),
    "roads": ({"name": "测试路", "road_class": "main"}, {"type": "LineString", "coordinates": [[113.71, 34.76], [113.74, 34.76]]}),
    "facilities": ({"category": "bus_stop", "name": "测试站"}, {"type": "Point", "coordinates": P}),
    "manholes": ({"utility_type": "water_supply", "owner": "WATER", "condition": "intact"}, {"type": "Point", "coordinates": P}),
    "trees": ({"species_zh": "国槐", "species_latin": "Styphnolobium japonicum", "dbh_cm": 25.5, "chip_type": "rfid",
               "chip_uid": "E2000017221101441890"}, {"type": "Point", "coordinates": P}),
    "lamp_poles": ({"pole_type": "integrated_smart", "road_class": "main", "owner": "LIGHT", "lit": True},
                   {"type": "Point", "coordinates": [113.721, 34.761]}),
    "toilets": ({"toilet_type": "standalone", "toilet_class": "II", "public_access": "municipal", "is_24h": True,
                 "owner": "SANIT"}, {"type": "Point", "coordinates": P}),
    "street_furniture": ({"category": "litter_bin", "capacity_l": 120, "owner": "SANIT"}, {"type": "Point", "coordinates": P}),
}
# What a replace/patch changes, per collection: (property, new value).
CHANGES = {
    "organisations": ("name_en", "Test org"), "districts": ("name_en", "Test district"), "grid_cells": ("code", "410105001001098"),
    "green_spaces": ("is_public", False), "residential_areas": ("population", 1500), "roads": ("road_class", "branch"),
    "facilities": ("category", "kindergarten"), "manholes": ("condition", "damaged"), "trees": ("health", "fair"),
    "lamp_poles": ("lit", False), "toilets": ("family_room", True), "street_furniture": ("condition", "damaged"),
}

PATCHES = {
    "organisations": ("contact_phone", "0371-1234"), "districts": ("population", 10000), "grid_cells": ("name", "x"),
    "green_spaces": ("name", "新名"), "residential_areas": ("households", 400), "roads": ("name", "新路"),
    "facilities": ("name", "新站"), "manholes": ("remarks", "x"), "trees": ("height_m", 8.5),
    "lamp_poles": ("circuit_id", "C-1"), "toilets": ("complaint_phone", "12319"), "street_furniture": ("material", "steel"),
}


def feature(cid: str) -> dict:
    props, geom = SAMPLES[cid]
    return {"type": "Feature", "properties": dict(props), "geometry": geom}


@pytest.mark.parametrize("cid", list(SAMPLES))
async def test_crud_round_trip(client, tokens, city, cid):
    admin = auth(tokens["admin"])
    r = await client.post(f"/collections/{cid}/items", json=feature(cid), headers=admin)
    assert r.status_code == 201, r.text
    loc, tag = r.headers["location"], r.headers["etag"]
    fid = r.json()["id"]
    assert loc.endswith(f"/collections/{cid}/items/{fid}")

    got = await client.get(f"/collections/{cid}/items/{fid}")
    assert got.status_code == 200 and got.headers["etag"] == tag
    body = got.json()
    for k, v in SAMPLES[cid][0].items():
        assert body["properties"][k] == v
    assert body["geometry"]["type"].replace("Multi", "") == SAMPLES[cid][1]["type"].replace("Multi", "")

    # PUT replaces everything: a property left out becomes null, the changed one is stored.
    key, value = CHANGES[cid]
    new = feature(cid)
    new["properties"][key] = value
    put = await client.put(f"/collections/{cid}/items/{fid}", json=new, headers={**admin, "If-Match": tag})
    assert put.status_code == 200, put.text
    assert put.json()["properties"][key] == value
    tag2 = put.headers["etag"]
    assert tag2 != tag

    # PATCH (JSON merge patch) changes one property and keeps the rest.
    optional, pvalue = PATCHES[cid]
    patch = await client.patch(f"/collections/{cid}/items/{fid}", json={"properties": {optional: pvalue}},
                               headers={**admin, "If-Match": tag2, "Content-Type": "application/merge-patch+json"})
    assert patch.status_code == 200, patch.text
    assert patch.json()["properties"][optional] == pvalue
    assert patch.json()["properties"][key] == value
    assert patch.json()["geometry"] == put.json()["geometry"]  # untouched geometry is kept exactly
    tag3 = patch.headers["etag"]

    h = await client.get(f"/collections/{cid}/items/{fid}/history")
    assert h.status_code == 200, h.text
    hist = h.json()["versions"]
    assert [v["action"] for v in hist] == ["insert", "update", "update"]
    assert hist[1]["changes"][key]["new"] == value and hist[1]["actor"] == "test-admin"
    assert hist[2]["previous"]["properties"][key] == value

    d = await client.delete(f"/collections/{cid}/items/{fid}", headers={**admin, "If-Match": tag3})
    assert d.status_code == 204
    assert (await client.get(f"/collections/{cid}/items/{fid}")).status_code == 404
    hist = (await client.get(f"/collections/{cid}/items/{fid}/history")).json()["versions"]
    assert hist[-1]["action"] == "delete" and len(hist) == 4


async def test_etag_rules(client, tokens, city):
    admin = auth(tokens["admin"])
    r = await client.post("/collections/manholes/items", json=feature("manholes"), headers=admin)
    fid, tag = r.json()["id"], r.headers["etag"]
    url = f"/collections/manholes/items/{fid}"
    body = feature("manholes")
    assert (await client.put(url, json=body, headers=admin)).status_code == 428
    assert (await client.delete(url, headers=admin)).status_code == 428
    stale = await client.put(url, json=body, headers={**admin, "If-Match": '"1.999"'})
    assert stale.status_code == 412 and "changed" in stale.json()["description"]
    # An unchanged PUT keeps the version (no history row), a changed one bumps it.
    same = await client.put(url, json=body, headers={**admin, "If-Match": tag})
    assert same.status_code == 200 and same.headers["etag"] == tag
    assert (await client.get(url, headers={"If-None-Match": tag})).status_code == 304


async def test_asset_code_allocated_and_never_reused(client, tokens, city, db):
    admin = auth(tokens["admin"])
    a = (await client.post("/collections/manholes/items", json=feature("manholes"), headers=admin)).json()
    code = a["properties"]["asset_code"]
    assert code.startswith("4101050101") and len(code) == 16  # east district + 上水井盖 0101
    assert a["properties"]["district_code"] == "410105" and a["properties"]["grid_code"] == "410105001001001"
    tag = (await client.get(f"/collections/manholes/items/{a['id']}")).headers["etag"]
    await client.delete(f"/collections/manholes/items/{a['id']}", headers={**admin, "If-Match": tag})
    b = (await client.post("/collections/manholes/items", json=feature("manholes"), headers=admin)).json()
    assert int(b["properties"]["asset_code"][-6:]) > int(code[-6:])
    # Re-using the retired code is refused.
    reuse = feature("manholes")
    reuse["properties"]["asset_code"] = code
    r = await client.post("/collections/manholes/items", json=reuse, headers=admin)
    assert r.status_code == 409 and r.json()["issues"][0]["field"] == "asset_code"


async def test_pole_device_takes_pole_position(client, tokens, city):
    admin = auth(tokens["admin"])
    pole = (await client.post("/collections/lamp_poles/items", json=feature("lamp_poles"), headers=admin)).json()
    dev = {"type": "Feature", "geometry": None,
           "properties": {"pole_code": pole["properties"]["asset_code"], "device_type": "small_cell_5g", "owner": "CARRIER"}}
    r = await client.post("/collections/pole_devices/items", json=dev, headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["geometry"] == pole["geometry"]
    dev["properties"]["pole_code"] = "4101050118999999"
    bad = await client.post("/collections/pole_devices/items", json=dev, headers=admin)
    assert bad.status_code == 422 and bad.json()["issues"][0]["rule"] == "reference"
