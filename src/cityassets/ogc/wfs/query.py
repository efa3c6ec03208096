"""cityassets.ogc.wfs.query: KVP and XML query expressions -> repository FeatureQuery (ISO 19142 clause 7.9).

One parser for GetFeature and GetPropertyValue, whether the parameters came as KVP (names are
case-insensitive: OWSLib sends lower case) or inside a POSTed `wfs:Query`. The repository builds
the SQL (`where_sql`, `order_sql` ending with the id: deterministic paging, P4).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from cityassets.catalogue import Collection
from cityassets.errors import InvalidRequest
from cityassets.ogc.wfs.describe import GEOMETRY_NAME, field_for_element, resolve_types
from cityassets.ogc.wfs.exceptions import WfsError, invalid
from cityassets.ogc.wfs.fes import ParsedFilter, parse_fid, parse_filter
from cityassets.ogc.wfs.ns import child, children, local, parse_xml, strip_prefix, text
from cityassets.ogc.wfs.srs import DEFAULT, Srs, parse_srs, to_authority
from cityassets.repository.features import FeatureQuery
from cityassets.settings import Settings


@dataclass
class WfsQuery:
    """One resolved query: the collection, the repository query and the output shape."""

    collection: Collection
    fq: FeatureQuery
    srs: Srs
    only: list[str] | None = None
    with_geometry: bool = True


@dataclass
class Presentation:
    """GetFeature-level parameters (ISO 19142 7.6.3)."""

    start: int = 0
    count: int = 0
    hits: bool = False
    json: bool = False
    value_reference: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _int(raw: str | None, name: str, default: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        v = int(raw)
    except ValueError:
        raise invalid(name, f"{name} must be a non-negative integer") from None
    if v < 0:
        raise invalid(name, f"{name} must be a non-negative integer")
    return v


def presentation(get: Any, settings: Settings, version: str) -> Presentation:
    """STARTINDEX, COUNT/MAXFEATURES (clamped, P9), RESULTTYPE, OUTPUTFORMAT."""
    p = Presentation()
    p.start = _int(get("STARTINDEX"), "STARTINDEX", 0)
    count = get("COUNT") if get("COUNT") is not None else get("MAXFEATURES")
    p.count = min(_int(count, "COUNT", settings.max_limit), settings.max_limit)
    rt = (get("RESULTTYPE") or "results").lower()
    if rt not in ("results", "hits"):
        raise invalid("resultType", "resultType is results or hits")
    p.hits = rt == "hits"
    fmt = (get("OUTPUTFORMAT") or "").lower().replace(" ", "")
    if fmt and not any(k in fmt for k in ("gml", "xml", "json")):
        raise invalid("outputFormat", f"output format '{get('OUTPUTFORMAT')}' is not offered")
    p.json = "json" in fmt
    return p


def _compile(c: Collection, cql: dict[str, Any], fq: FeatureQuery, storage_srid: int) -> None:
    try:
        from cityassets.ogc import filters  # OGC API Part 3 compiler: one allow-listed AST for every face
    except ImportError:
        raise WfsError("this server cannot evaluate attribute or spatial filters yet (filter compiler missing)",
                       "OperationProcessingFailed", "FILTER", status=501) from None
    try:
        fq.where.append(filters.compile_cql2_json(c, cql, fq.params, storage_srid, filter_crs="CRS84"))
    except WfsError:
        raise
    except InvalidRequest as exc:
        raise invalid("FILTER", exc.message) from None


def apply_filter(c: Collection, pf: ParsedFilter, fq: FeatureQuery, storage_srid: int) -> None:
    """Ids -> q.ids, top-level BBOX -> q.bbox, the rest compiled by the shared CQL2 compiler."""
    if pf.ids is not None:
        fq.ids = [i for i in pf.ids if 0 < i < 2**63] or [0]
    if pf.bbox is not None and pf.bbox_srs is not None:
        fq.bbox, fq.bbox_crs = to_authority(pf.bbox, pf.bbox_srs)
    if pf.cql is not None:
        _compile(c, pf.cql, fq, storage_srid)


def parse_sortby(c: Collection, raw: str) -> list[tuple[str, bool]]:
    """`a DESC,b` (2.0) or `a D,b A` (1.1)."""
    out = []
    for part in [p.strip() for p in raw.split(",") if p.strip()]:
        bits = part.split()
        f = field_for_element(c, bits[0])
        if f is None:
            raise invalid("SORTBY", f"cannot sort by unknown property '{bits[0]}'")
        order = bits[1].upper() if len(bits) > 1 else "ASC"
        if order not in ("ASC", "DESC", "A", "D"):
            raise invalid("SORTBY", f"sort order '{bits[1]}' is ASC or DESC")
        out.append((f.name, order in ("DESC", "D")))
    return out


def _properties(c: Collection, names: list[str]) -> tuple[list[str] | None, bool]:
    if not names:
        return None, True
    only, geo = [], False
    for n in names:
        short = strip_prefix(n.split("/")[-1])
        if short in (GEOMETRY_NAME, "*"):
            geo = True
            if short == "*":
                return None, True
            continue
        f = field_for_element(c, n)
        if f is None:
            raise invalid("PROPERTYNAME", f"'{n}' is not a property of {c.id}")
        only.append(f.name)
    return only, geo


def _numbers(raw: str, name: str) -> list[float]:
    try:
        vals = [float(v) for v in raw.split(",")]
    except ValueError:
        raise invalid(name, f"{name} must be comma-separated numbers") from None
    if any(v != v or v in (float("inf"), float("-inf")) for v in vals):
        raise invalid(name, f"{name} must be finite numbers")
    return vals


def from_kvp(get: Any, settings: Settings, version: str, p: Presentation) -> WfsQuery:
    """A KVP GetFeature/GetPropertyValue -> one WfsQuery."""
    storage = settings.storage_srid
    rid = get("RESOURCEID") or get("FEATUREID")
    if get("STOREDQUERY_ID"):
        if "getfeaturebyid" not in get("STOREDQUERY_ID").lower():
            raise invalid("STOREDQUERY_ID", f"unknown stored query '{get('STOREDQUERY_ID')}'")
        if not get("ID"):
            raise WfsError("parameter 'ID' is required", "MissingParameterValue", "ID")
        rid = get("ID")
        p.extra["by_id"] = True
    names = get("TYPENAMES") or get("TYPENAME")
    ids: list[int] = []
    if rid:
        types = set()
        for part in rid.split(","):
            tn, fid = parse_fid(part, "RESOURCEID")
            ids.append(fid)
            if tn:
                types.add(tn)
        if not names and len(types) == 1:
            names = types.pop()
    if not names:
        raise WfsError("parameter 'TYPENAMES' is required", "MissingParameterValue", "typeNames")
    cols = resolve_types(names)
    if len(cols) != 1:
        raise invalid("typeNames", "one feature type per query (joins are not offered)")
    c = cols[0]
    srs = parse_srs(get("SRSNAME"), "srsName", storage)
    fq = FeatureQuery(limit=p.count, offset=p.start)
    fq.crs = srs.norm
    exclusive = [k for k in ("BBOX", "FILTER", "RESOURCEID") if get(k) or (k == "RESOURCEID" and rid)]
    if len(exclusive) > 1:
        raise invalid(exclusive[1], f"{', '.join(exclusive)} are mutually exclusive (ISO 19142 7.9.2.4.1)")
    if rid:
        fq.ids = [i for i in ids if 0 < i < 2**63] or [0]
    if get("BBOX"):
        vals = get("BBOX").split(",")
        crs_raw = vals[4] if len(vals) == 5 else (",".join(vals[4:]) if len(vals) > 5 else None)
        box = _numbers(",".join(vals[:4]), "BBOX")
        if len(box) != 4 or box[0] > box[2] or box[1] > box[3]:
            raise invalid("BBOX", "BBOX is minx,miny,maxx,maxy[,crs] with min <= max")
        bsrs = parse_srs(crs_raw, "BBOX", storage, restrict=False) if crs_raw else srs
        fq.bbox, fq.bbox_crs = to_authority(tuple(box), bsrs)
    if get("FILTER"):
        raw = get("FILTER")
        lang = (get("FILTER_LANGUAGE") or "").lower()
        if lang and "fes" not in lang and "filter" not in lang:
            raise invalid("FILTER_LANGUAGE", f"filter language '{get('FILTER_LANGUAGE')}' is not offered")
        el = parse_xml(raw.strip().lstrip("(").rstrip(")").encode() if raw.strip().startswith("(") else raw.encode())
        apply_filter(c, parse_filter(el, c, srs, storage), fq, storage)
    if get("SORTBY"):
        fq.sortby = parse_sortby(c, get("SORTBY"))
    props = [n for n in re.split(r"[,()]", get("PROPERTYNAME") or "") if n.strip()]
    only, geo = _properties(c, props)
    return WfsQuery(c, fq, srs, only, geo)


def from_xml(root: ET.Element, settings: Settings, version: str, p: Presentation) -> WfsQuery:
    """A POSTed GetFeature/GetPropertyValue -> its (single) wfs:Query."""
    storage = settings.storage_srid
    queries = children(root, "Query")
    if not queries:
        sq = child(root, "StoredQuery")
        if sq is not None:
            ids = [text(par) for par in children(sq, "Parameter") if (par.get("name") or "").upper() == "ID"]
            if not ids:
                raise WfsError("parameter 'ID' is required", "MissingParameterValue", "ID")
            p.extra["by_id"] = True
            return from_kvp(lambda k: {"STOREDQUERY_ID": "GetFeatureById", "ID": ids[0]}.get(k), settings, version, p)
        raise WfsError("a wfs:Query is required", "MissingParameterValue", "Query")
    if len(queries) > 1:
        raise invalid("Query", "one wfs:Query per request")
    q = queries[0]
    names = q.get("typeNames") or q.get("typeName") or ""
    cols = resolve_types(names)
    if not names or len(cols) != 1:
        raise invalid("typeNames", "one feature type per query (joins are not offered)")
    c = cols[0]
    srs = parse_srs(q.get("srsName"), "srsName", storage)
    fq = FeatureQuery(limit=p.count, offset=p.start)
    fq.crs = srs.norm
    filt = child(q, "Filter")
    if filt is not None:
        apply_filter(c, parse_filter(filt, c, srs, storage), fq, storage)
    sort = child(q, "SortBy")
    if sort is not None:
        keys = []
        for sp in children(sort, "SortProperty"):
            ref = child(sp, "ValueReference")
            name = text(ref if ref is not None else child(sp, "PropertyName"))
            order = text(child(sp, "SortOrder")) or "ASC"
            keys.append(f"{name} {order}")
        fq.sortby = parse_sortby(c, ",".join(keys))
    props = [text(e) for e in children(q) if local(e.tag) in ("PropertyName", "ValueReference")]
    only, geo = _properties(c, props)
    return WfsQuery(c, fq, srs, only, geo)


__all__ = ["WfsQuery", "Presentation", "presentation", "from_kvp", "from_xml", "DEFAULT"]
