"""DescribeFeatureType: one schema for one or many types, typed as QGIS and GDAL map them (R2, P7)."""

from __future__ import annotations

from tests.wfs.conftest import NS, exception_code, xml


def _types(root, name: str) -> dict[str, str]:
    ct = root.find(f"xs:complexType[@name='{name}Type']", NS)
    assert ct is not None, name
    return {e.get("name"): e.get("type") for e in ct.iter(f"{{{NS['xs']}}}element")}


async def test_many_types_in_one_schema(client):
    # GDAL batches up to 50 comma-separated names with the same prefix (OGR_WFS_LOAD_MULTIPLE_LAYER_DEFN).
    r = await client.get("/wfs?SERVICE=WFS&VERSION=2.0.0&REQUEST=DescribeFeatureType&TYPENAME=ca:manholes,ca:green_spaces,roads")
    assert r.status_code == 200
    root = xml(r)
    assert root.get("targetNamespace") == NS["ca"]
    assert root.find("xs:import", NS).get("namespace") == NS["gml"]
    tops = {e.get("name"): e.get("type") for e in root.findall("xs:element", NS)}
    assert tops == {"manholes": "ca:manholesType", "green_spaces": "ca:green_spacesType", "roads": "ca:roadsType"}
    m = _types(root, "manholes")
    assert m["geom"] == "gml:PointPropertyType"
    assert m["depth_m"] == "xs:double" and m["cover_diameter_mm"] == "xs:int" and m["owner_mark"] == "xs:boolean"
    assert m["created_at"] == "xs:dateTime" and m["install_date"] == "xs:date" and m["condition"] == "xs:string"
    assert _types(root, "green_spaces")["geom"] == "gml:MultiSurfacePropertyType"
    assert _types(root, "roads")["geom"] == "gml:LineStringPropertyType"
    ext = root.find("xs:complexType/xs:complexContent/xs:extension", NS)
    assert ext.get("base") == "gml:AbstractFeatureType"


async def test_all_types_and_plural_parameter(client):
    r = await client.get("/wfs?service=WFS&version=2.0.0&request=DescribeFeatureType")
    assert len(xml(r).findall("xs:element", NS)) == 13
    r = await client.get("/wfs?SERVICE=WFS&VERSION=2.0.0&REQUEST=DescribeFeatureType&TYPENAMES=trees")
    assert [e.get("name") for e in xml(r).findall("xs:element", NS)] == ["trees"]


async def test_1_1_0_uses_gml_3_1(client):
    r = await client.get("/wfs?SERVICE=WFS&VERSION=1.1.0&REQUEST=DescribeFeatureType&TYPENAME=ca:manholes")
    root = xml(r)
    assert root.find("xs:import", NS).get("namespace") == NS["gml1"]
    assert root.find("xs:element", NS).get("substitutionGroup") == "gml:_Feature"


async def test_unknown_type_is_an_exception_report(client):
    r = await client.get("/wfs?SERVICE=WFS&VERSION=2.0.0&REQUEST=DescribeFeatureType&TYPENAME=ca:nothing")
    assert r.status_code == 400 and exception_code(r) == "InvalidParameterValue"
    assert 'locator="typeNames"' in r.text
