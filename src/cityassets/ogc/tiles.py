"""cityassets.ogc.tiles: Mapbox vector tiles per collection (OGC API - Tiles, OGC 20-057) and TileJSON 3.0.

Tiles are built in one statement with ST_TileEnvelope / ST_AsMVTGeom / ST_AsMVT; lines and polygons
are simplified to a quarter pixel of the zoom first, so low zooms stay small. Empty tiles are 204
(Tiles /req/core/tc-success allows 204 for no content); ETags come from the collection's data
version, so revalidation costs one primary-key lookup.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from cityassets.api.deps import ReadPrincipal, SessionDep, SettingsDep
from cityassets.api.responses import JSONResponse
from cityassets.catalogue import Collection, get_collection
from cityassets.errors import InvalidRequest, NotFound
from cityassets.ogc import common, features
from cityassets.ogc.common import JSON, base_url, link
from cityassets.repository.sql import ident

router = APIRouter(tags=["OGC API - Tiles"])

MVT = "application/vnd.mapbox-vector-tile"
TMS = "WebMercatorQuad"
TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
MIN_ZOOM, MAX_ZOOM = 0, 22
EXTENT, BUFFER = 4096, 64
#: Web Mercator half-width in metres (EPSG:3857), for the pixel size used by simplification.
_HALF = 20037508.342789244

_T = "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/"
common.CONFORMANCE.extend([_T + "core", _T + "tileset", _T + "tilesets-list", _T + "geodata-tilesets", _T + "mvt"])


def _tile_sql(c: Collection, storage_srid: int) -> str:
    """One statement per collection (so asyncpg's prepared-statement cache serves every tile)."""
    props = [f for f in c.fields if f.type != "object"]
    cols = "".join(f", t.{ident(f.name)}" for f in props)
    geom = "ST_Transform(t.geom, 3857)"
    if c.geometry_type != "Point":
        # A quarter pixel: invisible at this zoom, and ST_AsMVTGeom has far fewer vertices to clip.
        geom = f"ST_Simplify({geom}, $4::float8 / {EXTENT * 4}, true)"
    # The storage-CRS search box: the tile plus its buffer, densified so the curved edges of the
    # transformed square stay inside, then a 1-unit margin (the GiST index serves `&&`).
    env = f"ST_TileEnvelope($1, $2, $3, margin => {BUFFER / EXTENT})"
    search = f"ST_Expand(ST_Envelope(ST_Transform(ST_Segmentize({env}, $4::float8 / 16), {storage_srid})), 1.0)"
    return (
        f"SELECT ST_AsMVT(m, {_literal(c.id)}, {EXTENT}, 'geom', 'id') FROM ("
        f"SELECT t.id, ST_AsMVTGeom({geom}, ST_TileEnvelope($1, $2, $3), {EXTENT}, {BUFFER}, true) AS geom{cols} "
        f"FROM {ident(c.table.name)} t WHERE t.retired_at IS NULL AND t.geom && {search}) m WHERE m.geom IS NOT NULL"
    )


def _literal(text: str) -> str:
    """A catalogue id as an SQL string literal (ids are [a-z_], quoted anyway)."""
    return "'" + text.replace("'", "''") + "'"


def _tile_index(z: str, x: str, y: str) -> tuple[int, int, int]:
    """Tile matrix, row and column: 400 when not integers, 404 outside the matrix set (Tiles /req/core/tc-op)."""
    try:
        zi, xi, yi = int(z), int(x), int(y.removesuffix(".mvt").removesuffix(".pbf"))
    except ValueError:
        raise InvalidRequest("tile matrix, row and column must be integers") from None
    if not MIN_ZOOM <= zi <= MAX_ZOOM:
        raise NotFound(f"tile matrix {zi} is outside {MIN_ZOOM}..{MAX_ZOOM}")
    if not (0 <= xi < 2**zi and 0 <= yi < 2**zi):
        raise NotFound(f"tile {zi}/{xi}/{yi} is outside the tile matrix")
    return zi, xi, yi


def _spatial(c: Collection) -> Collection:
    if not c.geometry_type:
        raise NotFound(f"collection '{c.id}' has no geometry, so no tiles")
    return c


@router.get("/collections/{collection_id}/tiles/WebMercatorQuad/{z}/{x}/{y}", operation_id="getTile",
            summary="A vector tile", response_class=Response)
async def tile(collection_id: str, z: str, x: str, y: str, request: Request, conn: SessionDep,
               settings: SettingsDep, _: ReadPrincipal) -> Response:
    """MVT of one tile; 204 when empty, 304 when the collection has not changed since the client's copy."""
    c = _spatial(get_collection(collection_id))
    zi, xi, yi = _tile_index(z, x, y)
    version = await conn.fetchval("SELECT data_version FROM collection_stats WHERE collection = $1", c.id)
    tag = f'"{c.id}.{version}.{zi}.{xi}.{yi}"'
    headers = {"ETag": tag, "Cache-Control": "no-cache"}
    if request.headers.get("if-none-match") == tag:
        return Response(status_code=304, headers=headers)
    data = await conn.fetchval(_tile_sql(c, settings.storage_srid), zi, xi, yi, 2 * _HALF / 2**zi)
    if not data:
        return Response(status_code=204, headers=headers)
    return Response(bytes(data), media_type=MVT, headers=headers)


def _tile_url(request: Request, c: Collection) -> str:
    return f"{base_url(request)}/collections/{c.id}/tiles/{TMS}/{{z}}/{{x}}/{{y}}"


def _fields(c: Collection) -> dict[str, str]:
    kinds = {"integer": "Number", "number": "Number", "boolean": "Boolean"}
    return {f.name: kinds.get(f.type, "String") for f in c.fields if f.type != "object"}


@router.get("/collections/{collection_id}/tiles", operation_id="getTileSets", summary="Tilesets of a collection")
async def tilesets(collection_id: str, request: Request, _: ReadPrincipal) -> JSONResponse:
    """The one tileset offered: WebMercatorQuad vector tiles (Tiles /req/tilesets-list)."""
    c = _spatial(get_collection(collection_id))
    href = f"{base_url(request)}/collections/{c.id}/tiles"
    return JSONResponse({
        "tilesets": [{
            "title": f"{c.title_en} vector tiles", "dataType": "vector", "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
            "tileMatrixSetURI": TMS_URI,
            "links": [link(f"{href}/{TMS}", "self", JSON, "tileset metadata"),
                      link(TMS_URI, "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme")],
        }],
        "links": [link(href, "self", JSON)],
    })


@router.get("/collections/{collection_id}/tiles/WebMercatorQuad", operation_id="getTileSet", summary="Tileset metadata")
async def tileset(collection_id: str, request: Request, conn: SessionDep, _: ReadPrincipal) -> JSONResponse:
    """Tileset metadata with the tile URL template (Tiles /req/tileset)."""
    c = _spatial(get_collection(collection_id))
    href = f"{base_url(request)}/collections/{c.id}/tiles/{TMS}"
    bbox = await features._extent(request, conn, c)
    return JSONResponse({
        "title": f"{c.title_en} vector tiles", "dataType": "vector", "tileMatrixSetURI": TMS_URI,
        "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
        "boundingBox": {"lowerLeft": bbox[:2], "upperRight": bbox[2:],
                        "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"},
        "tileMatrixSetLimits": [{"tileMatrix": str(z)} for z in range(MIN_ZOOM, MAX_ZOOM + 1)],
        "layers": [{"id": c.id, "dataType": "vector", "geometryDimension": _dimension(c),
                    "propertiesSchema": {"type": "object", "properties": {
                        k: {"type": v.lower()} for k, v in _fields(c).items()}}}],
        "links": [
            link(href, "self", JSON),
            link(_tile_url(request, c), "item", MVT, "tile URL template"),
            link(f"{href}/tilejson.json", "alternate", JSON, "TileJSON"),
            link(TMS_URI, "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"),
        ],
    })


def _dimension(c: Collection) -> int:
    return {"Point": 0, "MultiPoint": 0, "LineString": 1, "MultiLineString": 1}.get(c.geometry_type or "", 2)


@router.get("/collections/{collection_id}/tiles/WebMercatorQuad/tilejson.json", operation_id="getTileJSON",
            summary="TileJSON 3.0")
async def tilejson(collection_id: str, request: Request, conn: SessionDep, _: ReadPrincipal) -> JSONResponse:
    """TileJSON 3.0.0 for MapLibre/Mapbox GL and QGIS."""
    c = _spatial(get_collection(collection_id))
    bbox = await features._extent(request, conn, c)
    doc: dict[str, Any] = {
        "tilejson": "3.0.0", "name": c.id, "description": f"{c.title_zh} {c.title_en}", "scheme": "xyz",
        "tiles": [_tile_url(request, c)], "minzoom": MIN_ZOOM, "maxzoom": MAX_ZOOM, "bounds": bbox,
        "center": [(bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2, 14],
        "vector_layers": [{"id": c.id, "fields": _fields(c), "minzoom": MIN_ZOOM, "maxzoom": MAX_ZOOM}],
    }
    return JSONResponse(doc)
