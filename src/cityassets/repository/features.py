"""cityassets.repository.features: reading features, serialised to GeoJSON inside PostgreSQL.

Feature JSON is built in SQL (ST_AsGeoJSON + json_build_object): Python only joins rows. The
peers that serialise in Python spend 85-90 % of their CPU there (ogc-peers.md §5).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from cityassets import crs as crsmod
from cityassets.catalogue import Collection, Field
from cityassets.errors import InvalidRequest
from cityassets.repository.sql import Params, ident

#: json_build_object takes at most 100 arguments: wider collections are built in chunks.
_MAX_PAIRS = 45


@dataclass
class FeatureQuery:
    """Everything that selects and shapes a page of features."""

    limit: int = 100
    offset: int = 0
    after_id: int | None = None  # keyset cursor (default order by id)
    bbox: tuple[float, ...] | None = None
    bbox_crs: str = "CRS84"
    equals: dict[str, Any] = field(default_factory=dict)  # property filters (Part 1 /req/core/fc-filters)
    where: list[str] = field(default_factory=list)  # extra conditions (CQL2, FES), placeholders in `params`
    sortby: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    properties: list[str] | None = None
    crs: str = "CRS84"
    ids: list[int] | None = None
    params: Params = field(default_factory=Params)

    @property
    def filtered(self) -> bool:
        """Anything beyond paging narrows the result."""
        return bool(self.bbox or self.equals or self.where or self.ids)


@dataclass
class FeaturePage:
    """Rows of feature JSON text plus what the links need."""

    features: list[str]
    has_more: bool
    last_id: int | None
    number_matched: int | None


def geometry_sql(geom: str, out_crs: str, storage_srid: int) -> str:
    """ST_AsGeoJSON of a geometry in the output CRS and its axis order (OGC API Part 2)."""
    srid = crsmod.srid_of(out_crs)
    expr = geom if srid == storage_srid else f"ST_Transform({geom}, {srid})"
    if crsmod.is_lat_lon(out_crs):
        expr = f"ST_FlipCoordinates({expr})"
    # 7 decimals of a degree is ~1 cm (GDAL RFC 65's default); millimetres for metric CRSs.
    digits = 7 if crsmod.is_geographic(out_crs) else 3
    return f"ST_AsGeoJSON({expr}, {digits})"


def properties_sql(collection: Collection, alias: str = "t", only: list[str] | None = None) -> str:
    """json(b) of the published properties, in catalogue order, explicit nulls included (R7)."""
    fields = [f for f in collection.fields if only is None or f.name in only]
    if not fields:
        return "'{}'::json"
    chunks = [fields[i : i + _MAX_PAIRS] for i in range(0, len(fields), _MAX_PAIRS)]
    objs = [
        "json_build_object(" + ", ".join(f"'{f.name}', {_value_sql(f, alias)}" for f in chunk) + ")"
        for chunk in chunks
    ]
    if len(objs) == 1:
        return objs[0]
    return "(" + " || ".join(f"{o}::jsonb" for o in objs) + ")::json"


def _value_sql(f: Field, alias: str) -> str:
    col = f"{alias}.{ident(f.name)}"
    if f.type == "datetime":
        # RFC 3339 in UTC with Z: what OGR and QGIS parse as DateTime.
        return f"to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
    return col


def feature_sql(collection: Collection, out_crs: str, storage_srid: int, only: list[str] | None = None) -> str:
    """SQL expression: one Feature as JSON text."""
    geom = "t.geom" if collection.geometry_type else "NULL"
    geo = f"COALESCE({geometry_sql(geom, out_crs, storage_srid)}, 'null')" if collection.geometry_type else "'null'"
    return (
        "'{\"type\":\"Feature\",\"id\":' || t.id || ',\"geometry\":' || "
        f"{geo} || ',\"properties\":' || {properties_sql(collection, 't', only)}::text || '}}'"
    )


def coerce_filter_value(f: Field, raw: str) -> Any:
    """A query-string value typed for a property filter (400 when it can't be)."""
    try:
        if f.type == "integer":
            return int(raw)
        if f.type == "number":
            return float(raw)
        if f.type == "boolean":
            if raw.lower() not in ("true", "false"):
                raise ValueError(raw)
            return raw.lower() == "true"
        if f.type == "date":
            return dt.date.fromisoformat(raw)
    except ValueError:
        raise InvalidRequest(f"'{raw}' is not a valid {f.type} for property '{f.name}'") from None
    return raw


def bbox_condition(q: FeatureQuery, storage_srid: int, alias: str = "t") -> str:
    """ST_Intersects in the bbox CRS (exact, as clients expect), with an index-served box prefilter.

    The box is densified before transformation so its edges stay within millimetres of the true
    lines; `&&` against its (slightly expanded) storage-CRS envelope uses the GiST index, and the
    exact test runs only on candidates (966, not 968, for the acceptance box: ogc-peers.md §6.2).
    """
    b = q.bbox
    assert b is not None
    if len(b) == 6:
        b = (b[0], b[1], b[3], b[4])
    if len(b) != 4 or b[0] > b[2] or b[1] > b[3]:
        raise InvalidRequest("bbox must be minx,miny,maxx,maxy (or 6 numbers) with min <= max")
    bsrid = crsmod.srid_of(q.bbox_crs)
    if crsmod.is_lat_lon(q.bbox_crs):
        b = (b[1], b[0], b[3], b[2])
    env = f"ST_MakeEnvelope({q.params.add(b[0])}, {q.params.add(b[1])}, {q.params.add(b[2])}, {q.params.add(b[3])}, {bsrid})"
    if bsrid == storage_srid:
        return f"ST_Intersects({alias}.geom, {env})"
    dens = f"ST_Segmentize({env}, ({q.params.add(max(b[2] - b[0], b[3] - b[1]))}::float8 / 64))"
    return (
        f"{alias}.geom && ST_Expand(ST_Envelope(ST_Transform({dens}, {storage_srid})), 1.0) "
        f"AND ST_Intersects(ST_Transform({alias}.geom, {bsrid}), {env})"
    )


def where_sql(collection: Collection, q: FeatureQuery, storage_srid: int) -> str:
    """The WHERE clause: live rows plus every filter of the query."""
    conds = ["t.retired_at IS NULL"]
    for name, value in q.equals.items():
        f = collection.field_map[name]
        conds.append(f"t.{ident(name)} = {q.params.add(coerce_filter_value(f, value) if isinstance(value, str) else value)}")
    if q.bbox is not None:
        conds.append(bbox_condition(q, storage_srid))
    if q.ids:
        conds.append(f"t.id = ANY({q.params.add(q.ids, 'bigint[]')})")
    conds.extend(f"({w})" for w in q.where)
    return " AND ".join(conds)


def order_sql(collection: Collection, q: FeatureQuery) -> str:
    """ORDER BY the requested keys, always ending with the unique id (deterministic paging, P4)."""
    keys = [f"t.{ident(n)} {'DESC' if d else 'ASC'} NULLS LAST" for n, d in q.sortby]
    return ", ".join([*keys, "t.id"])


async def fetch_page(conn: asyncpg.Connection, collection: Collection, q: FeatureQuery, storage_srid: int,
                     count: bool, count_limit: int) -> FeaturePage:
    """One page of features (limit + 1 rows tell whether there is a next page without counting)."""
    table = ident(collection.table.name)
    where = where_sql(collection, q, storage_srid)
    page_where = where
    if q.after_id is not None and not q.sortby:
        page_where += f" AND t.id > {q.params.add(q.after_id)}"
    sql = (
        f"SELECT t.id, {feature_sql(collection, q.crs, storage_srid, q.properties)} AS f "
        f"FROM {table} t WHERE {page_where} ORDER BY {order_sql(collection, q)} "
        f"LIMIT {int(q.limit) + 1} OFFSET {int(q.offset)}"
    )
    rows = await conn.fetch(sql, *q.params.values)
    has_more = len(rows) > q.limit
    rows = rows[: q.limit]
    matched = None
    if count:
        matched = await count_matching(conn, collection, q, where, count_limit)
    return FeaturePage([r["f"] for r in rows], has_more, rows[-1]["id"] if rows else None, matched)


async def count_matching(conn: asyncpg.Connection, collection: Collection, q: FeatureQuery, where: str,
                         count_limit: int) -> int | None:
    """numberMatched: O(1) from the trigger-kept counter when unfiltered, else a capped count (P3)."""
    if not q.filtered:
        return await conn.fetchval("SELECT live_count FROM collection_stats WHERE collection = $1", collection.id)
    table = ident(collection.table.name)
    n = await conn.fetchval(
        f"SELECT count(*) FROM (SELECT 1 FROM {table} t WHERE {where} LIMIT {int(count_limit) + 1}) c",
        *q.params.values,
    )
    return None if n > count_limit else n


async def fetch_one(conn: asyncpg.Connection, collection: Collection, fid: int, out_crs: str,
                    storage_srid: int) -> asyncpg.Record | None:
    """One live feature: its JSON text and version."""
    sql = (
        f"SELECT t.id, t.version, {feature_sql(collection, out_crs, storage_srid)} AS f "
        f"FROM {ident(collection.table.name)} t WHERE t.id = $1 AND t.retired_at IS NULL"
    )
    return await conn.fetchrow(sql, fid)


def encode_cursor(kind: str, value: int, matched: int | None) -> str:
    """Opaque `next` token: keyset position (or offset) plus the count computed on page 1."""
    raw = f"{kind}:{value}:{'' if matched is None else matched}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(token: str) -> tuple[str, int, int | None]:
    """Inverse of encode_cursor; 400 on anything else."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        kind, value, matched = raw.split(":")
        if kind not in ("k", "o"):
            raise ValueError(kind)
        return kind, int(value), int(matched) if matched else None
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidRequest("invalid 'cursor' token") from None
