"""cityassets.ogc.wfs.getfeature: GetFeature and GetPropertyValue (ISO 19142 clauses 10, 11).

GML 3.2 by default (QGIS and GDAL send no OUTPUTFORMAT on 2.0 [Q-ITER]), GeoJSON on request;
STARTINDEX/COUNT over ORDER BY ..., id; `numberMatched` from the O(1) counter when unfiltered,
else a capped count on the first page only ("unknown" otherwise, P3); `next`/`previous` links.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

import asyncpg
import orjson

from cityassets.ogc.wfs.describe import GEOMETRY_NAME, field_for_element
from cityassets.ogc.wfs.exceptions import WfsError, invalid
from cityassets.ogc.wfs.gml import geometry_xml, member_sql, properties_xml
from cityassets.ogc.wfs.ns import CA, CA_PREFIX, GML, GML32, WFS, WFS20, XSI, attr, strip_prefix
from cityassets.ogc.wfs.query import Presentation, WfsQuery
from cityassets.repository import features as repo
from cityassets.repository.sql import ident
from cityassets.settings import Settings


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


async def number_matched(conn: asyncpg.Connection, q: WfsQuery, settings: Settings, force: bool,
                         where: str | None = None) -> int | None:
    """Exact count when cheap (P3): the trigger-kept counter when unfiltered, else capped (first page only)."""
    fq = q.fq
    if not fq.filtered or force or fq.offset == 0:
        if where is None:  # where_sql binds its values: build it once per query
            where = repo.where_sql(q.collection, fq, settings.storage_srid)
        return await repo.count_matching(conn, q.collection, fq, where, settings.count_limit)
    return None


def _page_link(base: str, items: list[tuple[str, str]], start: int) -> str:
    kept = [(k, v) for k, v in items if k.upper() != "STARTINDEX"]
    kept.append(("STARTINDEX", str(start)))
    return f"{base}?{urlencode(kept)}"


def _root(version: str, schema_url: str) -> tuple[str, str]:
    if version.startswith("2"):
        return (f'<wfs:FeatureCollection xmlns:wfs="{WFS20}" xmlns:gml="{GML32}" xmlns:{CA_PREFIX}="{CA}" '
                f'xmlns:xsi="{XSI}" xsi:schemaLocation="{WFS20} http://schemas.opengis.net/wfs/2.0/wfs.xsd '
                f'{GML32} http://schemas.opengis.net/gml/3.2.1/gml.xsd {CA} {attr(schema_url)[1:-1]}"', "</wfs:FeatureCollection>")
    return (f'<wfs:FeatureCollection xmlns:wfs="{WFS}" xmlns:gml="{GML}" xmlns:{CA_PREFIX}="{CA}" '
            f'xmlns:xsi="{XSI}" xsi:schemaLocation="{WFS} http://schemas.opengis.net/wfs/1.1.0/wfs.xsd '
            f'{CA} {attr(schema_url)[1:-1]}"', "</wfs:FeatureCollection>")


async def get_feature(conn: asyncpg.Connection, q: WfsQuery, p: Presentation, settings: Settings, version: str,
                      url: str, items: list[tuple[str, str]] | None) -> tuple[bytes, str]:
    """Run one query; returns (body, media type)."""
    c, fq = q.collection, q.fq
    storage = settings.storage_srid
    if p.hits:
        n = await number_matched(conn, q, settings, force=True)
        nm = "unknown" if n is None else str(n)
        head, _ = _root(version, f"{url}?SERVICE=WFS&VERSION={version}&REQUEST=DescribeFeatureType&TYPENAMES={CA_PREFIX}:{c.id}")
        if version.startswith("2"):
            return f'<?xml version="1.0" encoding="UTF-8"?>\n{head} timeStamp="{_now()}" numberMatched="{nm}" numberReturned="0"/>'.encode(), "application/gml+xml; version=3.2"
        return f'<?xml version="1.0" encoding="UTF-8"?>\n{head} timeStamp="{_now()}" numberOfFeatures="{nm}"/>'.encode(), "text/xml; subtype=gml/3.1.1"
    if p.json:
        return await _geojson(conn, q, p, settings)
    where = repo.where_sql(c, fq, storage)
    member = member_sql(c, q.srs, storage, version, q.only, q.with_geometry)
    if p.extra.get("by_id"):
        sql = f"SELECT {member} AS m FROM {ident(c.table.name)} t WHERE {where} LIMIT 1"
        row = await conn.fetchval(sql, *fq.params.values)
        if row is None:
            raise WfsError("no feature with this id", "NotFound", "ID", status=404)
        # GetFeatureById returns the bare feature (ISO 19142 7.9.3.6): unwrap wfs:member, declare namespaces.
        inner = row.split(">", 1)[1].rsplit("<", 1)[0]
        tag = inner.split(" ", 1)
        feat = f'{tag[0]} xmlns:{CA_PREFIX}="{CA}" xmlns:gml="{GML32}" {tag[1]}'
        return f'<?xml version="1.0" encoding="UTF-8"?>\n{feat}'.encode(), "application/gml+xml; version=3.2"
    sql = (f"SELECT {member} AS m FROM {ident(c.table.name)} t WHERE {where} "
           f"ORDER BY {repo.order_sql(c, fq)} LIMIT {int(fq.limit) + 1} OFFSET {int(fq.offset)}")
    rows = await conn.fetch(sql, *fq.params.values)
    more = len(rows) > fq.limit
    rows = rows[: fq.limit]
    n = await number_matched(conn, q, settings, force=False, where=where)
    schema_url = f"{url}?SERVICE=WFS&VERSION={version}&REQUEST=DescribeFeatureType&TYPENAMES={CA_PREFIX}:{c.id}"
    head, tail = _root(version, schema_url)
    if version.startswith("2"):
        links = ""
        if items is not None and more and fq.limit > 0:
            links += f" next={attr(_page_link(url, items, fq.offset + fq.limit))}"
        if items is not None and fq.offset > 0 and fq.limit > 0:
            links += f" previous={attr(_page_link(url, items, max(fq.offset - fq.limit, 0)))}"
        head += (f' timeStamp="{_now()}" numberMatched="{"unknown" if n is None else n}" '
                 f'numberReturned="{len(rows)}"{links}>')
        media = "application/gml+xml; version=3.2"
    else:
        head += f' timeStamp="{_now()}" numberOfFeatures="{len(rows)}">'
        media = "text/xml; subtype=gml/3.1.1"
    body = "".join(r["m"] for r in rows)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n{head}{body}{tail}').encode(), media


async def _geojson(conn: asyncpg.Connection, q: WfsQuery, p: Presentation, settings: Settings) -> tuple[bytes, str]:
    # GeoJSON is lon/lat for 4326 whatever the srsName form (RFC 7946); other CRSs in EPSG order (Part 2).
    q.fq.crs = "CRS84" if q.srs.srid == 4326 else f"EPSG:{q.srs.srid}"
    page = await repo.fetch_page(conn, q.collection, q.fq, settings.storage_srid, count=True,
                                 count_limit=settings.count_limit)
    n = page.number_matched
    tail: dict[str, Any] = {"numberReturned": len(page.features), "timeStamp": _now()}
    if n is not None:
        tail["numberMatched"] = n
    body = (b'{"type":"FeatureCollection","features":[' + ",".join(page.features).encode() + b"],"
            + orjson.dumps(tail)[1:])
    return body, "application/geo+json"


async def get_property_value(conn: asyncpg.Connection, q: WfsQuery, p: Presentation, settings: Settings,
                             ref: str) -> tuple[bytes, str]:
    """wfs:ValueCollection of one property (ISO 19142 clause 10)."""
    c, fq = q.collection, q.fq
    storage = settings.storage_srid
    short = strip_prefix(ref.split("/")[-1].split("@")[0])
    if short == GEOMETRY_NAME:
        value = geometry_xml(c, q.srs, storage)
        cond = "t.geom IS NOT NULL"
    else:
        f = field_for_element(c, short)
        if f is None:
            raise invalid("valueReference", f"'{ref}' is not a property of {c.id}")
        value = properties_xml(c, [f.name])
        cond = f"t.{ident(f.name)} IS NOT NULL"
    where = repo.where_sql(c, fq, storage) + f" AND {cond}"
    sql = (f"SELECT '<wfs:member>' || {value} || '</wfs:member>' AS m FROM {ident(c.table.name)} t WHERE {where} "
           f"ORDER BY {repo.order_sql(c, fq)} LIMIT {int(fq.limit)} OFFSET {int(fq.offset)}")
    rows = await conn.fetch(sql, *fq.params.values)
    head = (f'<wfs:ValueCollection xmlns:wfs="{WFS20}" xmlns:gml="{GML32}" xmlns:{CA_PREFIX}="{CA}" '
            f'timeStamp="{_now()}" numberMatched="unknown" numberReturned="{len(rows)}">')
    body = "".join(r["m"] for r in rows)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{head}{body}</wfs:ValueCollection>'.encode(), "application/gml+xml; version=3.2"
