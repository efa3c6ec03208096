"""Vector tiles (OGC API - Tiles, MVT), TileJSON and tileset metadata."""

from __future__ import annotations

from tests.ogc.mvt import decode, tile_of

BASE = "/collections/toilets/tiles/WebMercatorQuad"


async def test_tile_has_the_features_of_its_area(client, toilets, db):
    fid, t = next((k, v) for k, v in toilets.items() if v["i"] == 0)
    x, y = tile_of(*t["pos"], 14)
    r = await client.get(f"{BASE}/14/{x}/{y}")
    assert r.status_code == 200 and r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    layer = decode(r.content)["toilets"]
    got = {f["id"]: f for f in layer["features"]}
    inside = {r["id"] for r in await db.fetch(
        "SELECT id FROM toilets WHERE retired_at IS NULL AND ST_Intersects(ST_Transform(geom, 3857), "
        "ST_TileEnvelope(14, $1, $2))", x, y)}
    buffered = {r["id"] for r in await db.fetch(
        "SELECT id FROM toilets WHERE retired_at IS NULL AND ST_Intersects(ST_Transform(geom, 3857), "
        "ST_TileEnvelope(14, $1, $2, margin => 64.0 / 4096))", x, y)}
    assert fid in got and inside <= set(got) <= buffered
    f = got[fid]
    assert f["type"] == "Point" and f["properties"]["toilet_class"] == t["props"]["toilet_class"]
    assert f["properties"]["is_24h"] is t["props"]["is_24h"] and 0 <= f["first"][0] < 4096


async def test_polygons_at_low_zoom(client, city):
    x, y = tile_of(113.70, 34.78, 8)
    r = await client.get(f"/collections/districts/tiles/WebMercatorQuad/8/{x}/{y}")
    assert r.status_code == 200
    feats = decode(r.content)["districts"]["features"]
    assert {f["properties"]["code"] for f in feats} >= {"410102", "410105"}
    assert {f["type"] for f in feats} == {"Polygon"}


async def test_empty_tile_is_204_and_etag_revalidates(client, toilets):
    r = await client.get(f"{BASE}/14/0/0")
    assert r.status_code == 204 and r.content == b""
    again = await client.get(f"{BASE}/14/0/0", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304


async def test_tile_ranges(client, toilets):
    assert (await client.get(f"{BASE}/23/0/0")).status_code == 404
    assert (await client.get(f"{BASE}/3/8/0")).status_code == 404
    assert (await client.get(f"{BASE}/3/0/-1")).status_code == 404
    assert (await client.get(f"{BASE}/a/0/0")).status_code == 400
    assert (await client.get("/collections/nope/tiles/WebMercatorQuad/1/0/0")).status_code == 404


async def test_tilejson_and_tileset(client, toilets):
    tj = (await client.get(f"{BASE}/tilejson.json")).json()
    assert tj["tilejson"] == "3.0.0" and tj["tiles"][0].endswith("/collections/toilets/tiles/WebMercatorQuad/{z}/{x}/{y}")
    assert tj["vector_layers"][0]["id"] == "toilets" and tj["vector_layers"][0]["fields"]["stalls_male"] == "Number"
    ts = (await client.get(BASE)).json()
    assert any(lk["rel"] == "item" and "{z}" in lk["href"] for lk in ts["links"])
    sets = (await client.get("/collections/toilets/tiles")).json()
    assert sets["tilesets"][0]["tileMatrixSetURI"].endswith("WebMercatorQuad")
    conf = (await client.get("/conformance")).json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt" in conf


async def test_collection_links_its_tilesets(client):
    links = (await client.get("/collections/roads")).json()["links"]
    assert any(lk["rel"].endswith("/tilesets-vector") and lk["href"].endswith("/collections/roads/tiles") for lk in links)
