"""cityassets.ogc.wfs.fes: FES 2.0 / Filter 1.1 / Filter 1.0 XML parsed into CQL2-JSON.

One filter compiler serves OGC API Part 3 and WFS (`cityassets.ogc.filters`): this module only
translates the XML (ISO 19143 clauses 7.7-7.11) into the CQL2-JSON shape it compiles. Resource ids
(fes:ResourceId, ogc:FeatureId, ogc:GmlObjectId) and a top-level BBOX are lifted out into the
FeatureQuery's `ids` / `bbox`, which the repository serves from the primary key and the GiST index.
Geometry literals are converted to CRS84 lon/lat following their srsName (P1).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cityassets import crs as crsmod
from cityassets.catalogue import Collection
from cityassets.ogc.wfs.describe import GEOMETRY_NAME, field_for_element
from cityassets.ogc.wfs.exceptions import invalid
from cityassets.ogc.wfs.gmlin import read_geometry
from cityassets.ogc.wfs.ns import children, local, strip_prefix, text
from cityassets.ogc.wfs.srs import Srs

COMPARISON = {
    "PropertyIsEqualTo": "=", "PropertyIsNotEqualTo": "<>", "PropertyIsLessThan": "<",
    "PropertyIsGreaterThan": ">", "PropertyIsLessThanOrEqualTo": "<=", "PropertyIsGreaterThanOrEqualTo": ">=",
}
SPATIAL = {"Intersects": "s_intersects", "Within": "s_within", "Contains": "s_contains",
           "Disjoint": "s_disjoint", "Equals": "s_equals", "Touches": "s_touches", "Crosses": "s_crosses",
           "Overlaps": "s_overlaps"}
#: fes:Distance units -> metres (the storage CRS is metric).
UOM = {"m": 1.0, "meter": 1.0, "metre": 1.0, "meters": 1.0, "metres": 1.0, "km": 1000.0, "kilometers": 1000.0,
       "ft": 0.3048, "feet": 0.3048, "mi": 1609.344, "deg": 111_320.0, "degree": 111_320.0, "degrees": 111_320.0}
MAX_DEPTH = 32
MAX_NODES = 2000


@dataclass
class ParsedFilter:
    """A filter split into what the repository serves directly and a CQL2-JSON remainder."""

    cql: dict[str, Any] | None = None
    ids: list[int] | None = None
    bbox: tuple[float, ...] | None = None
    bbox_srs: Srs | None = None
    typenames: set[str] = field(default_factory=set)  # collections named by resource ids


def parse_fid(raw: str, locator: str = "RESOURCEID") -> tuple[str | None, int]:
    """`manholes.12`, `ca:manholes.12` or `12` -> (collection id or None, 12)."""
    m = re.fullmatch(r"\s*(?:(?:[A-Za-z_][\w\-]*:)?([A-Za-z_][\w\-]*)\.)?(\d{1,18})\s*", raw or "")
    if not m:
        raise invalid(locator, f"'{raw}' is not a feature id of this service (<type>.<id>)")
    return m.group(1), int(m.group(2))


class _Parser:
    def __init__(self, c: Collection, default: Srs, storage_srid: int, xy_only: bool) -> None:
        self.c, self.default, self.storage_srid, self.xy_only = c, default, storage_srid, xy_only
        self.nodes = 0
        self.typenames: set[str] = set()

    # --- operands ------------------------------------------------------------------------------
    def prop(self, el: ET.Element) -> tuple[dict[str, str], str]:
        name = text(el)
        short = strip_prefix(name.split("/")[-1]) if name else ""
        if short in (GEOMETRY_NAME, "geometry", "the_geom", "msGeometry"):
            return {"property": GEOMETRY_NAME}, "geometry"
        f = field_for_element(self.c, name)
        if f is None:
            raise invalid("FILTER", f"'{name}' is not a property of {self.c.id}")
        return {"property": f.name}, f.type

    def literal(self, el: ET.Element, ftype: str) -> Any:
        raw = text(el)
        try:
            if ftype == "integer":
                return int(float(raw)) if float(raw).is_integer() else float(raw)
            if ftype == "number":
                return float(raw)
            if ftype == "boolean":
                if raw.lower() not in ("true", "false", "1", "0"):
                    raise ValueError(raw)
                return raw.lower() in ("true", "1")
        except ValueError:
            raise invalid("FILTER", f"'{raw}' is not a valid {ftype}") from None
        if ftype == "date":
            return {"date": raw[:10]}
        if ftype == "datetime":
            return {"timestamp": raw if ("Z" in raw or "+" in raw[10:]) else raw + "Z"}
        return raw

    def _operands(self, el: ET.Element) -> tuple[list[Any], str]:
        """Property + literal operands of a comparison, in document order."""
        args: list[Any] = []
        ftype = "string"
        kids = children(el)
        for k in kids:
            if local(k.tag) in ("ValueReference", "PropertyName"):
                p, ftype = self.prop(k)
        for k in kids:
            n = local(k.tag)
            if n in ("ValueReference", "PropertyName"):
                args.append(self.prop(k)[0])
            elif n == "Literal":
                args.append(self.literal(k, ftype))
            else:
                raise invalid("FILTER", f"unsupported operand {n} (functions and arithmetic are not offered)")
        if len(args) != 2:
            raise invalid("FILTER", f"{local(el.tag)} takes two operands")
        return args, ftype

    def geometry(self, el: ET.Element) -> dict[str, Any]:
        """A GML literal as CRS84 GeoJSON (or {"bbox": [...]} for envelopes)."""
        geom, srs = read_geometry(el, self.default, xy_only=self.xy_only, storage_srid=self.storage_srid)
        if srs.srid != 4326:
            t = crsmod.transformer(f"EPSG:{srs.srid}", "CRS84")
            geom["coordinates"] = _transform(geom["coordinates"], t)
        if geom["type"] == "Envelope":
            (x0, y0), (x1, y1) = geom["coordinates"]
            return {"bbox": [min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)]}
        return geom

    # --- predicates ----------------------------------------------------------------------------
    def expr(self, el: ET.Element, depth: int = 0) -> dict[str, Any] | list[int]:
        self.nodes += 1
        if depth > MAX_DEPTH or self.nodes > MAX_NODES:
            raise invalid("FILTER", "filter too deep or too large")
        n = local(el.tag)
        if n in ("And", "Or"):
            kids = [self.expr(k, depth + 1) for k in children(el)]
            if any(isinstance(k, list) for k in kids):
                raise invalid("FILTER", "resource ids are only allowed at the top of a filter or directly in its And")
            if len(kids) < 2:
                raise invalid("FILTER", f"{n} needs at least two operands")
            return {"op": n.lower(), "args": kids}
        if n == "Not":
            kids = children(el)
            inner = self.expr(kids[0], depth + 1) if len(kids) == 1 else None
            if inner is None or isinstance(inner, list):
                raise invalid("FILTER", "Not takes one predicate")
            return {"op": "not", "args": [inner]}
        if n in COMPARISON:
            args, _ = self._operands(el)
            return {"op": COMPARISON[n], "args": args}
        if n == "PropertyIsLike":
            args, _ = self._operands(el)
            pattern = _like_pattern(str(args[1]), el.get("wildCard", "*"), el.get("singleChar", el.get("singleChar", "?")),
                                    el.get("escapeChar", el.get("escape", "\\")))
            out: dict[str, Any] = {"op": "like", "args": [args[0], pattern]}
            if el.get("matchCase", "true").lower() == "false":
                out = {"op": "like", "args": [{"op": "casei", "args": [args[0]]}, {"op": "casei", "args": [pattern]}]}
            return out
        if n in ("PropertyIsNull", "PropertyIsNil"):
            p = [k for k in children(el) if local(k.tag) in ("ValueReference", "PropertyName")]
            if len(p) != 1:
                raise invalid("FILTER", f"{n} takes one property")
            return {"op": "isNull", "args": [self.prop(p[0])[0]]}
        if n == "PropertyIsBetween":
            kids = children(el)
            p, ftype = self.prop(kids[0])
            lo = [self.literal(k, ftype) for b in children(el, "LowerBoundary") for k in children(b)]
            hi = [self.literal(k, ftype) for b in children(el, "UpperBoundary") for k in children(b)]
            if len(lo) != 1 or len(hi) != 1:
                raise invalid("FILTER", "PropertyIsBetween needs LowerBoundary and UpperBoundary literals")
            return {"op": "between", "args": [p, lo[0], hi[0]]}
        if n in ("ResourceId", "FeatureId", "GmlObjectId", "RecordId"):
            raw = el.get("rid") or el.get("fid") or el.get("{http://www.opengis.net/gml}id") \
                or el.get("{http://www.opengis.net/gml/3.2}id") or el.get("id") or ""
            tn, fid = parse_fid(raw, "FILTER")
            if tn:
                self.typenames.add(tn)
            return [fid]
        if n == "BBOX":
            return {"op": "s_intersects", "args": [{"property": GEOMETRY_NAME}, self._spatial_operand(el)]}
        if n in SPATIAL:
            return {"op": SPATIAL[n], "args": [{"property": GEOMETRY_NAME}, self._spatial_operand(el)]}
        if n in ("DWithin", "Beyond"):
            dist = [k for k in children(el) if local(k.tag) == "Distance"]
            if not dist:
                raise invalid("FILTER", f"{n} needs a Distance")
            uom = (dist[0].get("uom") or dist[0].get("units") or "m").lower().rsplit("#", 1)[-1].rsplit(":", 1)[-1]
            if uom not in UOM:
                raise invalid("FILTER", f"unsupported distance unit '{uom}' (use m or km)")
            metres = float(text(dist[0])) * UOM[uom]
            e: dict[str, Any] = {"op": "s_dwithin", "args": [{"property": GEOMETRY_NAME}, self._spatial_operand(el), metres]}
            return {"op": "not", "args": [e]} if n == "Beyond" else e
        raise invalid("FILTER", f"unsupported filter operator {n}")

    def _spatial_operand(self, el: ET.Element) -> dict[str, Any]:
        geoms = [k for k in children(el) if local(k.tag) not in ("ValueReference", "PropertyName", "Distance")]
        for k in children(el):
            if local(k.tag) in ("ValueReference", "PropertyName"):
                self.prop(k)  # must name the geometry (or a known property)
        if len(geoms) != 1:
            raise invalid("FILTER", f"{local(el.tag)} needs one geometry operand")
        return self.geometry(geoms[0])


def _transform(coords: Any, t: Any) -> Any:
    if coords and isinstance(coords[0], (int, float)):
        x, y = t.transform(np.array([coords[0]]), np.array([coords[1]]))
        return [float(x[0]), float(y[0])]
    return [_transform(c, t) for c in coords]


def _like_pattern(value: str, wild: str, single: str, esc: str) -> str:
    """FES wildcards -> CQL2 LIKE (% and _, backslash escape)."""
    out = []
    i = 0
    while i < len(value):
        ch = value[i]
        if esc and ch == esc and i + 1 < len(value):
            nxt = value[i + 1]
            out.append("\\" + nxt if nxt in "%_\\" else nxt)
            i += 2
            continue
        if ch == wild:
            out.append("%")
        elif ch == single:
            out.append("_")
        elif ch in "%_\\":
            out.append("\\" + ch)
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def parse_filter(el: ET.Element, c: Collection, default: Srs, storage_srid: int, xy_only: bool = False) -> ParsedFilter:
    """A fes:Filter / ogc:Filter element -> ids, top-level bbox and a CQL2-JSON remainder."""
    if local(el.tag) != "Filter":
        raise invalid("FILTER", f"expected a Filter element, got {local(el.tag)}")
    p = _Parser(c, default, storage_srid, xy_only)
    kids = children(el)
    if not kids:
        raise invalid("FILTER", "empty filter")
    out = ParsedFilter()
    # Several ResourceIds directly under Filter are OR'ed (ISO 19143 7.11).
    if all(local(k.tag) in ("ResourceId", "FeatureId", "GmlObjectId") for k in kids):
        ids: list[int] = []
        for k in kids:
            ids += p.expr(k)  # type: ignore[operator]
        out.ids, out.typenames = ids, p.typenames
        return out
    if len(kids) != 1:
        raise invalid("FILTER", "a filter holds one predicate (combine several with And/Or)")
    top = kids[0]
    parts = children(top) if local(top.tag) == "And" else [top]
    if local(top.tag) == "And" and len(parts) < 2:
        raise invalid("FILTER", "And needs at least two operands")
    rest: list[dict[str, Any]] = []
    for k in parts:
        n = local(k.tag)
        envs = [g for g in children(k) if local(g.tag) in ("Envelope", "Box")] if n == "BBOX" else []
        if envs and out.bbox is None:
            geom, srs = read_geometry(envs[0], default, xy_only=xy_only, storage_srid=storage_srid)
            (x0, y0), (x1, y1) = geom["coordinates"]
            out.bbox = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
            out.bbox_srs = Srs(srs.srid, False)  # read_geometry returns x/y order
            continue
        e = p.expr(k, 1)
        if isinstance(e, list):
            out.ids = sorted(set(out.ids) & set(e)) if out.ids is not None else e
        else:
            rest.append(e)
    if rest:
        out.cql = rest[0] if len(rest) == 1 else {"op": "and", "args": rest}
    out.typenames = p.typenames
    return out
