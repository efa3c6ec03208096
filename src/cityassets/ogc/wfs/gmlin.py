"""cityassets.ogc.wfs.gmlin: GML 2 / 3.1 / 3.2 geometries read into GeoJSON dicts (x/y order).

The srsName on the geometry (or its nearest ancestor) decides the axis order (GeoServer's table,
ogc-interop P1/P2); `default` applies when none is given. Transactions of WFS 1.0.0 pass
`xy_only=True`: WFS 1.0 / GML 2 coordinates are x/y whatever the srsName says, which is what QGIS
3.22 sends even with the URN it copied from 2.0 capabilities (qgis/QGIS#47254, #47894).
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from typing import Any

from cityassets.ogc.wfs.exceptions import invalid
from cityassets.ogc.wfs.ns import children, local, text
from cityassets.ogc.wfs.srs import Srs, parse_srs

Coords = list[tuple[float, float]]


def _num(s: str, dec: str = ".") -> float:
    v = float(s.replace(dec, ".") if dec != "." else s)
    if not math.isfinite(v):
        raise ValueError(s)
    return v


def _coordinates(el: ET.Element) -> Coords:
    cs, ts, dec = el.get("cs", ","), el.get("ts", " "), el.get("decimal", ".")
    out = []
    for tup in (text(el).split(ts) if ts.strip() else text(el).split()):
        if not tup.strip():
            continue
        parts = [p for p in tup.strip().split(cs) if p != ""]
        out.append((_num(parts[0], dec), _num(parts[1], dec)))
    return out


def _poslist(el: ET.Element, dim: int) -> Coords:
    vals = [_num(v) for v in text(el).split()]
    dim = int(el.get("srsDimension") or el.get("dimension") or dim)
    if dim < 2 or len(vals) % dim:
        raise ValueError("posList length does not match srsDimension")
    return [(vals[i], vals[i + 1]) for i in range(0, len(vals), dim)]


def _points(el: ET.Element, dim: int) -> Coords:
    """Coordinates of a Point/LineString/LinearRing/Envelope-like element in document order."""
    out: Coords = []
    for c in children(el):
        n = local(c.tag)
        if n == "posList":
            out += _poslist(c, dim)
        elif n == "pos":
            out += _poslist(c, dim)
        elif n == "coordinates":
            out += _coordinates(c)
        elif n == "coord":
            xs = [text(k) for k in children(c) if local(k.tag) in ("X", "Y")]
            out.append((_num(xs[0]), _num(xs[1])))
        elif n in ("pointProperty", "pointRep"):
            out += _points(children(c)[0], dim)
    return out


def _ring(el: ET.Element, dim: int) -> Coords:
    ring = children(el)[0]  # LinearRing (or Ring/curveMember, rarely used)
    if local(ring.tag) == "Ring":
        pts: Coords = []
        for cm in children(ring, "curveMember"):
            pts += _line(children(cm)[0], dim)
        return pts
    return _points(ring, dim)


def _line(el: ET.Element, dim: int) -> Coords:
    if local(el.tag) == "Curve":
        pts: Coords = []
        for seg in children(children(el, "segments")[0]):
            pts += _points(seg, dim)
        return pts
    return _points(el, dim)


def _polygon(el: ET.Element, dim: int) -> list[Coords]:
    if local(el.tag) == "Surface":
        patches = children(children(el, "patches")[0])
        return [r for p in patches for r in _polygon(p, dim)]
    rings = []
    for c in children(el):
        if local(c.tag) in ("exterior", "outerBoundaryIs", "interior", "innerBoundaryIs"):
            rings.append(_ring(c, dim))
    return rings


def _members(el: ET.Element, names: tuple[str, ...]) -> list[ET.Element]:
    out = []
    for c in children(el):
        if local(c.tag) in names:
            out += children(c)
    return out


def _geometry(el: ET.Element, dim: int) -> dict[str, Any]:
    n = local(el.tag)
    if n == "Point":
        return {"type": "Point", "coordinates": _points(el, dim)[0]}
    if n in ("LineString", "Curve"):
        return {"type": "LineString", "coordinates": _line(el, dim)}
    if n in ("Polygon", "Surface"):
        return {"type": "Polygon", "coordinates": _polygon(el, dim)}
    if n == "MultiPoint":
        return {"type": "MultiPoint", "coordinates": [_points(p, dim)[0] for p in _members(el, ("pointMember", "pointMembers"))]}
    if n in ("MultiLineString", "MultiCurve"):
        return {"type": "MultiLineString",
                "coordinates": [_line(m, dim) for m in _members(el, ("lineStringMember", "curveMember", "curveMembers"))]}
    if n in ("MultiPolygon", "MultiSurface"):
        polys = []
        for m in _members(el, ("polygonMember", "surfaceMember", "surfaceMembers")):
            polys.append(_polygon(m, dim))
        return {"type": "MultiPolygon", "coordinates": polys}
    if n in ("Envelope", "Box"):
        pts = []
        for c in children(el):
            if local(c.tag) in ("lowerCorner", "upperCorner"):
                pts += _poslist(c, dim)
        pts = pts or _points(el, dim)
        return {"type": "Envelope", "coordinates": pts[:2]}
    raise invalid("geometry", f"unsupported GML geometry gml:{n}")


def _swap(obj: Any) -> Any:
    if isinstance(obj, tuple):
        return (obj[1], obj[0])
    return [_swap(o) for o in obj]


def srs_of(el: ET.Element, inherited: str | None) -> str | None:
    """The srsName on this element, else the inherited one."""
    return el.get("srsName") or inherited


def read_geometry(el: ET.Element, default: Srs, inherited_srs: str | None = None, xy_only: bool = False,
                  storage_srid: int | None = None) -> tuple[dict[str, Any], Srs]:
    """A GML geometry element -> (GeoJSON-like dict in x/y order, its CRS). Envelopes come back as type Envelope."""
    raw = srs_of(el, inherited_srs)
    srs = parse_srs(raw, "srsName", storage_srid, restrict=False) if raw else default
    if xy_only:
        srs = Srs(srs.srid, False)
    dim = int(el.get("srsDimension") or 2)
    try:
        geom = _geometry(el, dim)
    except (ValueError, IndexError, TypeError) as exc:
        raise invalid("geometry", f"malformed GML {local(el.tag)}: {exc}") from None
    if srs.flip:
        geom["coordinates"] = _swap(geom["coordinates"])
    geom["coordinates"] = _listify(geom["coordinates"])
    return geom, srs


def swap_xy(coords: Any) -> Any:
    """Nested GeoJSON coordinate lists with the two axes swapped."""
    if coords and isinstance(coords[0], (int, float)):
        return [coords[1], coords[0], *coords[2:]]
    return [swap_xy(c) for c in coords]


def _listify(obj: Any) -> Any:
    if isinstance(obj, tuple):
        return [obj[0], obj[1]]
    return [_listify(o) for o in obj]
