"""FES 2.0 / Filter 1.1 filters by GET FILTER= and by POST, compiled by the shared CQL2 compiler (R3)."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from cityassets.catalogue import COLLECTIONS
from cityassets.ogc.wfs.fes import _like_pattern, parse_fid, parse_filter
from cityassets.ogc.wfs.ns import parse_xml
from cityassets.ogc.wfs.srs import DEFAULT
from tests.wfs.conftest import exception_code, live_ids, member_ids, xml

F = '<fes:Filter xmlns:fes="http://www.opengis.net/fes/2.0" xmlns:gml="http://www.opengis.net/gml/3.2">{}</fes:Filter>'
GF = "/wfs?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES=ca:manholes&FILTER="


def cmp(op: str, prop: str, value: object) -> str:
    return f"<fes:{op}><fes:ValueReference>{prop}</fes:ValueReference><fes:Literal>{value}</fes:Literal></fes:{op}>"


CASES = [
    (cmp("PropertyIsEqualTo", "ca:condition", "damaged"), "condition = 'damaged'"),
    (cmp("PropertyIsNotEqualTo", "condition", "damaged"), "condition <> 'damaged'"),
    (cmp("PropertyIsLessThan", "depth_m", "2"), "depth_m < 2"),
    (cmp("PropertyIsGreaterThan", "depth_m", "2.5"), "depth_m > 2.5"),
    (cmp("PropertyIsLessThanOrEqualTo", "depth_m", "2"), "depth_m <= 2"),
    (cmp("PropertyIsGreaterThanOrEqualTo", "depth_m", "3.5"), "depth_m >= 3.5"),
    ('<fes:PropertyIsLike wildCard="*" singleChar="." escapeChar="!"><fes:ValueReference>remarks</fes:ValueReference>'
     "<fes:Literal>note *!%!_done</fes:Literal></fes:PropertyIsLike>", "remarks LIKE 'note %\\%\\_done'"),
    ('<fes:PropertyIsLike wildCard="*" singleChar="." escapeChar="!" matchCase="false"><fes:ValueReference>remarks'
     "</fes:ValueReference><fes:Literal>NOTE 1*</fes:Literal></fes:PropertyIsLike>", "lower(remarks) LIKE 'note 1%'"),
    ("<fes:PropertyIsNull><fes:ValueReference>remarks</fes:ValueReference></fes:PropertyIsNull>", "remarks IS NULL"),
    ("<fes:PropertyIsBetween><fes:ValueReference>depth_m</fes:ValueReference><fes:LowerBoundary><fes:Literal>1.5"
     "</fes:Literal></fes:LowerBoundary><fes:UpperBoundary><fes:Literal>2.5</fes:Literal></fes:UpperBoundary>"
     "</fes:PropertyIsBetween>", "depth_m BETWEEN 1.5 AND 2.5"),
    (f"<fes:And>{cmp('PropertyIsEqualTo', 'owner', 'GAS')}{cmp('PropertyIsLessThan', 'depth_m', '2.5')}</fes:And>",
     "owner = 'GAS' AND depth_m < 2.5"),
    (f"<fes:Or>{cmp('PropertyIsEqualTo', 'owner', 'GAS')}{cmp('PropertyIsGreaterThan', 'depth_m', '3.5')}</fes:Or>",
     "owner = 'GAS' OR depth_m > 3.5"),
    (f"<fes:Not>{cmp('PropertyIsEqualTo', 'condition', 'damaged')}</fes:Not>", "NOT (condition = 'damaged')"),
    ('<fes:BBOX><fes:ValueReference>geom</fes:ValueReference><gml:Envelope srsName="urn:ogc:def:crs:EPSG::4326">'
     "<gml:lowerCorner>34.745 113.675</gml:lowerCorner><gml:upperCorner>34.775 113.705</gml:upperCorner></gml:Envelope></fes:BBOX>",
     "ST_Intersects(ST_Transform(geom, 4326), ST_MakeEnvelope(113.675, 34.745, 113.705, 34.775, 4326))"),
    ('<fes:BBOX><gml:Envelope srsName="EPSG:4326"><gml:lowerCorner>113.675 34.745</gml:lowerCorner>'
     "<gml:upperCorner>113.705 34.775</gml:upperCorner></gml:Envelope></fes:BBOX>",
     "ST_Intersects(ST_Transform(geom, 4326), ST_MakeEnvelope(113.675, 34.745, 113.705, 34.775, 4326))"),
    ('<fes:Intersects><fes:ValueReference>ca:geom</fes:ValueReference><gml:Polygon srsName="urn:ogc:def:crs:EPSG::4326">'
     "<gml:exterior><gml:LinearRing><gml:posList>34.745 113.675 34.745 113.705 34.775 113.705 34.745 113.675</gml:posList>"
     "</gml:LinearRing></gml:exterior></gml:Polygon></fes:Intersects>",
     "ST_Intersects(ST_Transform(geom, 4326), ST_GeomFromText('POLYGON((113.675 34.745, 113.705 34.745, 113.705 34.775, 113.675 34.745))', 4326))"),
    ('<fes:DWithin><fes:ValueReference>geom</fes:ValueReference><gml:Point srsName="http://www.opengis.net/def/crs/EPSG/0/4326">'
     '<gml:pos>34.76 113.69</gml:pos></gml:Point><fes:Distance uom="m">1200</fes:Distance></fes:DWithin>',
     "ST_DWithin(geom, ST_Transform(ST_SetSRID(ST_MakePoint(113.69, 34.76), 4326), {srid}), 1200)"),
    ('<fes:DWithin><fes:ValueReference>geom</fes:ValueReference><gml:Point srsName="EPSG:4326">'
     '<gml:pos>113.69 34.76</gml:pos></gml:Point><fes:Distance uom="km">1.2</fes:Distance></fes:DWithin>',
     "ST_DWithin(geom, ST_Transform(ST_SetSRID(ST_MakePoint(113.69, 34.76), 4326), {srid}), 1200)"),
    (f"<fes:And>{cmp('PropertyIsEqualTo', 'condition', 'intact')}<fes:BBOX><fes:ValueReference>geom</fes:ValueReference>"
     '<gml:Envelope srsName="urn:ogc:def:crs:EPSG::4326"><gml:lowerCorner>34.745 113.675</gml:lowerCorner>'
     "<gml:upperCorner>34.775 113.705</gml:upperCorner></gml:Envelope></fes:BBOX></fes:And>",  # what QGIS merges
     "condition = 'intact' AND ST_Intersects(ST_Transform(geom, 4326), ST_MakeEnvelope(113.675, 34.745, 113.705, 34.775, 4326))"),
]


@pytest.mark.parametrize("fes,sql", CASES)
async def test_filter_by_get_and_post(client, db, settings, wfs_data, fes, sql):
    expected = await live_ids(db, "manholes", sql.format(srid=settings.storage_srid))
    r = await client.get(GF + quote(F.format(fes)) + "&COUNT=1000")
    assert r.status_code == 200, r.text
    assert sorted(member_ids(xml(r))) == expected
    body = ('<wfs:GetFeature xmlns:wfs="http://www.opengis.net/wfs/2.0" service="WFS" version="2.0.0" count="1000">'
            f'<wfs:Query typeNames="ca:manholes" xmlns:ca="http://cityassets.org/wfs">{F.format(fes)}</wfs:Query></wfs:GetFeature>')
    r = await client.post("/wfs", content=body.encode(), headers={"Content-Type": "application/xml"})
    assert r.status_code == 200, r.text
    root = xml(r)
    assert sorted(member_ids(root)) == expected and root.get("numberMatched") == str(len(expected))


async def test_resource_id_filter(client, wfs_data):
    a, b = wfs_data["manholes"][3], wfs_data["manholes"][4]
    fes = f'<fes:ResourceId rid="manholes.{a}"/><fes:ResourceId rid="ca:manholes.{b}"/>'
    assert member_ids(xml(await client.get(GF + quote(F.format(fes))))) == [a, b]
    both = f"<fes:And><fes:ResourceId rid=\"manholes.{a}\"/>{cmp('PropertyIsEqualTo', 'condition', 'nope')}</fes:And>"
    assert member_ids(xml(await client.get(GF + quote(F.format(both))))) == []


async def test_filter_1_1_and_1_0_forms(client, db, wfs_data):
    ogc = ('<ogc:Filter xmlns:ogc="http://www.opengis.net/ogc" xmlns:gml="http://www.opengis.net/gml"><ogc:And>'
           "<ogc:PropertyIsEqualTo><ogc:PropertyName>condition</ogc:PropertyName><ogc:Literal>damaged</ogc:Literal>"
           '</ogc:PropertyIsEqualTo><ogc:BBOX><ogc:PropertyName>geom</ogc:PropertyName><gml:Box srsName="EPSG:4326">'
           "<gml:coordinates>113.675,34.745 113.705,34.775</gml:coordinates></gml:Box></ogc:BBOX></ogc:And></ogc:Filter>")
    expected = await live_ids(db, "manholes", "condition = 'damaged' AND ST_Intersects(ST_Transform(geom, 4326), "
                              "ST_MakeEnvelope(113.675, 34.745, 113.705, 34.775, 4326))")
    body = ('<wfs:GetFeature xmlns:wfs="http://www.opengis.net/wfs" service="WFS" version="1.1.0">'
            f'<wfs:Query typeName="ca:manholes">{ogc}</wfs:Query></wfs:GetFeature>')
    r = await client.post("/wfs", content=body.encode(), headers={"Content-Type": "text/xml"})
    assert sorted(member_ids(xml(r))) == expected


@pytest.mark.parametrize("fes", [
    cmp("PropertyIsEqualTo", "pg_sleep", "1"),
    cmp("PropertyIsLessThan", "depth_m", "deep"),
    "<fes:Unknown/>",
    "<fes:Function name=\"pg_sleep\"><fes:Literal>10</fes:Literal></fes:Function>",
    f"<fes:And>{cmp('PropertyIsEqualTo', 'condition', 'x')}</fes:And>",
    '<fes:DWithin><fes:ValueReference>geom</fes:ValueReference><gml:Point><gml:pos>1 2</gml:pos></gml:Point>'
    '<fes:Distance uom="furlong">1</fes:Distance></fes:DWithin>',
    '<fes:Intersects><fes:ValueReference>geom</fes:ValueReference><gml:Polygon><gml:exterior><gml:LinearRing>'
    "<gml:posList>1 2 3</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon></fes:Intersects>",
])
async def test_bad_filters_are_400(client, wfs_data, fes):
    r = await client.get(GF + quote(F.format(fes)))
    assert r.status_code == 400, r.text
    assert exception_code(r) == "InvalidParameterValue"


def test_parser_shapes():
    c = COLLECTIONS["manholes"]
    el = parse_xml(F.format(cmp("PropertyIsEqualTo", "ca:owner", "GAS")).encode())
    assert parse_filter(el, c, DEFAULT, 4547).cql == {"op": "=", "args": [{"property": "owner"}, "GAS"]}
    assert _like_pattern("a*b.c%d!*", "*", ".", "!") == "a%b_c\\%d*"
    assert parse_fid("ca:manholes.12") == ("manholes", 12) and parse_fid("12") == (None, 12)
