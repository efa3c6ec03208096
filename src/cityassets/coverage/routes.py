"""cityassets.coverage.routes: GET /indicators, /indicators/report, /indicators/{id}, gaps and candidates."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from cityassets.api.deps import BulkReadPrincipal, BulkSessionDep, ReadPrincipal
from cityassets.coverage import engine, gaps, report, siting
from cityassets.coverage.catalogue import indicators

router = APIRouter(prefix="/indicators", tags=["indicators"])
#: Query parameters of the routes themselves; every other one is an indicator parameter override.
RESERVED = {"district", "method", "limit", "count", "maps", "f"}


def overrides(request: Request) -> dict[str, Any]:
    """Indicator parameter overrides from the query string (radius_m, min_area_m2, denominator, ...)."""
    return {k: v for k, v in request.query_params.items() if k not in RESERVED}


@router.get("")
async def list_indicators(_: ReadPrincipal) -> dict[str, Any]:
    """The indicator catalogue with targets, sources and every parameter's default."""
    return {"indicators": [i.as_dict() for i in indicators().values()]}


@router.get("/report", response_class=HTMLResponse)
async def indicator_report(conn: BulkSessionDep, _: BulkReadPrincipal, district: str | None = None,
                           maps: bool = True) -> HTMLResponse:
    """One printable page: every indicator, met or not, per district, with gap maps."""
    return HTMLResponse(await report.render(conn, district=district, maps=maps))


@router.get("/{indicator_id}")
async def get_indicator_value(indicator_id: str, request: Request, conn: BulkSessionDep, _: BulkReadPrincipal,
                              district: str | None = None, method: str = "euclidean") -> dict[str, Any]:
    """Value, target and met for the city and per district; parameters overridable by name."""
    return await engine.compute(conn, indicator_id, overrides(request), district, method)


@router.get("/{indicator_id}/gaps")
async def get_gaps(indicator_id: str, request: Request, conn: BulkSessionDep, _: BulkReadPrincipal,
                   district: str | None = None, limit: int = Query(1000), method: str = "euclidean") -> dict[str, Any]:
    """Uncovered land as GeoJSON (CRS84) with area and population per polygon, largest first.

    method=network: the residential parcels no facility reaches within its radius along the roads.
    """
    rows = await gaps.gap_rows(conn, indicator_id, overrides(request), district, limit, method)
    return gaps.feature_collection(indicator_id, rows, method)


@router.get("/{indicator_id}/candidates")
async def get_candidates(indicator_id: str, request: Request, conn: BulkSessionDep, _: BulkReadPrincipal,
                         district: str | None = None, count: int = Query(5), method: str = "euclidean") -> dict[str, Any]:
    """Where to build next: N sites that cover the most uncovered population (greedy maximal coverage).

    method=network: sites are road nodes and coverage is measured along the roads.
    """
    return await siting.candidates(conn, indicator_id, overrides(request), district, count, method)
