"""Part 3 filtering: CQL2 text and JSON on real data, spatial operators, and what must be refused."""

from __future__ import annotations

import json
import time

import pytest

from tests.ogc.conftest import MARK

URL = "/collections/toilets/items"


async def ids(client, params: dict) -> set[int]:
    """Every id matching, through the items endpoint (one big page)."""
    r = await client.get(URL, params={"remarks": MARK, "limit": 1000, **params})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["numberMatched"] == body["numberReturned"]
    return {f["id"] for f in body["features"]}


def where(toilets, pred) -> set[int]:
    return {fid for fid, t in toilets.items() if pred(t["props"], t["pos"])}


CASES = [
    ("toilet_class = 'II'", {"op": "=", "args": [{"property": "toilet_class"}, "II"]},
     lambda p, _: p["toilet_class"] == "II"),
    ("stalls_male >= 3 AND is_24h = false", {"op": "and", "args": [
        {"op": ">=", "args": [{"property": "stalls_male"}, 3]}, {"op": "=", "args": [{"property": "is_24h"}, False]}]},
     lambda p, _: p["stalls_male"] >= 3 and not p["is_24h"]),
    ("toilet_class <> 'I' OR NOT stalls_male < 2", {"op": "or", "args": [
        {"op": "<>", "args": [{"property": "toilet_class"}, "I"]},
        {"op": "not", "args": [{"op": "<", "args": [{"property": "stalls_male"}, 2]}]}]},
     lambda p, _: p["toilet_class"] != "I" or not p["stalls_male"] < 2),
    ("name LIKE '公厕1%'", {"op": "like", "args": [{"property": "name"}, "公厕1%"]},
     lambda p, _: (p["name"] or "").startswith("公厕1")),
    ("CASEI(toilet_type) = CASEI('STANDALONE')",
     {"op": "=", "args": [{"op": "casei", "args": [{"property": "toilet_type"}]}, {"op": "casei", "args": ["STANDALONE"]}]},
     lambda p, _: p["toilet_type"] == "standalone"),
    ("stalls_male BETWEEN 1 AND 3", {"op": "between", "args": [{"property": "stalls_male"}, 1, 3]},
     lambda p, _: 1 <= p["stalls_male"] <= 3),
    ("toilet_class IN ('I', 'III')", {"op": "in", "args": [{"property": "toilet_class"}, ["I", "III"]]},
     lambda p, _: p["toilet_class"] in ("I", "III")),
    ("name IS NULL", {"op": "isNull", "args": [{"property": "name"}]}, lambda p, _: p["name"] is None),
    ("name IS NOT NULL", {"op": "not", "args": [{"op": "isNull", "args": [{"property": "name"}]}]},
     lambda p, _: p["name"] is not None),
    ("install_date > DATE('2015-06-01')", {"op": ">", "args": [{"property": "install_date"}, {"date": "2015-06-01"}]},
     lambda p, _: p["install_date"] > "2015-06-01"),
    ("T_BEFORE(install_date, DATE('2014-01-01'))",
     {"op": "t_before", "args": [{"property": "install_date"}, {"date": "2014-01-01"}]},
     lambda p, _: p["install_date"] < "2014-01-01"),
    ("T_DURING(install_date, INTERVAL('2012-01-01', '..'))",
     {"op": "t_during", "args": [{"property": "install_date"}, {"interval": ["2012-01-01", ".."]}]},
     lambda p, _: p["install_date"] > "2012-01-01"),
    ("S_INTERSECTS(geometry, BBOX(113.65, 34.70, 113.75, 34.80))",
     {"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": [113.65, 34.70, 113.75, 34.80]}]},
     lambda _, x: 113.65 <= x[0] <= 113.75 and 34.70 <= x[1] <= 34.80),
    ("S_WITHIN(geometry, POLYGON((113.5 34.7, 113.7 34.7, 113.7 34.9, 113.5 34.9, 113.5 34.7)))",
     {"op": "s_within", "args": [{"property": "geometry"}, {"type": "Polygon", "coordinates": [
         [[113.5, 34.7], [113.7, 34.7], [113.7, 34.9], [113.5, 34.9], [113.5, 34.7]]]}]},
     lambda _, x: x[0] < 113.7),
    ("S_DISJOINT(geometry, BBOX(113.5, 34.7, 113.7, 34.9))",
     {"op": "s_disjoint", "args": [{"property": "geometry"}, {"bbox": [113.5, 34.7, 113.7, 34.9]}]},
     lambda _, x: x[0] > 113.7),
    ("S_CONTAINS(POLYGON((113.5 34.7, 113.7 34.7, 113.7 34.9, 113.5 34.9, 113.5 34.7)), geometry)",
     {"op": "s_contains", "args": [{"type": "Polygon", "coordinates": [
         [[113.5, 34.7], [113.7, 34.7], [113.7, 34.9], [113.5, 34.9], [113.5, 34.7]]]}, {"property": "geometry"}]},
     lambda _, x: x[0] < 113.7),
]


@pytest.mark.parametrize("text,expr,pred", CASES, ids=[c[0] for c in CASES])
async def test_cql2_text_and_json_agree_with_the_data(client, toilets, text, expr, pred):
    expected = where(toilets, pred)
    assert 0 < len(expected) < len(toilets), "a case must split the data"
    assert await ids(client, {"filter": text}) == expected
    assert await ids(client, {"filter": text, "filter-lang": "cql2-text"}) == expected
    assert await ids(client, {"filter": json.dumps(expr), "filter-lang": "cql2-json"}) == expected


async def test_dwithin_metres_in_storage_crs(client, toilets, db, settings):
    """S_DWITHIN counts what PostGIS counts with ST_DWithin in the (metric) storage CRS."""
    flt = "S_DWITHIN(geometry, POINT(113.68 34.75), 5000)"
    got = await ids(client, {"filter": flt})
    want = {r["id"] for r in await db.fetch(
        "SELECT id FROM toilets WHERE remarks = $1 AND retired_at IS NULL AND ST_DWithin(geom, "
        "ST_Transform(ST_SetSRID(ST_MakePoint(113.68, 34.75), 4326), $2::int), 5000)", MARK, settings.storage_srid)}
    assert got == want and 0 < len(got) < len(toilets)


async def test_filter_crs_axis_order(client, toilets):
    """filter-crs literals follow the CRS's axis order, as bbox-crs does (Part 3 /req/filter/filter-crs)."""
    crs84 = await ids(client, {"filter": "S_INTERSECTS(geometry, BBOX(113.65, 34.70, 113.75, 34.80))"})
    latlon = await ids(client, {"filter": "S_INTERSECTS(geometry, BBOX(34.70, 113.65, 34.80, 113.75))",
                                "filter-crs": "http://www.opengis.net/def/crs/EPSG/0/4326"})
    assert crs84 == latlon
    pt = await ids(client, {"filter": "S_INTERSECTS(geometry, POLYGON((34.70 113.65, 34.70 113.75, 34.80 113.75, "
                                      "34.80 113.65, 34.70 113.65)))", "filter-crs": "EPSG:4326"})
    assert pt == crs84


@pytest.mark.parametrize("flt", [
    "pg_sleep(5)=1",
    "pg_sleep(5) = 1 OR toilet_class = 'I'",
    "nope = 1",
    "toilet_class = 'I' AND secret_column = 2",
    "upper(toilet_class) = 'I'",
    "stalls_male + 1 > 2",
    "toilet_class = 1",
    "stalls_male = 'x'",
    "source_geometry IS NULL",
    "S_INTERSECTS(geometry, toilet_class)",
    "toilet_class LIKE 5",
    "toilet_class =",
])
async def test_refused_fast(client, toilets, flt):
    t0 = time.perf_counter()
    r = await client.get(URL, params={"filter": flt})
    assert r.status_code == 400, r.text
    assert time.perf_counter() - t0 < 1.0
    assert r.json()["code"] == "InvalidParameterValue"


@pytest.mark.parametrize("expr", [
    {"op": "pg_sleep", "args": [5]},
    {"op": "=", "args": [{"op": "pg_sleep", "args": [5]}, 1]},
    {"op": "=", "args": [{"property": "toilet_class\"; DROP TABLE toilets; --"}, "I"]},
    {"op": "s_intersects", "args": [{"property": "geometry"}, {"type": "Polygon", "coordinates": [[[0, 0], [1, 0]]]}]},
    {"op": "in", "args": [{"property": "toilet_class"}, []]},
    {"op": "and", "args": [{"op": "=", "args": [{"property": "toilet_class"}, "I"]}]},
])
async def test_refused_json(client, toilets, expr):
    r = await client.get(URL, params={"filter": json.dumps(expr), "filter-lang": "cql2-json"})
    assert r.status_code == 400, r.text


def test_vertex_cap():
    """Literal geometries are capped (a URL can't carry that many, but WFS POST bodies can)."""
    from cityassets.catalogue import COLLECTIONS
    from cityassets.errors import InvalidRequest
    from cityassets.ogc.filters import MAX_VERTICES, compile_cql2_json
    from cityassets.repository.sql import Params

    line = {"type": "LineString", "coordinates": [[113.6 + i * 1e-6, 34.7] for i in range(MAX_VERTICES + 1)]}
    with pytest.raises(InvalidRequest, match="vertices"):
        compile_cql2_json(COLLECTIONS["toilets"], {"op": "s_intersects", "args": [{"property": "geometry"}, line]},
                          Params(), 4547)


async def test_sql_in_strings_is_just_a_string(client, toilets):
    assert await ids(client, {"filter": "name = 'x''; SELECT pg_sleep(5); --'"}) == set()
    assert await ids(client, {"filter": "name LIKE '%'' OR 1=1 --'"}) == set()


async def test_bad_language_and_crs(client, toilets):
    assert (await client.get(URL, params={"filter": "a=1", "filter-lang": "sql"})).status_code == 400
    assert (await client.get(URL, params={"filter": "toilet_class='I'", "filter-crs": "EPSG:32650"})).status_code == 400
    assert (await client.get(URL, params={"filter": "{not json", "filter-lang": "cql2-json"})).status_code == 400


async def test_conformance_and_count(client, toilets):
    conf = (await client.get("/conformance")).json()["conformsTo"]
    for c in ("ogcapi-features-3/1.0/conf/filter", "ogcapi-features-3/1.0/conf/features-filter", "cql2/1.0/conf/cql2-text",
              "cql2/1.0/conf/cql2-json", "cql2/1.0/conf/basic-cql2", "ogcapi-features-2/1.0/conf/crs"):
        assert f"http://www.opengis.net/spec/{c}" in conf
    hits = (await client.get(URL, params={"filter": "toilet_class = 'II' AND remarks = 'ogc-test'",
                                          "resultType": "hits"})).json()
    assert hits["numberMatched"] == sum(1 for t in toilets.values() if t["props"]["toilet_class"] == "II")
