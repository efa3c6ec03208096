"""cityassets.api.health: liveness plus database and PostGIS status."""

from __future__ import annotations

from fastapi import APIRouter, Request
from cityassets.api.responses import JSONResponse

router = APIRouter(tags=["health"])


@router.get("/health", operation_id="health", summary="Service, database and PostGIS status")
async def health(request: Request) -> JSONResponse:
    """200 with versions when the database answers, 503 otherwise."""
    try:
        async with request.app.state.pool.acquire(timeout=5) as conn:
            row = await conn.fetchrow(
                "SELECT version() AS pg, postgis_lib_version() AS postgis, "
                "(SELECT max(version_num) FROM alembic_version) AS schema"
            )
    except Exception as exc:  # the point of a health check is to say so, not to raise
        return JSONResponse({"status": "unavailable", "database": False, "error": type(exc).__name__},
                              status_code=503)
    return JSONResponse({
        "status": "ok",
        "database": True,
        "postgresql": row["pg"].split(" on ")[0],
        "postgis": row["postgis"],
        "schema": row["schema"],
    })
