"""cityassets.ogc.wfs.capabilities: GetCapabilities 2.0.0 (ISO 19142 clause 8) and 1.1.0.

What the clients read (ogc-interop §2.1, §3.1, R1): QGIS and GDAL page only when
`ImplementsResultPaging` is exactly `TRUE`; QGIS reads CountDefault at the OperationsMetadata level
and GDAL only inside `Operation name="GetFeature"`, so it is in both; any `Operation
name="Transaction"` makes QGIS 3.22 offer editing, so it is listed only for callers who may write
(R5); DCP hrefs are absolute public URLs because clients send later requests there (P13).
"""

from __future__ import annotations

from cityassets.auth import AuthPrincipal
from cityassets.catalogue import COLLECTIONS, Collection
from cityassets.ogc.wfs.ns import (CA, CA_PREFIX, FES20, GML, GML31_TEXT, GML32, GML32_MIME, GML32_TEXT, OGC,
                                   OWS10, OWS11, WFS, WFS20, XLINK, XSI, attr, x)
from cityassets.settings import Settings

VERSIONS = ("2.0.0", "1.1.0")
#: EPSG codes offered for SRSNAME, the default first (the kit and QGIS give bboxes in lon/lat: 4326 default).
CRS_CODES = (4326, 4490, 4547, 3857)
JSON_FORMATS = ("application/json", "application/geo+json", "json", "geojson")

COMPARISONS_20 = ("PropertyIsEqualTo", "PropertyIsNotEqualTo", "PropertyIsLessThan", "PropertyIsGreaterThan",
                  "PropertyIsLessThanOrEqualTo", "PropertyIsGreaterThanOrEqualTo", "PropertyIsLike",
                  "PropertyIsNull", "PropertyIsNil", "PropertyIsBetween")
# Filter 1.1 names; GDAL pushes -where only when all of these are listed (ogc-interop §3.1).
COMPARISONS_11 = ("LessThan", "GreaterThan", "LessThanEqualTo", "GreaterThanEqualTo", "EqualTo", "NotEqualTo",
                  "Like", "Between", "NullCheck")
SPATIAL = ("BBOX", "Intersects", "Within", "Contains", "Disjoint", "DWithin", "Beyond")


def type_name(c: Collection) -> str:
    """Prefixed feature type name."""
    return f"{CA_PREFIX}:{c.id}"


def can_edit(principal: AuthPrincipal) -> bool:
    """The caller may write at least one collection."""
    return any(principal.can_write(c) for c in COLLECTIONS.values())


def _ops_meta_20(url: str, principal: AuthPrincipal, settings: Settings) -> str:
    dcp = (f'<ows:DCP><ows:HTTP><ows:Get xlink:href={attr(url + "?")}/><ows:Post xlink:href={attr(url)}/>'
           "</ows:HTTP></ows:DCP>")

    def param(name: str, values: tuple[str, ...]) -> str:
        vals = "".join(f"<ows:Value>{x(v)}</ows:Value>" for v in values)
        return f'<ows:Parameter name="{name}"><ows:AllowedValues>{vals}</ows:AllowedValues></ows:Parameter>'

    def constraint(name: str, value: str) -> str:
        return f'<ows:Constraint name="{name}"><ows:NoValues/><ows:DefaultValue>{value}</ows:DefaultValue></ows:Constraint>'

    formats = (GML32_MIME, GML32_TEXT, "application/json")
    count = str(settings.max_limit)
    ops = [
        f'<ows:Operation name="GetCapabilities">{dcp}{param("AcceptVersions", VERSIONS)}'
        f'{param("AcceptFormats", ("text/xml",))}</ows:Operation>',
        f'<ows:Operation name="DescribeFeatureType">{dcp}{param("outputFormat", (GML32_MIME, GML32_TEXT))}</ows:Operation>',
        f'<ows:Operation name="GetFeature">{dcp}{param("resultType", ("results", "hits"))}'
        f'{param("outputFormat", formats)}{constraint("CountDefault", count)}</ows:Operation>',
        f'<ows:Operation name="GetPropertyValue">{dcp}{param("resolve", ("none",))}'
        f'{param("outputFormat", (GML32_MIME,))}</ows:Operation>',
        f'<ows:Operation name="ListStoredQueries">{dcp}</ows:Operation>',
        f'<ows:Operation name="DescribeStoredQueries">{dcp}</ows:Operation>',
    ]
    writer = can_edit(principal)
    if writer:
        ops.append(f'<ows:Operation name="Transaction">{dcp}{param("inputFormat", (GML32_MIME, GML31_TEXT))}'
                   f'{param("idgen", ("GenerateNew",))}{param("releaseAction", ("ALL",))}</ows:Operation>')
    constraints = [
        ("ImplementsBasicWFS", "TRUE"), ("ImplementsTransactionalWFS", "TRUE" if writer else "FALSE"),
        ("ImplementsLockingWFS", "FALSE"), ("KVPEncoding", "TRUE"), ("XMLEncoding", "TRUE"),
        ("SOAPEncoding", "FALSE"), ("ImplementsInheritance", "FALSE"), ("ImplementsRemoteResolve", "FALSE"),
        ("ImplementsResultPaging", "TRUE"), ("ImplementsStandardJoins", "FALSE"),
        ("ImplementsSpatialJoins", "FALSE"), ("ImplementsTemporalJoins", "FALSE"),
        ("ImplementsFeatureVersioning", "FALSE"), ("ManageStoredQueries", "FALSE"),
    ]
    cons = "".join(constraint(n, v) for n, v in constraints) + constraint("CountDefault", count)
    cons += ('<ows:Constraint name="QueryExpressions"><ows:AllowedValues><ows:Value>wfs:Query</ows:Value>'
             "<ows:Value>wfs:StoredQuery</ows:Value></ows:AllowedValues></ows:Constraint>")
    return f"<ows:OperationsMetadata>{''.join(ops)}{cons}</ows:OperationsMetadata>"


def _filter_caps_20() -> str:
    conf = [("ImplementsQuery", "TRUE"), ("ImplementsAdHocQuery", "TRUE"), ("ImplementsFunctions", "FALSE"),
            ("ImplementsResourceId", "TRUE"), ("ImplementsMinStandardFilter", "TRUE"),
            ("ImplementsStandardFilter", "TRUE"), ("ImplementsMinSpatialFilter", "TRUE"),
            ("ImplementsSpatialFilter", "TRUE"), ("ImplementsMinTemporalFilter", "FALSE"),
            ("ImplementsTemporalFilter", "FALSE"), ("ImplementsVersionNav", "FALSE"), ("ImplementsSorting", "TRUE"),
            ("ImplementsExtendedOperators", "FALSE"), ("ImplementsMinimumXPath", "TRUE"),
            ("ImplementsSchemaElementFunc", "FALSE")]
    c = "".join(f'<fes:Constraint name="{n}"><ows:NoValues/><ows:DefaultValue>{v}</ows:DefaultValue></fes:Constraint>'
                for n, v in conf)
    comps = "".join(f'<fes:ComparisonOperator name="{n}"/>' for n in COMPARISONS_20)
    operands = "".join(f'<fes:GeometryOperand name="gml:{g}"/>' for g in
                       ("Envelope", "Point", "LineString", "Polygon", "MultiPoint", "MultiCurve", "MultiSurface"))
    spatial = "".join(f'<fes:SpatialOperator name="{n}"/>' for n in SPATIAL)
    return (f"<fes:Filter_Capabilities><fes:Conformance>{c}</fes:Conformance>"
            '<fes:Id_Capabilities><fes:ResourceIdentifier name="fes:ResourceId"/></fes:Id_Capabilities>'
            f"<fes:Scalar_Capabilities><fes:LogicalOperators/><fes:ComparisonOperators>{comps}"
            "</fes:ComparisonOperators></fes:Scalar_Capabilities>"
            f"<fes:Spatial_Capabilities><fes:GeometryOperands>{operands}</fes:GeometryOperands>"
            f"<fes:SpatialOperators>{spatial}</fes:SpatialOperators></fes:Spatial_Capabilities>"
            "</fes:Filter_Capabilities>")


def _feature_types(settings: Settings, version: str, principal: AuthPrincipal) -> str:
    x0, y0, x1, y1 = settings.extent
    out = []
    for c in COLLECTIONS.values():
        if version == "2.0.0":
            crs = f"<wfs:DefaultCRS>urn:ogc:def:crs:EPSG::{CRS_CODES[0]}</wfs:DefaultCRS>" + "".join(
                f"<wfs:OtherCRS>urn:ogc:def:crs:EPSG::{n}</wfs:OtherCRS>" for n in CRS_CODES[1:])
            fmts = f"<wfs:OutputFormats><wfs:Format>{GML32_MIME}</wfs:Format><wfs:Format>application/json</wfs:Format></wfs:OutputFormats>"
            ops = ""
        else:
            crs = f"<wfs:DefaultSRS>urn:ogc:def:crs:EPSG::{CRS_CODES[0]}</wfs:DefaultSRS>" + "".join(
                f"<wfs:OtherSRS>urn:ogc:def:crs:EPSG::{n}</wfs:OtherSRS>" for n in CRS_CODES[1:])
            fmts = f"<wfs:OutputFormats><wfs:Format>{GML31_TEXT}</wfs:Format></wfs:OutputFormats>"
            names = ["Query"] + (["Insert", "Update", "Delete"] if principal.can_write(c) else [])
            ops = "<wfs:Operations>" + "".join(f"<wfs:Operation>{n}</wfs:Operation>" for n in names) + "</wfs:Operations>"
        kw = "".join(f"<ows:Keyword>{x(k)}</ows:Keyword>" for k in c.keywords)
        out.append(
            f'<wfs:FeatureType xmlns:{CA_PREFIX}="{CA}"><wfs:Name>{type_name(c)}</wfs:Name>'
            f"<wfs:Title>{x(c.title_en)} {x(c.title_zh)}</wfs:Title><wfs:Abstract>{x(c.description)}</wfs:Abstract>"
            f"{'<ows:Keywords>' + kw + '</ows:Keywords>' if kw else ''}{crs}{ops}{fmts}"
            f"<ows:WGS84BoundingBox><ows:LowerCorner>{x0} {y0}</ows:LowerCorner>"
            f"<ows:UpperCorner>{x1} {y1}</ows:UpperCorner></ows:WGS84BoundingBox></wfs:FeatureType>"
        )
    return "<wfs:FeatureTypeList>" + "".join(out) + "</wfs:FeatureTypeList>"


def _service(settings: Settings, version: str) -> str:
    versions = "".join(f"<ows:ServiceTypeVersion>{v}</ows:ServiceTypeVersion>" for v in VERSIONS)
    return (f"<ows:ServiceIdentification><ows:Title>cityassets WFS — {x(settings.city_name)}</ows:Title>"
            "<ows:Abstract>Street-asset registry of the city: the same collections and ids as the OGC API at /."
            f"</ows:Abstract><ows:ServiceType>WFS</ows:ServiceType>{versions}"
            "<ows:Fees>NONE</ows:Fees><ows:AccessConstraints>NONE</ows:AccessConstraints></ows:ServiceIdentification>"
            "<ows:ServiceProvider><ows:ProviderName>cityassets</ows:ProviderName><ows:ServiceContact/></ows:ServiceProvider>")


def capabilities_20(url: str, principal: AuthPrincipal, settings: Settings) -> str:
    """The WFS 2.0.0 capabilities document."""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<wfs:WFS_Capabilities version="2.0.0" xmlns:wfs="{WFS20}" '
        f'xmlns:ows="{OWS11}" xmlns:fes="{FES20}" xmlns:gml="{GML32}" xmlns:xlink="{XLINK}" xmlns:xsi="{XSI}" '
        f'xmlns:{CA_PREFIX}="{CA}" xsi:schemaLocation="{WFS20} http://schemas.opengis.net/wfs/2.0/wfs.xsd">'
        f"{_service(settings, '2.0.0')}{_ops_meta_20(url, principal, settings)}"
        f"{_feature_types(settings, '2.0.0', principal)}{_filter_caps_20()}</wfs:WFS_Capabilities>"
    )


def capabilities_11(url: str, principal: AuthPrincipal, settings: Settings) -> str:
    """The WFS 1.1.0 capabilities document (OWS 1.0, Filter 1.1)."""
    dcp = (f'<ows:DCP><ows:HTTP><ows:Get xlink:href={attr(url + "?")}/><ows:Post xlink:href={attr(url)}/>'
           "</ows:HTTP></ows:DCP>")
    names = ["GetCapabilities", "DescribeFeatureType", "GetFeature"] + (["Transaction"] if can_edit(principal) else [])
    ops = []
    for n in names:
        extra = ""
        if n == "GetFeature":
            extra = ('<ows:Parameter name="resultType"><ows:Value>results</ows:Value><ows:Value>hits</ows:Value>'
                     f'</ows:Parameter><ows:Parameter name="outputFormat"><ows:Value>{GML31_TEXT}</ows:Value>'
                     "<ows:Value>application/json</ows:Value></ows:Parameter>")
        ops.append(f'<ows:Operation name="{n}">{dcp}{extra}</ows:Operation>')
    ops.append(f'<ows:Constraint name="DefaultMaxFeatures"><ows:Value>{settings.max_limit}</ows:Value></ows:Constraint>')
    comps = "".join(f"<ogc:ComparisonOperator>{n}</ogc:ComparisonOperator>" for n in COMPARISONS_11)
    spatial = "".join(f'<ogc:SpatialOperator name="{n}"/>' for n in SPATIAL)
    operands = "".join(f"<ogc:GeometryOperand>gml:{g}</ogc:GeometryOperand>" for g in
                       ("Envelope", "Point", "LineString", "Polygon"))
    filt = (f"<ogc:Filter_Capabilities><ogc:Spatial_Capabilities><ogc:GeometryOperands>{operands}"
            f"</ogc:GeometryOperands><ogc:SpatialOperators>{spatial}</ogc:SpatialOperators></ogc:Spatial_Capabilities>"
            f"<ogc:Scalar_Capabilities><ogc:LogicalOperators/><ogc:ComparisonOperators>{comps}"
            "</ogc:ComparisonOperators><ogc:ArithmeticOperators><ogc:SimpleArithmetic/></ogc:ArithmeticOperators>"
            "</ogc:Scalar_Capabilities><ogc:Id_Capabilities><ogc:EID/><ogc:FID/></ogc:Id_Capabilities>"
            "</ogc:Filter_Capabilities>")
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<wfs:WFS_Capabilities version="1.1.0" xmlns:wfs="{WFS}" '
        f'xmlns:ows="{OWS10}" xmlns:ogc="{OGC}" xmlns:gml="{GML}" xmlns:xlink="{XLINK}" xmlns:xsi="{XSI}" '
        f'xmlns:{CA_PREFIX}="{CA}" xsi:schemaLocation="{WFS} http://schemas.opengis.net/wfs/1.1.0/wfs.xsd">'
        f"{_service(settings, '1.1.0')}<ows:OperationsMetadata>{''.join(ops)}</ows:OperationsMetadata>"
        f"{_feature_types(settings, '1.1.0', principal)}{filt}</wfs:WFS_Capabilities>"
    )
