"""cityassets.ogc.features: OGC API - Features, the registry's CRUD API (Parts 1 and 4).

Reads are served from SQL-built GeoJSON; writes go through `repository.writes`, the one write
path shared with WFS-T, with strong ETags and mandatory If-Match (Part 4, clause 8).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from cityassets.api.responses import JSONResponse

from cityassets import crs as crsmod
from cityassets.api.bodies import read_capped
from cityassets.api.deps import Principal, ReadPrincipal, RequestId, SessionDep, SettingsDep
from cityassets.catalogue import COLLECTIONS, Collection, get_collection
from cityassets.errors import InvalidRequest, NotFound, UnsupportedMediaType
from cityassets.ogc import common
from cityassets.ogc.common import GEOJSON, JSON, OPENAPI_JSON, SCHEMA_JSON, base_url, link
from cityassets.ogc.schema import collection_schema
from cityassets.repository import features as repo
from cityassets.repository import writes
from cityassets.settings import Settings
from cityassets.validation import validate_feature

router = APIRouter(tags=["OGC API - Features"])

#: Query parameters the items endpoint understands besides property names (Part 1 /req/core/query-param-unknown).
ITEMS_PARAMS = {"limit", "offset", "cursor", "bbox", "bbox-crs", "crs", "properties", "sortby", "ids", "f",
                "resulttype", "datetime"}
SUPPORTED_CRS = ("CRS84", "EPSG:4326", "EPSG:4490", "EPSG:4547", "EPSG:3857")
MAX_FEATURE_BYTES = 64 * 1024 * 1024


def supported_crs(settings: Settings) -> list[str]:
    """CRS URIs offered for output (Part 2), the storage CRS included."""
    names = list(dict.fromkeys([*SUPPORTED_CRS, f"EPSG:{settings.storage_srid}"]))
    return [crsmod.crs_uri(n) for n in names]


def _output_crs(value: str | None, settings: Settings) -> str:
    if not value:
        return "CRS84"
    name = crsmod.parse_crs(value.strip("<>"))
    if crsmod.crs_uri(name) not in supported_crs(settings):
        raise InvalidRequest(f"crs '{value}' is not offered; use one of {', '.join(supported_crs(settings))}")
    return name


def _fid(value: str) -> int:
    try:
        fid = int(value)
    except ValueError:
        raise NotFound(f"feature '{value}' does not exist") from None
    if not 0 < fid < 2**63:
        raise NotFound(f"feature '{value}' does not exist")
    return fid


# --- landing, conformance, OpenAPI ----------------------------------------------------------------
@router.get("/", operation_id="getLandingPage", summary="Landing page")
async def landing(request: Request, settings: SettingsDep, _: ReadPrincipal) -> JSONResponse:
    """Links to the API description, conformance and the collections (R6, P6)."""
    root = base_url(request)
    return JSONResponse({
        "title": f"cityassets — {settings.city_name}",
        "description": "Street-asset registry: manholes, street trees, lamp poles, toilets, street furniture and "
                       "planning layers. OGC API - Features Parts 1-4, WFS 2.0 at /wfs.",
        "links": [
            link(f"{root}/", "self", JSON, "this document"),
            link(f"{root}/api", "service-desc", OPENAPI_JSON, "OpenAPI definition (JSON)"),
            link(f"{root}/api.html", "service-doc", "text/html", "API documentation"),
            link(f"{root}/conformance", "conformance", JSON, "conformance classes"),
            link(f"{root}/collections", "data", JSON, "collections"),
        ],
    })


@router.get("/conformance", operation_id="getConformance", summary="Conformance classes")
async def conformance(_: ReadPrincipal) -> JSONResponse:
    """Only the classes implemented."""
    return JSONResponse({"conformsTo": common.CONFORMANCE})


@router.get("/api", include_in_schema=False)
async def openapi(request: Request) -> Response:
    """The OpenAPI document as JSON with the OGC media type (QGIS rejects YAML: R6)."""
    return Response(orjson.dumps(request.app.openapi()), media_type=OPENAPI_JSON)


@router.get("/api.html", include_in_schema=False)
async def openapi_html(request: Request) -> Response:
    """Swagger UI for people."""
    from fastapi.openapi.docs import get_swagger_ui_html

    return get_swagger_ui_html(openapi_url=f"{base_url(request)}/api", title="cityassets API")


# --- collections ---------------------------------------------------------------------------------
async def _extent(request: Request, conn: Any, collection: Collection) -> list[float]:
    """CRS84 bbox of a collection, cached until the collection changes."""
    settings: Settings = request.app.state.settings
    version = await conn.fetchval("SELECT data_version FROM collection_stats WHERE collection = $1", collection.id)
    cache: dict = request.app.state.__dict__.setdefault("extents", {})
    hit = cache.get(collection.id)
    if hit and hit[0] == version:
        return hit[1]
    box = await conn.fetchrow(
        f"SELECT ST_XMin(e) x0, ST_YMin(e) y0, ST_XMax(e) x1, ST_YMax(e) y1 FROM (SELECT ST_Transform(ST_SetSRID("
        f"ST_Extent(geom)::geometry, {settings.storage_srid}), 4326) e FROM {collection.table.name} "
        "WHERE retired_at IS NULL) s"
    ) if collection.geometry_type else None
    bbox = [round(box[k], 7) for k in ("x0", "y0", "x1", "y1")] if box and box["x0"] is not None else list(settings.extent)
    cache[collection.id] = (version, bbox)
    return bbox


async def _collection_doc(request: Request, conn: Any, collection: Collection) -> dict[str, Any]:
    settings: Settings = request.app.state.settings
    root = base_url(request)
    href = f"{root}/collections/{collection.id}"
    return {
        "id": collection.id,
        "title": f"{collection.title_zh} {collection.title_en}",
        "description": collection.description,
        "keywords": list(collection.keywords),
        "itemType": "feature",
        "extent": {
            "spatial": {"bbox": [await _extent(request, conn, collection)], "crs": crsmod.CRS84_URI},
        },
        "crs": supported_crs(settings),
        "storageCrs": crsmod.crs_uri(f"EPSG:{settings.storage_srid}"),
        "links": [
            link(href, "self", JSON, "this collection"),
            link(f"{href}/items", "items", GEOJSON, "features"),
            link(f"{href}/queryables", "http://www.opengis.net/def/rel/ogc/1.0/queryables", SCHEMA_JSON, "queryables"),
            link(f"{href}/schema", "describedby", SCHEMA_JSON, "JSON Schema of the features"),
            # OGC API - Tiles /req/geodata-tilesets: the collection links its vector tilesets.
            *([link(f"{href}/tiles", "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector", JSON, "vector tiles")]
              if collection.geometry_type else []),
        ],
    }


@router.get("/collections", operation_id="getCollections", summary="The collections")
async def collections(request: Request, conn: SessionDep, _: ReadPrincipal) -> JSONResponse:
    """Every collection of the catalogue."""
    root = base_url(request)
    docs = [await _collection_doc(request, conn, c) for c in COLLECTIONS.values()]
    return JSONResponse({"collections": docs, "links": [link(f"{root}/collections", "self", JSON)]})


@router.get("/collections/{collection_id}", operation_id="describeCollection", summary="One collection")
async def collection(collection_id: str, request: Request, conn: SessionDep, _: ReadPrincipal) -> JSONResponse:
    """Metadata of one collection."""
    return JSONResponse(await _collection_doc(request, conn, get_collection(collection_id)))


@router.get("/collections/{collection_id}/schema", operation_id="getSchema", summary="JSON Schema of the features")
async def schema(collection_id: str, request: Request, _: ReadPrincipal) -> Response:
    """Types, required fields, vocabularies (zh/en) — so survey apps can build valid features."""
    c = get_collection(collection_id)
    url = f"{base_url(request)}/collections/{c.id}/schema"
    return Response(orjson.dumps(collection_schema(c, url)), media_type=SCHEMA_JSON)


@router.get("/collections/{collection_id}/queryables", operation_id="getQueryables", summary="Queryable properties")
async def queryables(collection_id: str, request: Request, _: ReadPrincipal) -> Response:
    """Properties usable in filters (Part 3)."""
    c = get_collection(collection_id)
    url = f"{base_url(request)}/collections/{c.id}/queryables"
    return Response(orjson.dumps(collection_schema(c, url, queryables=True)), media_type=SCHEMA_JSON)


# --- items ---------------------------------------------------------------------------------------
def _float_list(raw: str, name: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in raw.split(","))
    except ValueError:
        raise InvalidRequest(f"{name} must be comma-separated numbers") from None
    if any(v != v or v in (float("inf"), float("-inf")) for v in values):
        raise InvalidRequest(f"{name} must be finite numbers")
    return values


def build_query(collection: Collection, request: Request, settings: Settings) -> repo.FeatureQuery:
    """Parse the items query string into a FeatureQuery (400 on anything unknown or malformed)."""
    params = request.query_params
    q = repo.FeatureQuery()
    for key in params.keys():
        if key.lower() not in ITEMS_PARAMS and key not in collection.field_map and key not in EXTRA_PARAMS:
            raise InvalidRequest(f"unknown query parameter '{key}'")
    try:
        limit = int(params.get("limit", settings.default_limit))
        q.offset = int(params.get("offset", 0))
    except ValueError:
        raise InvalidRequest("limit and offset must be integers") from None
    if limit < 1 or q.offset < 0:
        raise InvalidRequest("limit must be >= 1 and offset >= 0")
    q.limit = min(limit, settings.max_limit)  # clamp, don't fail (P9)
    if params.get("bbox"):
        q.bbox = _float_list(params["bbox"], "bbox")
        q.bbox_crs = _output_crs(params.get("bbox-crs"), settings) if params.get("bbox-crs") else "CRS84"
    q.crs = _output_crs(params.get("crs"), settings)
    for name in collection.field_map:
        if name in params:
            q.equals[name] = params[name]
    if params.get("properties") is not None:
        wanted = [p for p in params["properties"].split(",") if p]
        unknown = [p for p in wanted if p not in collection.field_map]
        if unknown:
            raise InvalidRequest(f"unknown properties: {', '.join(unknown)}")
        q.properties = wanted
    if params.get("sortby"):
        for key in params["sortby"].split(","):
            desc = key.startswith("-")
            name = key.lstrip("+-").strip()
            if name not in collection.field_map:
                raise InvalidRequest(f"cannot sort by unknown property '{name}'")
            q.sortby.append((name, desc))
    if params.get("ids"):
        try:
            q.ids = [int(i) for i in params["ids"].split(",")]
        except ValueError:
            raise InvalidRequest("ids must be feature ids (integers)") from None
    if params.get("cursor"):
        kind, value, _matched = repo.decode_cursor(params["cursor"])
        if kind == "k":
            q.after_id = value
        else:
            q.offset = value
    for hook in QUERY_HOOKS:
        hook(collection, request, q, settings)
    return q


#: Extra query parameters and parsers added by other faces (e.g. Part 3 `filter`).
EXTRA_PARAMS: set[str] = set()
QUERY_HOOKS: list[Any] = []


def _next_href(request: Request, token: str) -> str:
    items = [(k, v) for k, v in request.query_params.multi_items() if k not in ("cursor", "offset")]
    items.append(("cursor", token))
    return f"{base_url(request)}{request.url.path}?{urlencode(items)}"


@router.get("/collections/{collection_id}/items", operation_id="getFeatures", summary="Features",
            response_class=Response)
async def items(collection_id: str, request: Request, conn: SessionDep, settings: SettingsDep,
                _: ReadPrincipal) -> Response:
    """A page of features; `next` links carry an opaque keyset cursor (lossless for any page size)."""
    c = get_collection(collection_id)
    q = build_query(c, request, settings)
    cursor = request.query_params.get("cursor")
    carried = repo.decode_cursor(cursor)[2] if cursor else None
    if request.query_params.get("resultType", request.query_params.get("resulttype")) == "hits":
        q.limit = 0
    page = await repo.fetch_page(conn, c, q, settings.storage_srid, count=carried is None, count_limit=settings.count_limit)
    matched = page.number_matched if carried is None else carried
    links = [link(str(request.url), "self", GEOJSON, "this page")]
    if page.has_more and q.limit > 0:
        token = (repo.encode_cursor("k", page.last_id, matched) if not q.sortby and not q.offset
                 else repo.encode_cursor("o", q.offset + q.limit, matched))
        links.append(link(_next_href(request, token), "next", GEOJSON, "next page"))
    if q.offset > 0:
        prev = max(q.offset - q.limit, 0)
        links.append(link(_next_href(request, repo.encode_cursor("o", prev, matched)), "prev", GEOJSON, "previous page"))
    tail: dict[str, Any] = {
        "numberReturned": len(page.features),
        "timeStamp": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "links": links,
    }
    if matched is not None:
        tail["numberMatched"] = matched
    body = b'{"type":"FeatureCollection","features":[' + ",".join(page.features).encode() + b"]," + orjson.dumps(tail)[1:]
    headers = {"Content-Crs": f"<{crsmod.crs_uri(q.crs)}>"}
    return Response(body, media_type=GEOJSON, headers=headers)


@router.get("/collections/{collection_id}/items/{feature_id}", operation_id="getFeature", summary="One feature",
            response_class=Response)
async def item(collection_id: str, feature_id: str, request: Request, conn: SessionDep, settings: SettingsDep,
               _: ReadPrincipal, crs: str | None = Query(None)) -> Response:
    """One feature with its strong ETag; If-None-Match answers 304."""
    c = get_collection(collection_id)
    fid = _fid(feature_id)
    out_crs = _output_crs(crs, settings)
    row = await repo.fetch_one(conn, c, fid, out_crs, settings.storage_srid)
    if row is None:
        raise NotFound(f"{c.id} feature {feature_id} does not exist")
    tag = writes.etag(fid, row["version"], None if out_crs == "CRS84" else crsmod.srid_of(out_crs))
    headers = {"ETag": tag, "Content-Crs": f"<{crsmod.crs_uri(out_crs)}>", "Cache-Control": "no-cache"}
    if request.headers.get("if-none-match") == tag:
        return Response(status_code=304, headers=headers)
    root = base_url(request)
    links = orjson.dumps([link(f"{root}/collections/{c.id}/items/{fid}", "self", GEOJSON),
                          link(f"{root}/collections/{c.id}", "collection", JSON)])
    body = row["f"][:-1] + ',"links":' + links.decode() + "}"
    return Response(body, media_type=GEOJSON, headers=headers)


# --- writes (Part 4) -----------------------------------------------------------------------------
async def _json_body(request: Request) -> Any:
    ctype = request.headers.get("content-type", "application/json").split(";")[0].strip()
    if ctype not in ("application/json", GEOJSON, "application/merge-patch+json"):
        raise UnsupportedMediaType(f"send GeoJSON (application/geo+json), not {ctype}")
    raw = await read_capped(request, MAX_FEATURE_BYTES, "single features (use uploads for bulk data)")
    try:
        # orjson refuses NaN/Infinity and nesting deeper than 1024 (conventions.md §2.3-2.4).
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"malformed JSON: {exc}") from None


def _content_crs(request: Request) -> str:
    raw = request.headers.get("content-crs")
    return crsmod.parse_crs(raw.strip().strip("<>")) if raw else "CRS84"


async def _written(request: Request, conn: Any, c: Collection, fid: int, settings: Settings, status: int) -> Response:
    row = await repo.fetch_one(conn, c, fid, "CRS84", settings.storage_srid)
    headers = {"ETag": writes.etag(fid, row["version"]), "Location": f"{base_url(request)}/collections/{c.id}/items/{fid}",
               "Content-Crs": f"<{crsmod.CRS84_URI}>"}
    return Response(row["f"], status_code=status, media_type=GEOJSON, headers=headers)


@router.post("/collections/{collection_id}/items", operation_id="createFeature", summary="Create a feature",
             status_code=201, response_class=Response)
async def create(collection_id: str, request: Request, conn: SessionDep, settings: SettingsDep,
                 principal: Principal, rid: RequestId) -> Response:
    """201 + Location + ETag. The asset code is allocated when absent; district derived from the position."""
    c = get_collection(collection_id)
    principal.require_write(c)
    feature = await _json_body(request)
    clean = validate_feature(c, feature, _content_crs(request), settings, geometry_required=_geometry_required(c, feature))
    fid, _ = await writes.create_feature(conn, c, clean, writes.WriteContext(principal, rid), settings)
    return await _written(request, conn, c, fid, settings, 201)


def _geometry_required(c: Collection, feature: Any) -> bool:
    if c.parent is not None:
        return False  # a device takes its pole's position
    col = c.table.c.get("geom")
    return col is not None and not col.nullable


@router.put("/collections/{collection_id}/items/{feature_id}", operation_id="replaceFeature",
            summary="Replace a feature", response_class=Response)
async def replace(collection_id: str, feature_id: str, request: Request, conn: SessionDep, settings: SettingsDep,
                  principal: Principal, rid: RequestId) -> Response:
    """Replace the whole feature; If-Match required."""
    c = get_collection(collection_id)
    fid = _fid(feature_id)
    principal.require_write(c)
    feature = await _json_body(request)
    clean = validate_feature(c, feature, _content_crs(request), settings, geometry_required=_geometry_required(c, feature))
    await writes.replace_feature(conn, c, fid, clean, request.headers.get("if-match"),
                                 writes.WriteContext(principal, rid), settings)
    return await _written(request, conn, c, fid, settings, 200)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON merge patch."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


@router.patch("/collections/{collection_id}/items/{feature_id}", operation_id="updateFeature",
              summary="Update a feature (JSON merge patch)", response_class=Response)
async def update(collection_id: str, feature_id: str, request: Request, conn: SessionDep, settings: SettingsDep,
                 principal: Principal, rid: RequestId) -> Response:
    """Merge-patch properties and/or geometry; an untouched geometry is kept exactly as stored."""
    c = get_collection(collection_id)
    fid = _fid(feature_id)
    principal.require_write(c)
    patch = await _json_body(request)
    if not isinstance(patch, dict):
        raise InvalidRequest("a merge patch must be a JSON object")
    unknown = set(patch) - {"type", "properties", "geometry", "id", "links"}
    if unknown:
        raise InvalidRequest(f"a feature patch may change properties and geometry only, not {', '.join(sorted(unknown))}")
    base = {"type": "Feature", "properties": await writes.current_properties(conn, c, fid)}
    merged = merge_patch(base, {k: v for k, v in patch.items() if k in ("properties", "geometry")})
    merged["type"] = "Feature"
    keep = "geometry" not in patch
    clean = validate_feature(c, merged, _content_crs(request), settings, geometry_required=not keep and _geometry_required(c, merged))
    await writes.replace_feature(conn, c, fid, clean, request.headers.get("if-match"),
                                 writes.WriteContext(principal, rid), settings, keep_geometry=keep)
    return await _written(request, conn, c, fid, settings, 200)


@router.delete("/collections/{collection_id}/items/{feature_id}", operation_id="deleteFeature",
               summary="Delete (retire) a feature", status_code=204, response_class=Response)
async def delete(collection_id: str, feature_id: str, request: Request, conn: SessionDep, principal: Principal,
                 rid: RequestId) -> Response:
    """Retire the feature: it leaves every read but stays in its history."""
    c = get_collection(collection_id)
    await writes.retire_feature(conn, c, _fid(feature_id), request.headers.get("if-match"),
                                writes.WriteContext(principal, rid))
    return Response(status_code=204)


@router.options("/collections/{collection_id}/items", include_in_schema=False)
@router.options("/collections/{collection_id}/items/{feature_id}", include_in_schema=False)
async def options(collection_id: str, request: Request, principal: Principal, feature_id: str | None = None) -> Response:
    """Allowed methods for this caller (QGIS enables editing only when POST is allowed)."""
    c = get_collection(collection_id)
    methods = ["GET", "HEAD", "OPTIONS"]
    if principal.can_write(c):
        methods += ["PUT", "PATCH", "DELETE"] if feature_id else ["POST"]
    return Response(status_code=204, headers={"Allow": ", ".join(methods)})


@router.get("/collections/{collection_id}/items/{feature_id}/history", operation_id="getFeatureHistory",
            summary="Every version of a feature")
async def history(collection_id: str, feature_id: str, conn: SessionDep, settings: SettingsDep,
                  _: ReadPrincipal) -> JSONResponse:
    """Who changed what, when, through which request or upload; retired features keep theirs."""
    c = get_collection(collection_id)
    fid = _fid(feature_id)
    rows = await conn.fetch(
        "SELECT version, action, to_char(changed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS at, "
        "actor, request_id, upload_id, changes, "
        # to_jsonb(row) renders geometry through PostGIS's geometry->json cast (GeoJSON, storage CRS).
        "CASE WHEN jsonb_typeof(previous->'geom') = 'object' THEN ST_AsGeoJSON(ST_Transform(ST_SetSRID("
        "ST_GeomFromGeoJSON(previous->'geom'), $3::int), 4326), 7)::json END AS previous_geometry, "
        "previous - 'geom' AS previous FROM history WHERE collection = $1 AND feature_id = $2 ORDER BY version, id",
        c.id, fid, settings.storage_srid,
    )
    if not rows:
        raise NotFound(f"{c.id} feature {feature_id} has no history")
    versions = []
    for r in rows:
        entry = {k: r[k] for k in ("version", "action", "at", "actor", "request_id", "upload_id")}
        if r["changes"] is not None:
            entry["changes"] = {k: {"old": v[0], "new": v[1]} for k, v in r["changes"].items() if k != "geom"}
            entry["geometry_changed"] = "geom" in r["changes"]
        if r["previous"] is not None:
            entry["previous"] = {"type": "Feature", "geometry": r["previous_geometry"], "properties": r["previous"]}
        versions.append(entry)
    return JSONResponse({"collection": c.id, "id": fid, "versions": versions})
