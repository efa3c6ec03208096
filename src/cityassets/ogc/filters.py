"""cityassets.ogc.filters: OGC API - Features Part 3 filtering (OGC 19-079r2) with CQL2 (OGC 21-065r2).

Text and JSON filters are parsed by the `cql2` package into CQL2-JSON; this module then walks that
tree with an allow-list of operators and the catalogue's queryables, and emits SQL whose every
value is a bound parameter. Nothing else reaches the database: no function, column or literal the
allow-list does not name (cql2's own `to_sql()` passes unknown functions such as `pg_sleep`
through, so it is never used). WFS reuses `compile_cql2_json` for FES 2.0 filters.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

import cql2
import orjson
from fastapi import Request

from cityassets import crs as crsmod
from cityassets.catalogue import Collection
from cityassets.errors import InvalidRequest
from cityassets.ogc import common, features
from cityassets.repository.features import FeatureQuery
from cityassets.repository.sql import Params, ident
from cityassets.settings import Settings

_F3 = "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/"
_CQL2 = "http://www.opengis.net/spec/cql2/1.0/conf/"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    _F3 + "queryables", _F3 + "queryables-query-parameters", _F3 + "filter", _F3 + "features-filter",
    _CQL2 + "cql2-text", _CQL2 + "cql2-json", _CQL2 + "basic-cql2", _CQL2 + "advanced-comparison-operators",
    _CQL2 + "case-insensitive-comparison", _CQL2 + "basic-spatial-functions",
    _CQL2 + "basic-spatial-functions-plus", _CQL2 + "spatial-functions",
    # Draft-era name QGIS 3.32+ still looks for before it sends spatial CQL2 (QGIS changelog 3.32).
    _CQL2 + "basic-spatial-operators",
]

MAX_FILTER_CHARS = 65_536
MAX_NODES = 1_000
MAX_DEPTH = 40
MAX_VERTICES = 10_000  # literal geometry vertices per filter: PostGIS work stays bounded
MAX_IN_LIST = 1_000
GEOMETRY_PROPERTIES = ("geometry", "geom")  # queryables name it `geometry`; the column is `geom`

_COMPARISONS = {"=": "=", "<>": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_SPATIAL = {
    "s_intersects": "ST_Intersects", "s_within": "ST_Within", "s_contains": "ST_Contains",
    "s_disjoint": "ST_Disjoint", "s_equals": "ST_Equals", "s_touches": "ST_Touches",
    "s_overlaps": "ST_Overlaps", "s_crosses": "ST_Crosses",
}
_SWAPPED = {"s_within": "s_contains", "s_contains": "s_within"}
_TEMPORAL = {"t_after", "t_before", "t_equals", "t_intersects", "t_disjoint", "t_during"}
_DEPTH = {"Point": 1, "MultiPoint": 2, "LineString": 2, "MultiLineString": 3, "Polygon": 3, "MultiPolygon": 4}
_CASTS = {"string": "text", "integer": "bigint", "number": "numeric", "boolean": "boolean", "date": "date",
          "datetime": "timestamptz"}


class _Compiler:
    """One walk over one CQL2-JSON tree; values go to `params`, identifiers only from the catalogue."""

    def __init__(self, collection: Collection, params: Params, storage_srid: int, filter_crs: str) -> None:
        self.c = collection
        self.p = params
        self.srid = storage_srid
        self.fcrs = filter_crs
        self.nodes = 0
        self.vertices = 0

    # --- predicates (booleanExpression, CQL2 §7) ------------------------------------------------
    def predicate(self, node: Any, depth: int = 0) -> str:
        """SQL of a boolean expression; 400 for any operator, function or property not allow-listed."""
        self.nodes += 1
        if self.nodes > MAX_NODES or depth > MAX_DEPTH:
            raise InvalidRequest(f"filter too complex (at most {MAX_NODES} nodes, depth {MAX_DEPTH})")
        if isinstance(node, bool):
            return "TRUE" if node else "FALSE"
        if isinstance(node, dict) and "property" in node:
            sql, typ = self.value(node)
            if typ != "boolean":
                raise InvalidRequest(f"property '{node['property']}' is not boolean and cannot stand alone")
            return sql
        op, args = self._op(node)
        if op in ("and", "or"):
            if len(args) < 2:
                raise InvalidRequest(f"'{op}' needs at least two operands")
            return "(" + f" {op.upper()} ".join(self.predicate(a, depth + 1) for a in args) + ")"
        if op == "not":
            self._arity(op, args, 1)
            return f"NOT ({self.predicate(args[0], depth + 1)})"
        if op in _COMPARISONS:
            self._arity(op, args, 2)
            left, right = self.pair(args[0], args[1])
            return f"{left} {_COMPARISONS[op]} {right}"
        if op == "like":
            self._arity(op, args, 2)
            left, typ = self.value(args[0])
            if typ != "string":
                raise InvalidRequest("LIKE needs a string property")
            pattern, ptyp = self.value(args[1], "string")
            if ptyp != "string":
                raise InvalidRequest("LIKE needs a string pattern")
            # CQL2 wildcards % and _ with backslash escapes are PostgreSQL's LIKE defaults (CQL2 §8.2).
            return f"{left} LIKE {pattern}"
        if op == "between":
            self._arity(op, args, 3)
            left, typ = self.value(args[0])
            if typ not in ("integer", "number", "date", "datetime"):
                raise InvalidRequest("BETWEEN needs a numeric or temporal property")
            return f"{left} BETWEEN {self.value(args[1], typ)[0]} AND {self.value(args[2], typ)[0]}"
        if op == "in":
            self._arity(op, args, 2)
            left, typ = self.value(args[0])
            if not isinstance(args[1], list) or not args[1] or len(args[1]) > MAX_IN_LIST:
                raise InvalidRequest(f"IN needs a list of 1 to {MAX_IN_LIST} literals")
            values = [_coerce(v, typ)[0] for v in args[1]]
            return f"{left} = ANY({self.p.add(values, _CASTS[typ] + '[]')})"
        if op == "isnull":
            self._arity(op, args, 1)
            return f"{self.value(args[0])[0]} IS NULL"
        if op in _SPATIAL or op == "s_dwithin":
            return self.spatial(op, args)
        if op in _TEMPORAL:
            return self.temporal(op, args)
        raise InvalidRequest(f"unsupported operator or function '{op}'")

    @staticmethod
    def _op(node: Any) -> tuple[str, list[Any]]:
        if not isinstance(node, dict) or not isinstance(node.get("op"), str) or not isinstance(node.get("args"), list):
            raise InvalidRequest("a filter node must be {\"op\": ..., \"args\": [...]}")
        return node["op"].lower(), node["args"]

    @staticmethod
    def _arity(op: str, args: list[Any], n: int) -> None:
        if len(args) != n:
            raise InvalidRequest(f"'{op}' takes {n} argument(s)")

    # --- scalar expressions -----------------------------------------------------------------------
    def pair(self, a: Any, b: Any) -> tuple[str, str]:
        """Both sides of a comparison, the literal typed after the property (CQL2 /req/basic-cql2/binary-comparison-predicate)."""
        if self._is_literal(a) and not self._is_literal(b):
            right, typ = self.value(b)
            return self.value(a, typ)[0], right
        left, typ = self.value(a)
        right, rtyp = self.value(b, typ)
        if {typ, rtyp} - {"integer", "number"} and typ != rtyp:
            raise InvalidRequest(f"cannot compare {typ} with {rtyp}")
        return left, right

    @staticmethod
    def _is_literal(node: Any) -> bool:
        return not (isinstance(node, dict) and ("property" in node or "op" in node))

    def value(self, node: Any, want: str | None = None) -> tuple[str, str]:
        """SQL and type of a property, casei() or literal."""
        self.nodes += 1
        if isinstance(node, dict) and "property" in node:
            return self.prop(node["property"])
        if isinstance(node, dict) and "op" in node:
            op, args = self._op(node)
            if op == "casei":  # CQL2 /req/case-insensitive-comparison
                self._arity(op, args, 1)
                sql, typ = self.value(args[0], "string")
                if typ != "string":
                    raise InvalidRequest("CASEI takes a string")
                return f"lower({sql})", "string"
            raise InvalidRequest(f"unsupported operator or function '{op}'")
        return self.literal(node, want)

    def prop(self, name: Any) -> tuple[str, str]:
        """A queryable from the catalogue (Part 3 /req/queryables/...): anything else is a 400."""
        f = self.c.field_map.get(name) if isinstance(name, str) else None
        if f is None or f.type == "object":
            raise InvalidRequest(f"'{name}' is not a queryable of collection '{self.c.id}'")
        return f"t.{ident(f.name)}", f.type

    def literal(self, value: Any, want: str | None) -> tuple[str, str]:
        """Bind a literal, typed as `want` (or by its own JSON type)."""
        py, typ = _coerce(value, want)
        return self.p.add(py, _CASTS[typ]), typ

    # --- spatial (CQL2 /req/spatial-functions; S_DWITHIN is our extension, metres in the storage CRS) ---
    def spatial(self, op: str, args: list[Any]) -> str:
        """A spatial predicate between the geometry property and a literal (either order)."""
        if not self.c.geometry_type:
            raise InvalidRequest(f"collection '{self.c.id}' has no geometry")
        if op == "s_dwithin":
            self._arity(op, args, 3)
            lit = self.geometry(args[1]) if self._is_geom_prop(args[0]) else None
            d = args[2]
            if lit is None or isinstance(d, bool) or not isinstance(d, int | float) or not 0 <= d < 1e7:
                raise InvalidRequest("S_DWITHIN(geometry, <literal geometry>, <metres>) with 0 <= metres < 1e7")
            return f"ST_DWithin(t.geom, {self._to_storage(lit)}, {self.p.add(float(d), 'float8')})"
        self._arity(op, args, 2)
        if self._is_geom_prop(args[1]) and not self._is_geom_prop(args[0]):
            args, op = [args[1], args[0]], _SWAPPED.get(op, op)
        if not self._is_geom_prop(args[0]):
            raise InvalidRequest(f"{op.upper()} needs the geometry property and a literal geometry")
        lit, fn = self.geometry(args[1]), _SPATIAL[op]
        fsrid = crsmod.srid_of(self.fcrs)
        if fsrid == self.srid:
            return f"{fn}(t.geom, {lit})"
        # Exact test in the filter CRS (as for bbox), plus an index-served prefilter on the densified,
        # transformed envelope of the literal; every operator but disjoint implies envelopes meet.
        exact = f"{fn}(ST_Transform(t.geom, {fsrid}), {lit})"
        if op == "s_disjoint":
            return exact
        env = f"ST_Envelope({lit})"
        dens = f"ST_Segmentize({env}, GREATEST(ST_XMax({env}) - ST_XMin({env}), ST_YMax({env}) - ST_YMin({env}), 1e-9) / 64)"
        return f"t.geom && ST_Expand(ST_Envelope(ST_Transform({dens}, {self.srid})), 1.0) AND {exact}"

    @staticmethod
    def _is_geom_prop(node: Any) -> bool:
        return isinstance(node, dict) and node.get("property") in GEOMETRY_PROPERTIES

    def _to_storage(self, lit: str) -> str:
        fsrid = crsmod.srid_of(self.fcrs)
        return lit if fsrid == self.srid else f"ST_Transform({lit}, {self.srid})"

    def geometry(self, node: Any) -> str:
        """A GeoJSON geometry or BBOX literal in the filter CRS and its axis order (Part 3 /req/filter/filter-crs)."""
        srid = crsmod.srid_of(self.fcrs)
        lat_lon = crsmod.is_lat_lon(self.fcrs)
        if isinstance(node, dict) and "bbox" in node:
            b = node["bbox"]
            if not isinstance(b, list) or len(b) not in (4, 6) or not all(_finite(v) for v in b):
                raise InvalidRequest("BBOX needs 4 or 6 numbers")
            if len(b) == 6:
                b = [b[0], b[1], b[3], b[4]]
            if lat_lon:
                b = [b[1], b[0], b[3], b[2]]
            if b[0] > b[2] or b[1] > b[3]:
                raise InvalidRequest("BBOX must be min, min, max, max")
            return f"ST_MakeEnvelope({', '.join(self.p.add(float(v), 'float8') for v in b)}, {srid})"
        if not isinstance(node, dict) or "type" not in node:
            raise InvalidRequest("expected a geometry literal (GeoJSON geometry or BBOX)")
        self._check_geometry(node, 0)
        clean = orjson.dumps({k: node[k] for k in ("type", "coordinates", "geometries") if k in node}).decode()
        geom = f"ST_GeomFromGeoJSON({self.p.add(clean, 'text')})"
        if lat_lon:
            geom = f"ST_FlipCoordinates({geom})"
        return f"ST_SetSRID({geom}, {srid})"

    def _check_geometry(self, g: Any, depth: int) -> None:
        """RFC 7946 §3.1 shapes, checked here so malformed literals are a 400, not a database error."""
        if depth > 4 or not isinstance(g, dict):
            raise InvalidRequest("malformed geometry literal")
        kind = g.get("type")
        if kind == "GeometryCollection":
            parts = g.get("geometries")
            if not isinstance(parts, list) or not parts:
                raise InvalidRequest("a GeometryCollection needs geometries")
            for part in parts:
                self._check_geometry(part, depth + 1)
            return
        if kind not in _DEPTH:
            raise InvalidRequest(f"unsupported geometry type '{kind}'")
        self._check_coords(kind, g.get("coordinates"), _DEPTH[kind])

    def _check_coords(self, kind: str, coords: Any, depth: int) -> None:
        if depth == 1:
            if not isinstance(coords, list) or len(coords) not in (2, 3) or not all(_finite(v) for v in coords):
                raise InvalidRequest(f"malformed {kind} coordinates")
            self.vertices += 1
            if self.vertices > MAX_VERTICES:
                raise InvalidRequest(f"filter geometries are limited to {MAX_VERTICES} vertices")
            return
        if not isinstance(coords, list) or not coords:
            raise InvalidRequest(f"malformed {kind} coordinates")
        for part in coords:
            self._check_coords(kind, part, depth - 1)
        if depth == 2 and kind in ("LineString", "MultiLineString") and len(coords) < 2:
            raise InvalidRequest("a line needs at least 2 positions")
        if depth == 2 and kind in ("Polygon", "MultiPolygon") and (len(coords) < 4 or coords[0] != coords[-1]):
            raise InvalidRequest("a polygon ring needs at least 4 positions and must be closed")

    # --- temporal (CQL2 /req/temporal-functions, for instant properties) ------------------------------
    def temporal(self, op: str, args: list[Any]) -> str:
        """T_AFTER, T_BEFORE, T_EQUALS, T_INTERSECTS, T_DISJOINT (and T_DURING for intervals) of a date property."""
        self._arity(op, args, 2)
        left, typ = self.value(args[0])
        if typ not in ("date", "datetime"):
            raise InvalidRequest(f"{op.upper()} needs a date or timestamp property")
        other = args[1]
        if isinstance(other, dict) and "interval" in other:
            ends = other["interval"]
            if not isinstance(ends, list) or len(ends) != 2:
                raise InvalidRequest("INTERVAL needs two ends")
            lo, hi = (None if e == ".." else self.literal(e, typ)[0] for e in ends)
            inside = " AND ".join([*([f"{left} >= {lo}"] if lo else []), *([f"{left} <= {hi}"] if hi else [])]) or "TRUE"
            strictly = " AND ".join([*([f"{left} > {lo}"] if lo else []), *([f"{left} < {hi}"] if hi else [])]) or "TRUE"
            sql = {"t_intersects": inside, "t_disjoint": f"NOT ({inside})", "t_during": strictly,
                   "t_after": f"{left} > {hi}" if hi else "FALSE", "t_before": f"{left} < {lo}" if lo else "FALSE"}.get(op)
            if sql is None:
                raise InvalidRequest(f"{op.upper()} of an instant and an interval is not supported")
            return f"({left} IS NOT NULL AND {sql})"
        right = self.literal(other, typ)[0]
        sql = {"t_after": ">", "t_before": "<", "t_equals": "=", "t_intersects": "=", "t_disjoint": "<>"}.get(op)
        if sql is None:
            raise InvalidRequest(f"{op.upper()} of two instants is not supported")
        return f"{left} {sql} {right}"


def _finite(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _parse_instant(raw: Any, want: str) -> Any:
    """A date or timestamp (RFC 3339, `Z` allowed) as the Python value the column compares with."""
    if not isinstance(raw, str):
        raise InvalidRequest(f"expected a {want} literal")
    try:
        if want == "date" and len(raw) == 10:
            return dt.date.fromisoformat(raw)
        value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidRequest(f"'{raw}' is not a valid date or timestamp") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.date() if want == "date" else value


def _coerce(value: Any, want: str | None) -> tuple[Any, str]:
    """Python value and type name of a literal; 400 when it does not fit the property's type."""
    if isinstance(value, dict) and ("date" in value or "timestamp" in value):
        raw = value.get("date", value.get("timestamp"))
        typ = want if want in ("date", "datetime") else ("date" if "date" in value else "datetime")
        if want not in (None, "date", "datetime"):
            raise InvalidRequest(f"a temporal literal cannot be compared with a {want}")
        return _parse_instant(raw, typ), typ
    if want in ("date", "datetime"):
        return _parse_instant(value, want), want
    if isinstance(value, bool):
        if want not in (None, "boolean"):
            raise InvalidRequest(f"a boolean cannot be compared with a {want}")
        return value, "boolean"
    if _finite(value):
        if want not in (None, "integer", "number"):
            raise InvalidRequest(f"a number cannot be compared with a {want}")
        if want == "integer" and float(value).is_integer() and abs(value) < 2**63:
            return int(value), "integer"
        # numeric binds keep an index on numeric/float8 columns usable (float8 would cast the column).
        return Decimal(repr(float(value))), "number"
    if isinstance(value, str):
        if want not in (None, "string"):
            raise InvalidRequest(f"a string cannot be compared with a {want}")
        return value, "string"
    raise InvalidRequest(f"unsupported literal {str(value)[:60]!r}")


def compile_cql2_json(collection: Collection, expr: dict, params: Params, storage_srid: int,
                      filter_crs: str = "CRS84") -> str:
    """SQL condition (rows aliased `t`) for a CQL2-JSON filter; values bound in `params`; 400 on anything not allow-listed."""
    return _Compiler(collection, params, storage_srid, filter_crs).predicate(expr)


def parse_filter(text: str, lang: str) -> dict:
    """CQL2 text or JSON -> CQL2-JSON (Part 3 /req/filter/filter-lang-param)."""
    if len(text) > MAX_FILTER_CHARS:
        raise InvalidRequest(f"filter longer than {MAX_FILTER_CHARS} characters")
    try:
        if lang == "cql2-text":
            return cql2.parse_text(text).to_json()
        if lang == "cql2-json":
            expr = orjson.loads(text)
            cql2.parse_json(text)  # structural validation by the reference grammar
            return expr
    except (cql2.ParseError, cql2.ValidationError, orjson.JSONDecodeError, ValueError) as exc:
        raise InvalidRequest(f"invalid {lang} filter: {str(exc).strip()[:500]}") from None
    raise InvalidRequest(f"filter-lang must be cql2-text or cql2-json, not '{lang}'")


def filter_hook(collection: Collection, request: Request, q: FeatureQuery, settings: Settings) -> None:
    """Items query hook: `filter`, `filter-lang`, `filter-crs` (Part 3 /req/filter)."""
    params = request.query_params
    text = params.get("filter")
    if text is None:
        return
    fcrs = "CRS84"
    if params.get("filter-crs"):
        fcrs = crsmod.parse_crs(params["filter-crs"].strip("<>"))
        if crsmod.crs_uri(fcrs) not in features.supported_crs(settings):
            raise InvalidRequest(f"filter-crs '{params['filter-crs']}' is not supported")
    expr = parse_filter(text, params.get("filter-lang", "cql2-text"))
    q.where.append(compile_cql2_json(collection, expr, q.params, settings.storage_srid, fcrs))


# Registered once, on import (api.app imports this module).
features.EXTRA_PARAMS.update({"filter", "filter-lang", "filter-crs"})
features.QUERY_HOOKS.append(filter_hook)
common.CONFORMANCE.extend(CONFORMANCE)
