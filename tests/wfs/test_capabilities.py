"""GetCapabilities 2.0.0 / 1.1.0 as QGIS 3.22, GDAL 3.6 and OWSLib read them (ogc-interop R1, §2.1, §3.1)."""

from __future__ import annotations

import pytest

from tests.fixtures import auth
from tests.wfs.conftest import NS, exception_code, xml


def _constraints(root, path: str) -> dict[str, str]:
    return {c.get("name"): c.findtext("ows:DefaultValue", namespaces=NS) for c in root.findall(path, NS)}


async def test_default_is_2_0_0_with_paging_and_count_default_in_both_places(client, settings):
    r = await client.get("/wfs?SERVICE=WFS&REQUEST=GetCapabilities")  # GDAL sends no VERSION
    assert r.status_code == 200
    root = xml(r)
    assert root.tag == f"{{{NS['wfs']}}}WFS_Capabilities" and root.get("version") == "2.0.0"
    top = _constraints(root, "ows:OperationsMetadata/ows:Constraint")
    assert top["ImplementsResultPaging"] == "TRUE"  # QGIS: exact string compare
    assert top["CountDefault"] == str(settings.max_limit)
    assert top["ImplementsTransactionalWFS"] == "FALSE"
    inner = _constraints(root, "ows:OperationsMetadata/ows:Operation[@name='GetFeature']/ows:Constraint")
    assert inner["CountDefault"] == str(settings.max_limit)  # GDAL reads it only here
    ops = {o.get("name") for o in root.findall("ows:OperationsMetadata/ows:Operation", NS)}
    assert {"GetCapabilities", "DescribeFeatureType", "GetFeature", "GetPropertyValue"} <= ops
    assert "Transaction" not in ops  # anonymous: QGIS would otherwise offer editing
    rt = root.findall("ows:OperationsMetadata/ows:Operation[@name='GetFeature']/ows:Parameter[@name='resultType']//ows:Value", NS)
    assert {v.text for v in rt} == {"results", "hits"}
    names = [n.text for n in root.findall("wfs:FeatureTypeList/wfs:FeatureType/wfs:Name", NS)]
    assert "ca:manholes" in names and "ca:green_spaces" in names and len(names) == 13
    ft = root.find("wfs:FeatureTypeList/wfs:FeatureType", NS)
    assert ft.findtext("wfs:DefaultCRS", namespaces=NS) == "urn:ogc:def:crs:EPSG::4326"
    assert {e.text for e in ft.findall("wfs:OtherCRS", NS)} >= {"urn:ogc:def:crs:EPSG::4490", "urn:ogc:def:crs:EPSG::4547",
                                                               "urn:ogc:def:crs:EPSG::3857"}
    comps = {c.get("name") for c in root.findall(".//fes:ComparisonOperator", NS)}
    assert {"PropertyIsEqualTo", "PropertyIsLike", "PropertyIsNull", "PropertyIsLessThan"} <= comps
    spatial = {c.get("name") for c in root.findall(".//fes:SpatialOperator", NS)}
    assert {"BBOX", "Intersects", "DWithin"} <= spatial
    href = root.find(".//ows:Operation[@name='GetFeature']//ows:Get", NS).get(f"{{{NS['xlink']}}}href")
    assert href.startswith("http://testserver/wfs")


async def test_dcp_hrefs_follow_the_proxy(client):
    r = await client.get("/wfs?service=wfs&request=getcapabilities",  # lower-case names and values (OWSLib)
                         headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "gis.example.cn", "X-Forwarded-Prefix": "/assets"})
    hrefs = {e.get(f"{{{NS['xlink']}}}href") for e in xml(r).iter() if e.tag.endswith("}Get") or e.tag.endswith("}Post")}
    assert hrefs and all(h.startswith("https://gis.example.cn/assets/wfs") for h in hrefs)


@pytest.mark.parametrize("role,writes", [("reader", False), ("surveyor", True), ("planner", True), ("admin", True)])
async def test_transaction_advertised_only_to_writers(client, tokens, role, writes):
    r = await client.get("/wfs?SERVICE=WFS&REQUEST=GetCapabilities&VERSION=2.0.0", headers=auth(tokens[role]))
    root = xml(r)
    ops = {o.get("name") for o in root.findall("ows:OperationsMetadata/ows:Operation", NS)}
    assert ("Transaction" in ops) is writes
    assert _constraints(root, "ows:OperationsMetadata/ows:Constraint")["ImplementsTransactionalWFS"] == ("TRUE" if writes else "FALSE")


async def test_accept_versions_and_1_1_0(client, tokens):
    r = await client.get("/wfs?SERVICE=WFS&REQUEST=GetCapabilities&ACCEPTVERSIONS=2.0.0,1.1.0,1.0.0")  # QGIS
    assert xml(r).get("version") == "2.0.0"
    r = await client.get("/wfs?SERVICE=WFS&REQUEST=GetCapabilities&VERSION=1.1.0", headers=auth(tokens["surveyor"]))
    root = xml(r)
    assert root.tag == f"{{{NS['wfs1']}}}WFS_Capabilities" and root.get("version") == "1.1.0"
    ft = [f for f in root.findall("wfs1:FeatureTypeList/wfs1:FeatureType", NS) if f.findtext("wfs1:Name", namespaces=NS) == "ca:manholes"][0]
    assert ft.findtext("wfs1:DefaultSRS", namespaces=NS) == "urn:ogc:def:crs:EPSG::4326"
    assert {o.text for o in ft.findall("wfs1:Operations/wfs1:Operation", NS)} == {"Query", "Insert", "Update", "Delete"}
    trees = [f for f in root.findall("wfs1:FeatureTypeList/wfs1:FeatureType", NS) if f.findtext("wfs1:Name", namespaces=NS) == "ca:districts"][0]
    assert {o.text for o in trees.findall("wfs1:Operations/wfs1:Operation", NS)} == {"Query"}  # districts: admin only
    comps = {c.text for c in root.findall(".//ogc:ComparisonOperator", NS)}
    assert {"EqualTo", "NotEqualTo", "LessThan", "GreaterThan", "LessThanEqualTo", "GreaterThanEqualTo", "Like", "NullCheck"} <= comps
    bad = await client.get("/wfs?SERVICE=WFS&REQUEST=GetCapabilities&ACCEPTVERSIONS=3.0.0")
    assert bad.status_code == 400 and exception_code(bad) == "VersionNegotiationFailed"


async def test_post_get_capabilities(client):
    body = (b'<GetCapabilities xmlns="http://www.opengis.net/wfs/2.0" xmlns:ows="http://www.opengis.net/ows/1.1" service="WFS">'
            b"<ows:AcceptVersions><ows:Version>2.0.0</ows:Version></ows:AcceptVersions></GetCapabilities>")
    r = await client.post("/wfs", content=body, headers={"Content-Type": "text/xml"})
    assert r.status_code == 200 and xml(r).get("version") == "2.0.0"
