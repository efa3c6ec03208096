"""cityassets.ogc.wfs.describe: DescribeFeatureType as one flat XSD (ISO 19142 clause 9; R2, P7).

QGIS maps attribute types by substring (int/long/double/dateTime; the rest become String) and the
geometry by `gml:*PropertyType`; GDAL asks for up to 50 comma-separated type names in one call,
so several types go into one schema. One complexType per type extending gml:AbstractFeatureType.
"""

from __future__ import annotations

import re

from cityassets.catalogue import COLLECTIONS, Collection, Field
from cityassets.ogc.wfs.exceptions import invalid
from cityassets.ogc.wfs.ns import CA, CA_PREFIX, GML, GML32, XS, strip_prefix

XSD_TYPES = {"integer": "xs:int", "number": "xs:double", "boolean": "xs:boolean", "date": "xs:date",
             "datetime": "xs:dateTime", "string": "xs:string", "object": "xs:string"}
#: Geometry property types; the names GDAL (parsexsd.cpp) and QGIS map to specific WKB types.
GEOMETRY_TYPES = {"Point": "gml:PointPropertyType", "LineString": "gml:LineStringPropertyType",
                  "MultiPolygon": "gml:MultiSurfacePropertyType", "Polygon": "gml:SurfacePropertyType",
                  "MultiPoint": "gml:MultiPointPropertyType", "MultiLineString": "gml:MultiCurvePropertyType"}
GEOMETRY_NAME = "geom"
_NCNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


def xml_name(name: str) -> str:
    """NCName-safe element name of a field (P7: names starting with a digit broke QGIS, #45017)."""
    return name if _NCNAME.match(name) else "_" + re.sub(r"[^A-Za-z0-9_.\-]", "_", name)


def field_for_element(c: Collection, name: str) -> Field | None:
    """Inverse of xml_name for one collection."""
    name = strip_prefix(name.split("/")[-1])
    for f in c.fields:
        if xml_name(f.name) == name or f.name == name:
            return f
    return None


def resolve_types(raw: str | None, locator: str = "typeNames") -> list[Collection]:
    """Collections named by a TYPENAME(S) list (prefix optional; `(a)(b)` groups of 2.0 flattened)."""
    if not raw:
        return list(COLLECTIONS.values())
    out = []
    for part in re.split(r"[,()\s]+", raw):
        if not part:
            continue
        cid = strip_prefix(part)
        if cid not in COLLECTIONS:
            raise invalid(locator, f"unknown feature type '{part}'")
        if COLLECTIONS[cid] not in out:
            out.append(COLLECTIONS[cid])
    return out


def _complex_type(c: Collection, version: str) -> str:
    els = []
    for f in c.fields:
        els.append(f'<xs:element name="{xml_name(f.name)}" type="{XSD_TYPES.get(f.type, "xs:string")}" '
                   'minOccurs="0" maxOccurs="1" nillable="true"/>')
    if c.geometry_type:
        els.append(f'<xs:element name="{GEOMETRY_NAME}" type="{GEOMETRY_TYPES[c.geometry_type]}" '
                   'minOccurs="0" maxOccurs="1" nillable="true"/>')
    group = "gml:AbstractFeature" if version.startswith("2") else "gml:_Feature"
    return (f'<xs:complexType name="{c.id}Type"><xs:complexContent><xs:extension base="gml:AbstractFeatureType">'
            f"<xs:sequence>{''.join(els)}</xs:sequence></xs:extension></xs:complexContent></xs:complexType>"
            f'<xs:element name="{c.id}" type="{CA_PREFIX}:{c.id}Type" substitutionGroup="{group}"/>')


def schema(collections: list[Collection], version: str) -> str:
    """The XSD for these feature types (GML 3.2 for 2.0, GML 3.1.1 for 1.x)."""
    if version.startswith("2"):
        gml_ns, loc = GML32, "http://schemas.opengis.net/gml/3.2.1/gml.xsd"
    else:
        gml_ns, loc = GML, "http://schemas.opengis.net/gml/3.1.1/base/gml.xsd"
    body = "".join(_complex_type(c, version) for c in collections)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<xs:schema xmlns:xs="{XS}" xmlns:gml="{gml_ns}" '
            f'xmlns:{CA_PREFIX}="{CA}" targetNamespace="{CA}" elementFormDefault="qualified" version="1.0">'
            f'<xs:import namespace="{gml_ns}" schemaLocation="{loc}"/>{body}</xs:schema>')
