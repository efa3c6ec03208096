"""Bad input gets a 4xx naming the field and the rule, and nothing is written."""

from __future__ import annotations

import pytest

from tests.api.test_features_crud import feature
from tests.fixtures import auth

URL = "/collections/manholes/items"


def with_(cid="manholes", geometry=None, **props):
    f = feature(cid)
    f["properties"].update(props)
    if geometry is not None:
        f["geometry"] = geometry
    return f


CASES = [
    ("wrong geometry type", with_(geometry={"type": "LineString", "coordinates": [[113.72, 34.76], [113.73, 34.76]]}),
     422, "geometry", "geometry_type"),
    ("out of range", with_(geometry={"type": "Point", "coordinates": [500, 34.76]}), 422, "geometry", "extent"),
    ("swapped axes", with_(geometry={"type": "Point", "coordinates": [34.76, 113.72]}), 422, "geometry", "extent"),
    ("unknown vocabulary", with_(utility_type="lava"), 422, "utility_type", "enum"),
    ("missing required", with_(utility_type=None), 422, "utility_type", "required"),
    ("unknown property", with_(colour="red"), 422, "colour", "unknown_field"),
    ("wrong type", with_(cover_diameter_mm="big"), 422, "cover_diameter_mm", "type"),
    ("below minimum", with_(depth_m=-3), 422, "depth_m", "minimum"),
    ("bad pattern", with_(provincial_cover_no="12"), 422, "provincial_cover_no", "pattern"),
    ("unknown owner", with_(owner="NOBODY"), 422, "owner", "reference"),
    ("code of another district", with_(asset_code="4101020101000001"), 422, "asset_code", "district_mismatch"),
    ("district mismatch", with_(district_code="410102"), 422, "district_code", "district_mismatch"),
    ("category field", with_("street_furniture", backrest=True), 422, "backrest", "category_field"),
    ("required when", with_("toilets", status="temporarily_closed"), 422, "closure_reason", "required_when"),
]


@pytest.mark.parametrize("name,body,status,field,rule", CASES, ids=[c[0] for c in CASES])
async def test_rejected(client, tokens, city, db, name, body, status, field, rule):
    cid = {"backrest": "street_furniture", "closure_reason": "toilets"}.get(field, "manholes")
    before = await db.fetchval(f"SELECT count(*) FROM {cid}")
    r = await client.post(f"/collections/{cid}/items", json=body, headers=auth(tokens["admin"]))
    assert r.status_code == status, r.text
    issue = r.json()["issues"][0]
    assert (issue["field"], issue["rule"]) == (field, rule), r.text
    if name == "swapped axes":
        assert "latitude and longitude look swapped" in issue["message"]
    assert await db.fetchval(f"SELECT count(*) FROM {cid}") == before


async def test_duplicate_asset_code(client, tokens, city):
    admin = auth(tokens["admin"])
    first = (await client.post(URL, json=feature("manholes"), headers=admin)).json()
    dup = with_(asset_code=first["properties"]["asset_code"])
    r = await client.post(URL, json=dup, headers=admin)
    assert r.status_code == 409
    assert r.json()["issues"][0] == {"field": "asset_code", "rule": "unique",
                                     "message": f"'{dup['properties']['asset_code']}' is already used by feature {first['id']}"}


@pytest.mark.parametrize("body,status", [
    (b"{not json", 400), (b'{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[NaN,1]}}', 400),
    (b"[1,2]", 422), (b'"x"', 422), (b'{"type":"Feature","crs":{"type":"name"},"properties":{}}', 422),
])
async def test_malformed_bodies(client, tokens, city, body, status):
    r = await client.post(URL, content=body, headers={**auth(tokens["admin"]), "Content-Type": "application/geo+json"})
    assert r.status_code == status, r.text


async def test_unsupported_media_type(client, tokens, city):
    r = await client.post(URL, content=b"<x/>", headers={**auth(tokens["admin"]), "Content-Type": "application/xml"})
    assert r.status_code == 415


@pytest.mark.parametrize("path", ["/collections/nope", "/collections/nope/items", "/collections/manholes/items/abc",
                                  "/collections/manholes/items/99999999999999999999", "/collections/manholes/items/0"])
async def test_not_found(client, path):
    r = await client.get(path)
    assert r.status_code == 404 and r.json()["code"] == "NotFound"


@pytest.mark.parametrize("query", ["limit=abc", "limit=0", "bbox=1,2,3", "bbox=1,2,a,4", "bbox=3,3,1,1", "crs=EPSG:99999",
                                   "crs=EPSG:2000", "sortby=nope", "cursor=@@", "unknownparam=1", "properties=nope",
                                   "cover_diameter_mm=big", "ids=x"])
async def test_bad_query_parameters_are_400(client, query):
    r = await client.get(f"/collections/manholes/items?{query}")
    assert r.status_code == 400, r.text


async def test_garbage_content_length_is_not_a_500(client, tokens, city):
    r = await client.post(URL, content=b"{}", headers={**auth(tokens["admin"]), "Content-Type": "application/json",
                                                       "Content-Length": "two"})
    assert r.status_code == 422, r.text
