"""cityassets.api.app: the application factory."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware

from cityassets import crs
from cityassets.api import errors, health
from cityassets.api.responses import JSONResponse
from cityassets.coverage.routes import router as indicators_router
from cityassets.db.pool import create_pool, lanes
from cityassets.ingest import spatial_index
from cityassets.ingest.routes import router as uploads_router
from cityassets.ogc import features, filters, html, openapi, tiles, wfs  # noqa: F401  (filters registers the Part 3 hook)
from cityassets.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service: every face reads the same catalogue and writes through one path."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await create_pool(settings)
        async with app.state.pool.acquire() as conn:
            await spatial_index.repair(conn)  # what a load killed mid-way left out
        app.state.gate, app.state.bulk_gate = lanes(settings)
        # anyio loads its asyncio backend on first use, inside the first request that needs a cancel scope
        # or a worker thread: 0.4 s of the first upload's time (py-spy), paid here instead.
        anyio.get_cancelled_exc_class()
        # The operation between CRS84 and the storage CRS: PROJ searches proj.db for it once per process,
        # ~0.45 s that the first upload's first batch waited for (py-spy).
        await asyncio.to_thread(crs.transformer, "CRS84", f"EPSG:{settings.storage_srid}")
        # Everything imported so far lives as long as the process: keep it out of the cyclic GC's
        # full collections, whose pauses otherwise land in the latency tail.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await app.state.pool.close()

    app = FastAPI(
        title=f"cityassets — {settings.city_name} asset registry",
        description="City street-asset registry: OGC API - Features (Parts 1-4), WFS 2.0, survey uploads, "
        "planning indicators.",
        version="0.1.0",
        default_response_class=JSONResponse,
        lifespan=lifespan,
        openapi_url=None,  # served by ogc.features at /api with the OGC media type
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    errors.install(app)
    # P8: CORS is configurable and off unless origins are listed; expose what editors need.
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["*"],
            expose_headers=["ETag", "Location", "Content-Crs", "Link"],
        )
    # Level 1: ~3 ms per MB of GeoJSON and 10x smaller; the default 9 costs ~70 ms per MB for 1.5x more.
    app.add_middleware(GZipMiddleware, minimum_size=2048, compresslevel=1)
    app.include_router(health.router)
    app.include_router(html.router)  # before features: matches only when HTML is asked for
    app.include_router(features.router)
    app.include_router(tiles.router)
    app.include_router(uploads_router)
    app.include_router(indicators_router)
    app.include_router(wfs.router)  # WFS 2.0 / 1.1 at /wfs
    openapi.install(app, settings)
    return app
