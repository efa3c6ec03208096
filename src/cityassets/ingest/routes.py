"""cityassets.ingest.routes: POST /collections/{id}/uploads and GET /uploads/{id}."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from cityassets.api.deps import (
    BulkPrincipal,
    BulkSessionDep,
    ReadPrincipal,
    RequestId,
    SessionDep,
    SettingsDep,
)
from cityassets.api.responses import JSONResponse
from cityassets.catalogue import get_collection
from cityassets.errors import InvalidRequest, Issue, ValidationFailed
from cityassets.ingest import pipeline, report
from cityassets.ingest.body import decoded
from cityassets.ingest.sources import open_source

router = APIRouter(tags=["Uploads"])


#: The body is read as a stream, not declared as a parameter: document it for OpenAPI clients.
_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            media: {"schema": {"type": "string", "format": "binary"}}
            for media in (
                "application/geo+json",
                "text/csv",
                "application/geopackage+sqlite3",
                "application/zip",
            )
        },
    }
}


@router.post(
    "/collections/{collection_id}/uploads",
    summary="Upload a survey file (GeoJSON, CSV, GeoPackage, zipped Shapefile)",
    openapi_extra=_BODY,
)
async def upload(
    collection_id: str,
    request: Request,
    conn: BulkSessionDep,
    principal: BulkPrincipal,
    settings: SettingsDep,
    request_id: RequestId,
    crs: Annotated[
        str | None, Query(description="CRS of the coordinates: EPSG code or URI, CRS84, GCJ02, BD09")
    ] = None,
    mode: Annotated[
        Literal["atomic", "partial"],
        Query(description="atomic: all or nothing; partial: write the valid features"),
    ] = "atomic",
    match: Annotated[
        str | None, Query(description="asset_code (default), an external id field, or none")
    ] = None,
    dry_run: Annotated[bool, Query(description="validate and report, write nothing")] = False,
) -> JSONResponse:
    """Stream the body into the collection; the report says what happened to every feature."""
    collection = get_collection(collection_id)
    principal.require_write(collection)
    match_key = _match(collection.match_keys, match)
    upload_id = report.new_upload_id()
    body = decoded(
        request.stream(),
        request.headers.get("content-encoding"),
        settings.max_body_bytes,
        settings.max_decompressed_bytes,
    )
    source = await open_source(request.headers.get("content-type"), body, crs, settings)
    info = report.UploadInfo(
        upload_id,
        collection.id,
        mode,
        match_key,
        source.crs,
        dry_run,
        principal.name,
        _filename(request.headers.get("content-disposition")),
    )
    outcome = await pipeline.run(conn, collection, principal, info, source, settings, request_id)
    body_json = await report.load(conn, upload_id)
    if outcome.status == "rejected":
        issues = [
            Issue(i.get("field"), i["rule"], i["message"], i.get("index"), i.get("code"))
            for i in body_json.pop("issues")
        ]
        raise ValidationFailed(outcome.message, issues, extra={"upload": body_json})
    return JSONResponse(body_json, headers={"Location": f"/uploads/{upload_id}"})


@router.get("/uploads/{upload_id}", summary="The report of an upload")
async def upload_report(
    upload_id: str,
    conn: SessionDep,
    _reader: ReadPrincipal,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=report.INLINE_ISSUES)] = report.INLINE_ISSUES,
) -> JSONResponse:
    """Counts and issues of a finished upload."""
    return JSONResponse(await report.load(conn, upload_id, offset, limit))


def _filename(disposition: str | None) -> str | None:
    """The file name from `Content-Disposition: attachment; filename="survey.geojson"` (RFC 6266)."""
    m = re.search(r'filename="?([^";]+)"?', disposition or "")
    return m.group(1)[:200] if m else None


def _match(keys: tuple[str, ...], match: str | None) -> str | None:
    """The match key column: asset_code when the collection has one, none for insert-only."""
    if match is None:
        return "asset_code" if "asset_code" in keys else None
    if match == "none":
        return None
    if match not in keys:
        raise InvalidRequest(f"match must be one of: {', '.join((*keys, 'none'))}")
    return match
