"""Landing page, conformance, collections, items paging/filters/bbox, OpenAPI, schema and health."""

from __future__ import annotations

import pytest
import shapely
from pyproj import Transformer

from tests.fixtures import auth

N = 23  # street_furniture features created for the paging tests


@pytest.fixture(scope="module")
async def benches(client, tokens, city):
    """N benches on a diagonal through both districts, every third one damaged."""
    admin = auth(tokens["admin"])
    ids = []
    for i in range(N):
        f = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [113.60 + i * 0.01, 34.71 + i * 0.005]},
             "properties": {"category": "bench", "seats": 3, "condition": "damaged" if i % 3 == 0 else "intact",
                            "remarks": "paging"}}
        r = await client.post("/collections/street_furniture/items", json=f, headers=admin)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return ids


async def _walk(client, url: str) -> list:
    seen = []
    while url:
        r = await client.get(url)
        assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
        page = r.json()
        seen += [f["id"] for f in page["features"]]
        nxt = [link["href"] for link in page["links"] if link["rel"] == "next"]
        url = nxt[0].split("testserver", 1)[1] if nxt else None
    return seen


@pytest.mark.parametrize("limit", [1, 7, 1000])
async def test_paging_is_lossless(client, benches, limit):
    seen = await _walk(client, f"/collections/street_furniture/items?remarks=paging&limit={limit}")
    assert sorted(seen) == sorted(benches) and len(set(seen)) == N


async def test_offset_paging_and_sortby(client, benches):
    seen = await _walk(client, "/collections/street_furniture/items?remarks=paging&limit=5&sortby=-seats,condition")
    assert sorted(seen) == sorted(benches)
    first = (await client.get("/collections/street_furniture/items?remarks=paging&limit=5&offset=5")).json()
    assert [link["rel"] for link in first["links"]].count("prev") == 1


async def test_number_matched_and_property_filter(client, benches):
    page = (await client.get("/collections/street_furniture/items?remarks=paging&condition=damaged&limit=2")).json()
    assert page["numberMatched"] == len(range(0, N, 3)) and page["numberReturned"] == 2
    hits = (await client.get("/collections/street_furniture/items?remarks=paging&resultType=hits")).json()
    assert hits["numberMatched"] == N and hits["features"] == []


async def test_unfiltered_count_comes_from_the_counter(client, db, benches):
    page = (await client.get("/collections/street_furniture/items?limit=1")).json()
    assert page["numberMatched"] == await db.fetchval("SELECT count(*) FROM street_furniture WHERE retired_at IS NULL")


async def test_bbox_is_exact_intersects(client, benches):
    bbox = (113.645, 34.73, 113.705, 34.76)
    page = (await client.get(f"/collections/street_furniture/items?remarks=paging&bbox={','.join(map(str, bbox))}")).json()
    box = shapely.box(*bbox)
    expected = [i for i in range(N) if box.intersects(shapely.Point(113.60 + i * 0.01, 34.71 + i * 0.005))]
    assert len(page["features"]) == len(expected) > 0
    for f in page["features"]:
        assert box.intersects(shapely.geometry.shape(f["geometry"]))


async def test_output_crs_and_axis_order(client, benches):
    fid = benches[0]
    lonlat = (await client.get(f"/collections/street_furniture/items/{fid}")).json()["geometry"]["coordinates"]
    assert lonlat == pytest.approx([113.60, 34.71], abs=1e-7)
    r = await client.get(f"/collections/street_furniture/items/{fid}?crs=http://www.opengis.net/def/crs/EPSG/0/4326")
    assert r.json()["geometry"]["coordinates"] == pytest.approx([34.71, 113.60], abs=1e-7)  # EPSG:4326 is lat, lon
    assert r.headers["content-crs"] == "<http://www.opengis.net/def/crs/EPSG/0/4326>"
    en = Transformer.from_crs("OGC:CRS84", "EPSG:3857", always_xy=True).transform(113.60, 34.71)
    r = await client.get(f"/collections/street_furniture/items/{fid}?crs=http://www.opengis.net/def/crs/EPSG/0/3857")
    assert r.json()["geometry"]["coordinates"] == pytest.approx(list(en), abs=0.01)


async def test_landing_conformance_openapi(client):
    landing = (await client.get("/")).json()
    rels = {link["rel"]: link for link in landing["links"]}
    assert rels["service-desc"]["type"] == "application/vnd.oai.openapi+json;version=3.0"
    assert rels["data"]["href"].endswith("/collections")
    conf = (await client.get("/conformance")).json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conf
    api = await client.get("/api")
    assert api.headers["content-type"] == "application/vnd.oai.openapi+json;version=3.0"
    doc = api.json()
    assert doc["components"]["parameters"]["limit"]["schema"]["maximum"] == 10_000
    names = {p.get("name") for p in doc["paths"]["/collections/manholes/items"]["get"]["parameters"]}
    assert {"utility_type", "owner", "condition"} <= names  # GDAL 3.6 pushes col=value only when declared


async def test_collections_describe_every_collection(client, city):
    from cityassets.catalogue import COLLECTIONS

    docs = (await client.get("/collections")).json()["collections"]
    assert {d["id"] for d in docs} == set(COLLECTIONS)
    d = (await client.get("/collections/districts")).json()
    x0, y0, x1, y1 = d["extent"]["spatial"]["bbox"][0]
    assert x0 <= 113.56 and x1 >= 113.84 and y0 <= 34.71 and y1 >= 34.84
    assert d["storageCrs"] == "http://www.opengis.net/def/crs/EPSG/0/4547"


async def test_schema_publishes_vocabularies(client):
    s = (await client.get("/collections/manholes/schema")).json()
    ut = s["properties"]["utility_type"]
    assert "ownerless" in ut["enum"] and ut["x-enum-labels"]["ownerless"]["zh"] == "无主"
    assert "utility_type" in s["required"] and s["properties"]["asset_code"]["pattern"] == r"^\d{16}$"
    assert s["properties"]["version"]["readOnly"] is True


async def test_health(client):
    h = (await client.get("/health")).json()
    assert h["status"] == "ok" and h["database"] is True and h["postgis"].startswith("3.")
