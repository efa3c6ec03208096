"""WFS-T: a replay of QGIS 3.22's 1.0.0 transactions, the 1.1.0 and 2.0.0 forms, all-or-nothing, roles (R5, P2).

`qgis322/*.xml` are documents a real QGIS 3.22 sent to this server; the helpers below build more of
them the same way, as QGIS 3.22's `QgsWFSProvider::createTransactionElement` /
`addFeatures` / `changeAttributeValues` / `changeGeometryValues` / `deleteFeatures` write them on a
WFS 2.0 connection: `version="1.0.0"`, default namespace `http://www.opengis.net/wfs`, features in
the DescribeFeatureType targetNamespace, GML 2 `gml:coordinates` in x/y (lon/lat) order but the
URN srsName copied from the 2.0 capabilities (qgis/QGIS#47254), `ogc:FeatureId fid="<gml:id>"`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.fixtures import auth
from tests.wfs.conftest import NS, exception_code, xml

CA = "http://cityassets.org/wfs"
QGIS_HEAD = ('<Transaction xmlns="http://www.opengis.net/wfs" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
             'version="1.0.0" service="WFS" xsi:schemaLocation="http://cityassets.org/wfs '
             'http://testserver/wfs?SERVICE=WFS&amp;REQUEST=DescribeFeatureType&amp;VERSION=1.0.0&amp;TYPENAME=ca:manholes" '
             f'xmlns:ca="{CA}" xmlns:gml="http://www.opengis.net/gml">')


def qgis_point(lon: float, lat: float) -> str:
    return ('<gml:Point srsName="urn:ogc:def:crs:EPSG::4326"><gml:coordinates cs="," ts=" ">'
            f"{lon},{lat}</gml:coordinates></gml:Point>")


def qgis_insert(props: dict[str, object], lon: float, lat: float) -> str:
    fields = "".join(f'<{k} xmlns="{CA}">{v}</{k}>' for k, v in props.items())
    return (f'<Insert xmlns="http://www.opengis.net/wfs"><manholes xmlns="{CA}">{fields}'
            f'<geom xmlns="{CA}">{qgis_point(lon, lat)}</geom></manholes></Insert>')


def qgis_filter(*fids: int) -> str:
    ids = "".join(f'<FeatureId xmlns="http://www.opengis.net/ogc" fid="manholes.{f}"/>' for f in fids)
    return f'<Filter xmlns="http://www.opengis.net/ogc">{ids}</Filter>'


async def post(client, body: str, token: str | None):
    headers = {"Content-Type": "text/xml"}
    if token:
        headers.update(auth(token))
    return await client.post("/wfs", content=body.encode(), headers=headers)


async def lonlat(db, fid: int) -> tuple[float, float]:
    row = await db.fetchrow("SELECT ST_X(ST_Transform(geom, 4326)) x, ST_Y(ST_Transform(geom, 4326)) y FROM manholes WHERE id = $1", fid)
    return row["x"], row["y"]


CAPTURED = Path(__file__).parent / "qgis322"


def captured(name: str, fid: int | None = None) -> str:
    """A transaction document QGIS 3.22 sent to this server (see qgis322/README.md)."""
    text = (CAPTURED / name).read_text(encoding="utf-8")
    return text.replace("{fid}", str(fid)) if fid is not None else text


async def test_qgis_3_22_insert_update_delete_replay(client, db, tokens):
    token = tokens["surveyor"]
    r = await post(client, captured("insert.xml"), token)
    assert r.status_code == 200, r.text
    root = xml(r)
    assert root.tag == "{http://www.opengis.net/wfs}WFS_TransactionResponse" and root.get("version") == "1.0.0"
    assert root.find("wfs1:TransactionResult/wfs1:Status/wfs1:SUCCESS", NS) is not None
    fid_attr = root.find("wfs1:InsertResult/ogc:FeatureId", NS).get("fid")
    assert re.fullmatch(r"manholes\.\d+", fid_attr)
    fid = int(fid_attr.split(".")[1])
    x, y = await lonlat(db, fid)
    # QGIS sent lon/lat under a URN srsName: stored as lon/lat, no axis flip (qgis/QGIS#47254, #47894).
    assert x == pytest.approx(113.7234567, abs=1e-8) and y == pytest.approx(34.7612345, abs=1e-8)
    row = await db.fetchrow("SELECT depth_m, condition, district_code, asset_code, version FROM manholes WHERE id = $1", fid)
    assert row["depth_m"] == 2.5 and row["condition"] == "intact" and row["district_code"] == "410105"
    assert row["asset_code"].startswith("410105")

    for name in ("update_attribute.xml", "update_geometry.xml"):  # changeAttributeValues, changeGeometryValues
        r = await post(client, captured(name, fid), token)
        assert r.status_code == 200, r.text
        assert xml(r).find("wfs1:TransactionResult/wfs1:Status/wfs1:SUCCESS", NS) is not None
    x, y = await lonlat(db, fid)
    assert x == pytest.approx(113.7301, abs=1e-8) and y == pytest.approx(34.7702, abs=1e-8)
    row = await db.fetchrow("SELECT condition, depth_m, version FROM manholes WHERE id = $1", fid)
    assert row["condition"] == "damaged" and row["depth_m"] == 2.5 and row["version"] == 3  # untouched values kept
    hist = await db.fetch("SELECT action, actor FROM history WHERE collection = 'manholes' AND feature_id = $1 ORDER BY version", fid)
    assert [h["action"] for h in hist] == ["insert", "update", "update"] and hist[0]["actor"] == "test-surveyor"

    # What the client reads back agrees with PostGIS (URN: lat/lon; QGIS honours it).
    got = xml(await client.get(f"/wfs?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&RESOURCEID=manholes.{fid}"))
    pos = got.find("wfs:member/ca:manholes/ca:geom/gml:Point/gml:pos", NS).text.split()
    assert [float(v) for v in pos] == pytest.approx([34.7702, 113.7301], abs=1e-7)

    r = await post(client, captured("delete.xml", fid), token)
    assert r.status_code == 200 and xml(r).find("wfs1:TransactionResult/wfs1:Status/wfs1:SUCCESS", NS) is not None
    assert await db.fetchval("SELECT retired_at IS NOT NULL FROM manholes WHERE id = $1", fid)


async def test_all_or_nothing(client, db, tokens):
    before = await db.fetchval("SELECT count(*) FROM manholes WHERE remarks = 'atomic'")
    body = (QGIS_HEAD + qgis_insert({"utility_type": "water_supply", "owner": "WATER", "remarks": "atomic"}, 113.72, 34.76)
            + qgis_insert({"utility_type": "no_such_type", "owner": "WATER", "remarks": "atomic"}, 113.72, 34.76)
            + "</Transaction>")
    r = await post(client, body, tokens["admin"])
    assert r.status_code == 400 and exception_code(r) == "InvalidValue"
    assert xml(r).tag == "{http://www.opengis.net/ogc}ServiceExceptionReport"  # 1.0.0 request, 1.0.0 report
    assert "utility_type" in r.text
    assert await db.fetchval("SELECT count(*) FROM manholes WHERE remarks = 'atomic'") == before


async def test_roles_and_scopes(client, db, tokens, wfs_data):
    gas = wfs_data["manholes"][0]  # owner GAS
    assert await db.fetchval("SELECT owner FROM manholes WHERE id = $1", gas) == "GAS"
    upd = (QGIS_HEAD + '<Update xmlns="http://www.opengis.net/wfs" typeName="ca:manholes"><Property><Name>remarks</Name>'
           "<Value>touched</Value></Property>" + qgis_filter(gas) + "</Update></Transaction>")
    r = await post(client, upd, tokens["water"])  # surveyor limited to owner WATER
    assert r.status_code == 403 and exception_code(r) == "OperationProcessingFailed"
    assert await db.fetchval("SELECT remarks FROM manholes WHERE id = $1", gas) != "touched"
    r = await post(client, upd, tokens["reader"])
    assert r.status_code == 403 and exception_code(r)
    r = await post(client, upd, None)
    assert r.status_code == 401 and exception_code(r) and r.headers.get("www-authenticate") == "Bearer"
    r = await post(client, upd, tokens["planner"])  # planners write planning layers, not assets
    assert r.status_code == 403


async def test_1_1_0_insert_honours_urn_axis_order(client, db, tokens):
    body = ('<wfs:Transaction xmlns:wfs="http://www.opengis.net/wfs" xmlns:gml="http://www.opengis.net/gml" '
            f'xmlns:ca="{CA}" service="WFS" version="1.1.0"><wfs:Insert handle="one"><ca:manholes>'
            "<ca:utility_type>sewage</ca:utility_type><ca:owner>WATER</ca:owner><ca:geom>"
            '<gml:Point srsName="urn:ogc:def:crs:EPSG::4326"><gml:pos>34.7655 113.7155</gml:pos></gml:Point>'
            "</ca:geom></ca:manholes></wfs:Insert></wfs:Transaction>")
    r = await post(client, body, tokens["admin"])
    assert r.status_code == 200, r.text
    root = xml(r)
    assert root.tag == "{http://www.opengis.net/wfs}TransactionResponse" and root.get("version") == "1.1.0"
    assert root.findtext("wfs1:TransactionSummary/wfs1:totalInserted", namespaces=NS) == "1"
    feat = root.find("wfs1:InsertResults/wfs1:Feature", NS)
    assert feat.get("handle") == "one"
    fid = int(feat.find("ogc:FeatureId", NS).get("fid").split(".")[1])
    x, y = await lonlat(db, fid)
    assert x == pytest.approx(113.7155, abs=1e-8) and y == pytest.approx(34.7655, abs=1e-8)


async def test_2_0_0_insert_update_delete(client, db, tokens):
    head = ('<wfs:Transaction xmlns:wfs="http://www.opengis.net/wfs/2.0" xmlns:fes="http://www.opengis.net/fes/2.0" '
            f'xmlns:gml="http://www.opengis.net/gml/3.2" xmlns:ca="{CA}" service="WFS" version="2.0.0">')
    ins = (head + '<wfs:Insert><ca:manholes><ca:utility_type>storm</ca:utility_type><ca:owner>WATER</ca:owner>'
           '<ca:geom><gml:Point gml:id="p1" srsName="EPSG:4326"><gml:pos>113.7111 34.7711</gml:pos></gml:Point></ca:geom>'
           "</ca:manholes><ca:manholes><ca:utility_type>storm</ca:utility_type><ca:owner>WATER</ca:owner><ca:geom>"
           '<gml:Point gml:id="p2" srsName="http://www.opengis.net/def/crs/EPSG/0/4547"><gml:pos>{n} {e}</gml:pos></gml:Point>'
           "</ca:geom></ca:manholes></wfs:Insert></wfs:Transaction>")
    pt = await db.fetchrow("SELECT ST_X(g) e, ST_Y(g) n FROM (SELECT ST_Transform(ST_SetSRID(ST_MakePoint(113.7122, 34.7722), 4326), 4547) g) s")
    r = await post(client, ins.format(n=pt["n"], e=pt["e"]), tokens["admin"])
    assert r.status_code == 200, r.text
    root = xml(r)
    assert root.tag == f"{{{NS['wfs']}}}TransactionResponse" and root.get("version") == "2.0.0"
    assert root.findtext("wfs:TransactionSummary/wfs:totalInserted", namespaces=NS) == "2"
    rids = [e.get("rid") for e in root.findall("wfs:InsertResults/wfs:Feature/fes:ResourceId", NS)]
    a, b = (int(r.split(".")[1]) for r in rids)
    assert (await lonlat(db, a)) == pytest.approx((113.7111, 34.7711), abs=1e-8)
    assert (await lonlat(db, b)) == pytest.approx((113.7122, 34.7722), abs=1e-7)
    upd = (head + '<wfs:Update typeName="ca:manholes"><wfs:Property><wfs:ValueReference>ca:remarks</wfs:ValueReference>'
           f'<wfs:Value>via 2.0</wfs:Value></wfs:Property><fes:Filter><fes:ResourceId rid="{rids[0]}"/>'
           f'<fes:ResourceId rid="{rids[1]}"/></fes:Filter></wfs:Update>'
           f'<wfs:Delete typeName="ca:manholes"><fes:Filter><fes:ResourceId rid="{rids[1]}"/></fes:Filter></wfs:Delete>'
           "</wfs:Transaction>")
    r = await post(client, upd, tokens["admin"])
    assert r.status_code == 200, r.text
    root = xml(r)
    assert root.findtext("wfs:TransactionSummary/wfs:totalUpdated", namespaces=NS) == "2"
    assert root.findtext("wfs:TransactionSummary/wfs:totalDeleted", namespaces=NS) == "1"
    assert await db.fetchval("SELECT remarks FROM manholes WHERE id = $1", a) == "via 2.0"
    assert await db.fetchval("SELECT retired_at IS NOT NULL FROM manholes WHERE id = $1", b)
    # Deleting what is gone: an exception, and nothing else in the request happens.
    r = await post(client, upd, tokens["admin"])
    assert r.status_code == 404 and exception_code(r) == "InvalidValue"
    assert xml(r).tag == f"{{{NS['ows']}}}ExceptionReport"


async def test_update_by_attribute_filter(client, db, tokens, wfs_data):
    ids = wfs_data["manholes"][10:13]
    body = ('<wfs:Transaction xmlns:wfs="http://www.opengis.net/wfs/2.0" xmlns:fes="http://www.opengis.net/fes/2.0" '
            'service="WFS" version="2.0.0"><wfs:Update typeName="ca:manholes"><wfs:Property>'
            "<wfs:ValueReference>sensor_id</wfs:ValueReference><wfs:Value>S-1</wfs:Value></wfs:Property><fes:Filter>"
            f"<fes:PropertyIsBetween><fes:ValueReference>depth_m</fes:ValueReference><fes:LowerBoundary><fes:Literal>{1.0 + 10 * 0.1 - 0.01}"
            f"</fes:Literal></fes:LowerBoundary><fes:UpperBoundary><fes:Literal>{1.0 + 12 * 0.1 + 0.01}</fes:Literal>"
            "</fes:UpperBoundary></fes:PropertyIsBetween></fes:Filter></wfs:Update></wfs:Transaction>")
    r = await post(client, body, tokens["admin"])
    assert r.status_code == 200, r.text
    rows = await db.fetch("SELECT id FROM manholes WHERE sensor_id = 'S-1' AND retired_at IS NULL ORDER BY id")
    assert [r["id"] for r in rows] == ids


async def test_transaction_refuses_unfiltered_and_bad_geometry(client, tokens):
    r = await post(client, QGIS_HEAD + '<Delete xmlns="http://www.opengis.net/wfs" typeName="ca:manholes"/></Transaction>',
                   tokens["admin"])
    assert r.status_code == 400 and exception_code(r) == "MissingParameterValue"
    r = await post(client, QGIS_HEAD + qgis_insert({"utility_type": "water_supply", "owner": "WATER"}, 34.76, 113.72)
                   + "</Transaction>", tokens["admin"])  # swapped: outside the city
    assert r.status_code == 400 and "swapped" in r.text


async def test_gdal_3_6_insert_dialect(client, db, tokens):
    # What GDAL 3.6.2 `ogr2ogr -update -append WFS:...?VERSION=2.0.0` posts: version 2.0.0 in the 1.x
    # namespace, URN lat/lon pos; it reads InsertResults/Feature/ResourceId@fid back (@rid in later GDAL).
    body = ('<?xml version="1.0"?>\n<wfs:Transaction xmlns:wfs="http://www.opengis.net/wfs" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" service="WFS" version="2.0.0" '
            'xmlns:gml="http://www.opengis.net/gml" xmlns:ogc="http://www.opengis.net/ogc">\n  <wfs:Insert>\n'
            f'    <feature:manholes xmlns:feature="{CA}">\n      <feature:owner>WATER</feature:owner>\n'
            "      <feature:condition>intact</feature:condition>\n      <feature:utility_type>sewage</feature:utility_type>\n"
            '      <feature:geom><gml:Point srsName="urn:ogc:def:crs:EPSG::4326"><gml:pos>34.7722222 113.7111111</gml:pos>'
            "</gml:Point></feature:geom>\n    </feature:manholes>\n  </wfs:Insert>\n</wfs:Transaction>\n")
    r = await post(client, body, tokens["admin"])
    assert r.status_code == 200, r.text
    rid = xml(r).find("wfs:InsertResults/wfs:Feature/fes:ResourceId", NS)
    assert rid.get("rid") == rid.get("fid") and rid.get("rid").startswith("manholes.")
    x, y = await lonlat(db, int(rid.get("rid").split(".")[1]))
    assert x == pytest.approx(113.7111111, abs=1e-8) and y == pytest.approx(34.7722222, abs=1e-8)


@pytest.mark.parametrize("name,table,wkt", [
    ("insert_green_space.xml", "green_spaces",
     "MULTIPOLYGON(((113.72 34.76, 113.725 34.76, 113.725 34.765, 113.72 34.765, 113.72 34.76),"
     "(113.721 34.761, 113.722 34.761, 113.722 34.762, 113.721 34.761)))"),
    ("insert_road.xml", "roads", "LINESTRING(113.71 34.76, 113.74 34.7612345)"),
])
async def test_qgis_3_22_polygon_and_line_inserts(client, db, tokens, name, table, wkt):
    r = await post(client, captured(name), tokens["planner"])
    assert r.status_code == 200, r.text
    fid = int(xml(r).find("wfs1:InsertResult/ogc:FeatureId", NS).get("fid").split(".")[1])
    same = await db.fetchval(f"SELECT ST_Equals(ST_SnapToGrid(ST_Transform(geom, 4326), 1e-9), "
                             f"ST_SnapToGrid(ST_GeomFromText($2, 4326), 1e-9)) FROM {table} WHERE id = $1", fid, wkt)
    hd = await db.fetchval(f"SELECT ST_HausdorffDistance(ST_Transform(geom, 4326), ST_GeomFromText($2, 4326)) "
                           f"FROM {table} WHERE id = $1", fid, wkt)
    assert same or hd < 1e-8
    if table == "green_spaces":
        assert await db.fetchval("SELECT name FROM green_spaces WHERE id = $1", fid) == "测试公园 <A&B>"
