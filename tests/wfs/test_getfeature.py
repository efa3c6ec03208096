"""GetFeature: paging, hits, BBOX and SRSNAME axis order, GeoJSON, SORTBY, ids, GetPropertyValue (R3, R4, P1, P4)."""

from __future__ import annotations

import pytest

from tests.wfs.conftest import NS, exception_code, live_ids, member_ids, xml

GF = "/wfs?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES=ca:manholes"
IN_BOX = "ST_Intersects(ST_Transform(t.geom, 4326), ST_MakeEnvelope(113.675, 34.745, 113.705, 34.775, 4326))"


async def test_paging_page_size_7_yields_every_id_once(client, db, wfs_data):
    expected = await live_ids(db, "manholes")
    got, start, pages = [], 0, 0
    while True:
        r = await client.get(f"{GF}&STARTINDEX={start}&COUNT=7")
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/gml+xml")
        root = xml(r)
        ids = member_ids(root)
        assert root.get("numberMatched") == str(len(expected)) and root.get("numberReturned") == str(len(ids))
        got += ids
        pages += 1
        if root.get("next") is None:
            assert len(ids) < 7 or start + 7 == len(expected)
            break
        assert "STARTINDEX=" + str(start + 7) in root.get("next")
        start += 7
    assert got == expected and len(set(got)) == len(expected) and pages == -(-len(expected) // 7)
    past = xml(await client.get(f"{GF}&STARTINDEX={len(expected) + 50}&COUNT=7"))  # P15: empty, not an error
    assert member_ids(past) == [] and past.get("numberReturned") == "0"


async def test_every_feature_has_gml_id_and_urn_srsname(client, wfs_data):
    root = xml(await client.get(f"{GF}&COUNT=3"))
    feats = root.findall("wfs:member/ca:manholes", NS)
    assert len(feats) == 3
    for f in feats:
        assert f.get(f"{{{NS['gml']}}}id").startswith("manholes.")
        assert f.find("ca:geom/gml:Point", NS).get("srsName") == "urn:ogc:def:crs:EPSG::4326"


async def test_hits(client, db, wfs_data):
    root = xml(await client.get(f"{GF}&RESULTTYPE=hits"))
    assert root.get("numberMatched") == str(len(await live_ids(db, "manholes"))) and root.get("numberReturned") == "0"
    assert list(root) == []
    r = xml(await client.get("/wfs?service=WFS&version=1.1.0&request=GetFeature&typename=ca:manholes&resulttype=hits"))
    assert r.get("numberOfFeatures") == str(len(await live_ids(db, "manholes")))


@pytest.mark.parametrize("bbox", [
    "113.675,34.745,113.705,34.775,EPSG:4326",  # x/y form: lon/lat (GeoServer table)
    "113.675,34.745,113.705,34.775,http://www.opengis.net/gml/srs/epsg.xml%234326",
    "34.745,113.675,34.775,113.705,urn:ogc:def:crs:EPSG::4326",  # URN: lat/lon (what QGIS sends)
    "34.745,113.675,34.775,113.705,http://www.opengis.net/def/crs/EPSG/0/4326",
    "34.745,113.675,34.775,113.705",  # no CRS: the DefaultCRS urn:...:4326, lat/lon (OWSLib)
    "113.675,34.745,113.705,34.775,urn:ogc:def:crs:OGC:1.3:CRS84",
])
async def test_bbox_axis_order(client, db, wfs_data, bbox):
    expected = await live_ids(db, "manholes", IN_BOX)
    assert expected  # the fixture grid straddles the box
    root = xml(await client.get(f"{GF}&BBOX={bbox}"))
    assert sorted(member_ids(root)) == expected


async def test_bbox_in_projected_crs(client, db, wfs_data):
    row = await db.fetchrow("SELECT ST_XMin(e) x0, ST_YMin(e) y0, ST_XMax(e) x1, ST_YMax(e) y1 FROM "
                            "(SELECT ST_Transform(ST_MakeEnvelope(113.675, 34.745, 113.705, 34.775, 4326), 3857) e) s")
    r = await client.get(f"{GF}&BBOX={row['x0']},{row['y0']},{row['x1']},{row['y1']},EPSG:3857")
    expected = await live_ids(db, "manholes", "ST_Intersects(ST_Transform(t.geom, 3857), ST_MakeEnvelope($1, $2, $3, $4, 3857))",
                              row["x0"], row["y0"], row["x1"], row["y1"])
    assert sorted(member_ids(xml(r))) == expected


@pytest.mark.parametrize("srsname,order,label", [
    (None, "latlon", "urn:ogc:def:crs:EPSG::4326"),
    ("urn:ogc:def:crs:EPSG::4326", "latlon", "urn:ogc:def:crs:EPSG::4326"),
    ("http://www.opengis.net/def/crs/EPSG/0/4326", "latlon", "urn:ogc:def:crs:EPSG::4326"),
    ("EPSG:4326", "lonlat", "EPSG:4326"),
    ("urn:ogc:def:crs:EPSG::4490", "latlon", "urn:ogc:def:crs:EPSG::4490"),
    ("urn:ogc:def:crs:EPSG::3857", "xy3857", "urn:ogc:def:crs:EPSG::3857"),
    ("urn:ogc:def:crs:EPSG::4547", "ne4547", "urn:ogc:def:crs:EPSG::4547"),
])
async def test_srsname_output_axis_order(client, db, wfs_data, srsname, order, label):
    fid = wfs_data["manholes"][7]
    row = await db.fetchrow(
        "SELECT ST_X(ST_Transform(geom, 4326)) lon, ST_Y(ST_Transform(geom, 4326)) lat, ST_X(ST_Transform(geom, 3857)) mx, "
        "ST_Y(ST_Transform(geom, 3857)) my, ST_X(ST_Transform(geom, 4547)) e, ST_Y(ST_Transform(geom, 4547)) n "
        "FROM manholes WHERE id = $1", fid)
    url = f"{GF}&RESOURCEID=manholes.{fid}" + (f"&SRSNAME={srsname}" if srsname else "")
    pt = xml(await client.get(url)).find("wfs:member/ca:manholes/ca:geom/gml:Point", NS)
    assert pt.get("srsName") == label
    a, b = (float(v) for v in pt.findtext("gml:pos", namespaces=NS).split())
    want = {"latlon": (row["lat"], row["lon"], 1e-6), "lonlat": (row["lon"], row["lat"], 1e-6),
            "xy3857": (row["mx"], row["my"], 1e-2), "ne4547": (row["n"], row["e"], 1e-2)}[order]
    assert abs(a - want[0]) < want[2] and abs(b - want[1]) < want[2]


async def test_unknown_srsname_is_refused(client):
    r = await client.get(f"{GF}&SRSNAME=EPSG:2000")
    assert r.status_code == 400 and exception_code(r) == "InvalidParameterValue"


async def test_geojson_output(client, db, wfs_data):
    r = await client.get(f"{GF}&COUNT=5&OUTPUTFORMAT=application/json")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    body = r.json()
    assert len(body["features"]) == 5 and body["numberMatched"] == len(await live_ids(db, "manholes"))
    first = body["features"][0]
    row = await db.fetchrow("SELECT ST_X(ST_Transform(geom, 4326)) x, ST_Y(ST_Transform(geom, 4326)) y FROM manholes WHERE id = $1",
                            first["id"])
    assert first["geometry"]["coordinates"] == pytest.approx([row["x"], row["y"]], abs=1e-6)  # RFC 7946: lon/lat


async def test_sortby_with_id_tiebreak(client, db, wfs_data):
    expected = [r["id"] for r in await db.fetch(
        "SELECT id FROM manholes WHERE retired_at IS NULL ORDER BY depth_m DESC NULLS LAST, id LIMIT 12")]
    r = await client.get(f"{GF}&COUNT=12&SORTBY=depth_m%20DESC")
    assert member_ids(xml(r)) == expected
    r = await client.get(f"{GF}&COUNT=12&SORTBY=ca:depth_m%20D")  # 1.1 form
    assert member_ids(xml(r)) == expected
    bad = await client.get(f"{GF}&SORTBY=nope")
    assert bad.status_code == 400 and 'locator="SORTBY"' in bad.text


async def test_resource_ids_property_names_and_get_feature_by_id(client, wfs_data):
    a, b = wfs_data["manholes"][:2]
    root = xml(await client.get(f"/wfs?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&RESOURCEID=manholes.{b},manholes.{a}"))
    assert member_ids(root) == [a, b]
    root = xml(await client.get(f"{GF}&RESOURCEID=manholes.{a}&PROPERTYNAME=condition,ca:depth_m"))
    feat = root.find("wfs:member/ca:manholes", NS)
    assert [c.tag.split("}")[1] for c in feat] == ["condition", "depth_m"]
    r = await client.get("/wfs?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&STOREDQUERY_ID="
                         f"urn:ogc:def:query:OGC-WFS::GetFeatureById&ID=manholes.{a}")
    assert r.status_code == 200 and xml(r).tag == f"{{{NS['ca']}}}manholes"
    r = await client.get("/wfs?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&STOREDQUERY_ID="
                         "urn:ogc:def:query:OGC-WFS::GetFeatureById&ID=manholes.999999")
    assert r.status_code == 404 and exception_code(r) == "NotFound"


async def test_green_spaces_multisurface(client, db, wfs_data):
    root = xml(await client.get(f"/wfs?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES=ca:green_spaces"
                                f"&RESOURCEID=green_spaces.{wfs_data['green_spaces'][0]}"))
    ms = root.find("wfs:member/ca:green_spaces/ca:geom/gml:MultiSurface", NS)
    assert ms is not None and ms.find("gml:surfaceMember/gml:Polygon/gml:exterior/gml:LinearRing/gml:posList", NS) is not None


async def test_wfs_1_1_0_get_feature(client, wfs_data):
    r = await client.get("/wfs?SERVICE=WFS&VERSION=1.1.0&REQUEST=GetFeature&TYPENAME=ca:manholes&MAXFEATURES=4")
    root = xml(r)
    assert root.tag == f"{{{NS['wfs1']}}}FeatureCollection" and root.get("numberOfFeatures") == "4"
    assert len(root.findall("gml1:featureMember/ca:manholes", NS)) == 4


async def test_get_property_value(client, db, wfs_data):
    r = await client.get("/wfs?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetPropertyValue&TYPENAMES=ca:manholes"
                         "&VALUEREFERENCE=condition&COUNT=5")
    root = xml(r)
    assert root.tag == f"{{{NS['wfs']}}}ValueCollection"
    values = [m.findtext("ca:condition", namespaces=NS) for m in root.findall("wfs:member", NS)]
    expected = [r["condition"] for r in await db.fetch(
        "SELECT condition FROM manholes WHERE retired_at IS NULL AND condition IS NOT NULL ORDER BY id LIMIT 5")]
    assert values == expected
    r = await client.get("/wfs?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetPropertyValue&TYPENAMES=ca:manholes&VALUEREFERENCE=geom&COUNT=1")
    assert xml(r).find("wfs:member/ca:geom/gml:Point", NS) is not None


@pytest.mark.parametrize("query", [
    "REQUEST=GetFeature&TYPENAMES=ca:manholes&COUNT=-1",
    "REQUEST=GetFeature&TYPENAMES=ca:manholes&COUNT=abc",
    "REQUEST=GetFeature&TYPENAMES=ca:manholes&STARTINDEX=1e99",
    "REQUEST=GetFeature&TYPENAMES=ca:manholes&BBOX=1,2,3",
    "REQUEST=GetFeature&TYPENAMES=ca:manholes&BBOX=a,b,c,d",
    "REQUEST=GetFeature&TYPENAMES=ca:manholes&BBOX=3,2,1,0",
    "REQUEST=GetFeature&TYPENAMES=ca:manholes&BBOX=1,2,3,4,EPSG:99999999",
    "REQUEST=GetFeature&TYPENAMES=ca:manholes&BBOX=nan,1,2,3",
    "REQUEST=GetFeature&TYPENAMES=ca:manholes&FILTER=<notxml",
    "REQUEST=GetFeature&TYPENAMES=ca:manholes&FILTER=<Filter/>",
    "REQUEST=GetFeature&TYPENAMES=ca:manholes&RESOURCEID=manholes.x",
    "REQUEST=GetFeature&TYPENAMES=ca:manholes&RESULTTYPE=everything",
    "REQUEST=GetFeature&TYPENAMES=ca:manholes&OUTPUTFORMAT=shape-zip",
    "REQUEST=GetFeature&TYPENAMES=ca:manholes&PROPERTYNAME=nope",
    "REQUEST=GetFeature&TYPENAMES=ca:manholes,ca:trees",
    "REQUEST=GetFeature",
    "REQUEST=GetFeature&TYPENAMES=ca:manholes&VERSION=9.9.9",
    "REQUEST=GetPropertyValue&TYPENAMES=ca:manholes",
    "REQUEST=GetFeature&TYPENAMES=ca:manholes&BBOX=1,2,3,4&FILTER=%3CFilter/%3E",
    "REQUEST=Transaction",
    "SERVICE=WMS&REQUEST=GetMap",
    "",
])
async def test_garbage_kvp_gives_exception_reports_not_500(client, query):
    r = await client.get(f"/wfs?{query}")
    assert 400 <= r.status_code < 500, (query, r.status_code, r.text[:300])
    assert exception_code(r)


@pytest.mark.parametrize("body", [
    b"", b"garbage", b"<GetFeature", b"<?xml version='1.0'?><Nope/>",
    b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><GetFeature xmlns="http://www.opengis.net/wfs/2.0">&e;</GetFeature>',
    b'<GetFeature xmlns="http://www.opengis.net/wfs/2.0" version="2.0.0"/>',
    b'<GetFeature xmlns="http://www.opengis.net/wfs/2.0" version="2.0.0"><Query typeNames="ca:zzz"/></GetFeature>',
    b'<Transaction xmlns="http://www.opengis.net/wfs/2.0" version="2.0.0"/>',
])
async def test_garbage_xml_gives_exception_reports_not_500(client, tokens, body):
    from tests.fixtures import auth

    r = await client.post("/wfs", content=body, headers={"Content-Type": "text/xml", **auth(tokens["admin"])})
    assert 400 <= r.status_code < 500, (body, r.status_code, r.text[:300])
    assert exception_code(r)
    assert "root:" not in r.text  # XXE: no file content ever
