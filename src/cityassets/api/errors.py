"""cityassets.api.errors: the exception hierarchy mapped to HTTP, once.

JSON bodies carry both the OGC API exception fields (`code`, `description`) and RFC 9457
problem fields; faces with their own error format (WFS: OWS ExceptionReport) register a
renderer for their path prefix.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

from cityassets.api.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from cityassets.errors import CityAssetsError, Issue

log = logging.getLogger("cityassets")

#: path prefix -> renderer(request, error) for faces with their own exception format.
RENDERERS: dict[str, Callable[[Request, CityAssetsError], Response]] = {}

_PG_ERRORS: tuple[tuple[type[Exception], int, str], ...] = (
    (asyncpg.UniqueViolationError, 409, "Conflict"),
    (asyncpg.ForeignKeyViolationError, 422, "ValidationFailed"),
    (asyncpg.CheckViolationError, 422, "ValidationFailed"),
    (asyncpg.NotNullViolationError, 422, "ValidationFailed"),
    (asyncpg.DataError, 400, "InvalidParameterValue"),
    (asyncpg.QueryCanceledError, 503, "ServiceUnavailable"),
    (asyncpg.SerializationError, 409, "Conflict"),
    (asyncpg.DeadlockDetectedError, 409, "Conflict"),
)


def problem(request: Request, err: CityAssetsError) -> Response:
    """Render an error in the format of the face that raised it."""
    for prefix, render in RENDERERS.items():
        if request.url.path.startswith(prefix):
            return render(request, err)
    body = {
        "type": f"urn:cityassets:error:{err.code}",
        "title": err.code,
        "status": err.status,
        "code": err.code,
        "description": err.message,
        "detail": err.message,
    }
    if err.issues:
        body["issues"] = [i.as_dict() for i in err.issues]
    body.update(err.extra)
    return JSONResponse(body, status_code=err.status, headers=err.headers, media_type="application/problem+json")


def from_postgres(exc: Exception) -> CityAssetsError:
    """A database error raised by client input, as our error (the constraint names the rule)."""
    for kind, status, code in _PG_ERRORS:
        if isinstance(exc, kind):
            detail = getattr(exc, "detail", None) or ""
            constraint = getattr(exc, "constraint_name", None)
            column = getattr(exc, "column_name", None)
            message = str(exc) + (f" ({detail})" if detail else "")
            if isinstance(exc, asyncpg.QueryCanceledError):
                message = "the query ran longer than the statement timeout; narrow it (bbox, filter, limit)"
            issues = [Issue(field=column, rule=constraint or code, message=message)] if status == 422 else []
            return CityAssetsError(message, status, code, issues)
    return CityAssetsError("internal error", 500, "InternalError")


def install(app: FastAPI) -> None:
    """Register the handlers on an app."""

    @app.exception_handler(CityAssetsError)
    async def _ours(request: Request, exc: CityAssetsError) -> Response:
        return problem(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _params(request: Request, exc: RequestValidationError) -> Response:
        # OGC clients expect 400 for bad parameters, not FastAPI's 422 (ogc-interop P12).
        issues = [
            Issue(field=".".join(str(p) for p in e.get("loc", ())[1:]) or None, rule=e.get("type", "invalid"),
                  message=e.get("msg", "invalid"))
            for e in exc.errors()
        ]
        msg = "; ".join(f"{i.field}: {i.message}" for i in issues) or "invalid request"
        return problem(request, CityAssetsError(msg, 400, "InvalidParameterValue", issues))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "NotFound", 405: "MethodNotAllowed"}.get(exc.status_code, "HTTPError")
        return problem(request, CityAssetsError(str(exc.detail), exc.status_code, code, headers=dict(exc.headers or {})))

    @app.exception_handler(asyncpg.PostgresError)
    async def _pg(request: Request, exc: asyncpg.PostgresError) -> Response:
        err = from_postgres(exc)
        if err.status >= 500 and err.code == "InternalError":
            log.exception("database error", exc_info=exc)
        return problem(request, err)

    @app.exception_handler(OSError)
    async def _down(request: Request, exc: OSError) -> Response:
        log.error("database unreachable: %s", exc)
        return problem(request, CityAssetsError("the database cannot be reached", 503, "ServiceUnavailable"))
