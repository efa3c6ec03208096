"""Part 2 CRS (OGC 18-058), lossless paging through `next`, and optimistic locking under concurrency."""

from __future__ import annotations

import asyncio

import pytest

from tests.fixtures import auth
from tests.ogc.conftest import MARK

URL = "/collections/toilets/items"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"


async def _first(client, fid: int, crs: str | None = None) -> tuple[list[float], dict]:
    r = await client.get(f"{URL}/{fid}", params={"crs": crs} if crs else {})
    assert r.status_code == 200, r.text
    return r.json()["geometry"]["coordinates"], r.headers


async def test_crs84_by_default(client, toilets):
    fid, t = next(iter(toilets.items()))
    coords, headers = await _first(client, fid)
    assert coords == pytest.approx(t["pos"], abs=1e-7)
    assert headers["content-crs"] == "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"


async def test_epsg_4326_is_lat_lon(client, toilets):
    fid, t = next(iter(toilets.items()))
    coords, headers = await _first(client, fid, EPSG + "4326")
    assert coords == pytest.approx(t["pos"][::-1], abs=1e-7)
    assert headers["content-crs"] == f"<{EPSG}4326>"
    page = (await client.get(URL, params={"crs": "EPSG:4326", "ids": str(fid)}))
    assert page.headers["content-crs"] == f"<{EPSG}4326>"
    assert page.json()["features"][0]["geometry"]["coordinates"] == pytest.approx(t["pos"][::-1], abs=1e-7)


async def test_epsg_4547_is_northing_easting(client, toilets, db):
    """EPSG:4547 declares northing first (EPSG axis order), so Part 2 output is [N, E]."""
    fid, _ = next(iter(toilets.items()))
    coords, headers = await _first(client, fid, EPSG + "4547")
    e, n = await db.fetchrow("SELECT ST_X(ST_Transform(geom, 4547)), ST_Y(ST_Transform(geom, 4547)) FROM toilets "
                             "WHERE id = $1", fid)
    assert coords == pytest.approx([n, e], abs=1e-3) and coords[0] > 3_000_000 > coords[1]
    assert headers["content-crs"] == f"<{EPSG}4547>"


async def test_bbox_crs(client, toilets):
    base = {"remarks": MARK, "limit": 1000}
    crs84 = (await client.get(URL, params={**base, "bbox": "113.65,34.70,113.75,34.80"})).json()
    latlon = (await client.get(URL, params={**base, "bbox": "34.70,113.65,34.80,113.75", "bbox-crs": EPSG + "4326"})).json()
    ids = {f["id"] for f in crs84["features"]}
    assert ids == {f["id"] for f in latlon["features"]}
    assert ids == {fid for fid, t in toilets.items() if 113.65 <= t["pos"][0] <= 113.75 and 34.70 <= t["pos"][1] <= 34.80}


@pytest.mark.parametrize("crs", ["EPSG:32650", "EPSG:999999", "nonsense"])
async def test_unsupported_crs_is_400(client, toilets, crs):
    fid = next(iter(toilets))
    assert (await client.get(URL, params={"crs": crs})).status_code == 400
    assert (await client.get(f"{URL}/{fid}", params={"crs": crs})).status_code == 400
    assert (await client.get(URL, params={"bbox": "0,0,1,1", "bbox-crs": crs})).status_code == 400


async def test_collection_advertises_crs(client):
    doc = (await client.get("/collections/toilets")).json()
    assert doc["storageCrs"] == EPSG + "4547"
    assert {EPSG + "4326", EPSG + "4490", EPSG + "4547", EPSG + "3857",
            "http://www.opengis.net/def/crs/OGC/1.3/CRS84"} <= set(doc["crs"])


async def _walk(client, url: str, params: dict) -> list[int]:
    seen: list[int] = []
    r = await client.get(url, params=params)
    while True:
        assert r.status_code == 200, r.text
        page = r.json()
        seen += [f["id"] for f in page["features"]]
        nxt = [lk["href"] for lk in page["links"] if lk["rel"] == "next"]
        if not nxt:
            return seen
        assert all(lk["type"] == "application/geo+json" for lk in page["links"] if lk["rel"] == "next")
        r = await client.get(nxt[0].split("testserver", 1)[1])


@pytest.mark.parametrize("limit", [1, 7, 1000])
async def test_next_links_are_lossless(client, toilets, limit):
    seen = await _walk(client, URL, {"remarks": MARK, "limit": limit})
    assert len(seen) == len(set(seen)) == len(toilets) and set(seen) == set(toilets)


@pytest.mark.parametrize("limit", [1, 7])
async def test_next_links_keep_the_filter_and_sort(client, toilets, limit):
    want = {fid for fid, t in toilets.items() if t["props"]["toilet_class"] != "I"}
    seen = await _walk(client, URL, {"filter": f"remarks = '{MARK}' AND toilet_class <> 'I'", "limit": limit,
                                     "sortby": "-stalls_male"})
    assert len(seen) == len(set(seen)) and set(seen) == want


async def test_concurrent_patches_one_wins(client, tokens, toilets):
    """Two PATCHes with the same ETag on two connections: one 200, one 412 (Part 4 optimistic locking)."""
    admin = auth(tokens["admin"])
    fid = next(iter(toilets))
    tag = (await client.get(f"{URL}/{fid}")).headers["etag"]

    async def patch(phone: str):
        return await client.patch(f"{URL}/{fid}", json={"properties": {"complaint_phone": phone}},
                                  headers={**admin, "If-Match": tag, "Content-Type": "application/merge-patch+json"})

    a, b = await asyncio.gather(patch("12345"), patch("67890"))
    assert sorted([a.status_code, b.status_code]) == [200, 412], (a.text, b.text)
    winner = a if a.status_code == 200 else b
    assert (await client.get(f"{URL}/{fid}")).json()["properties"]["complaint_phone"] == \
        winner.json()["properties"]["complaint_phone"]
