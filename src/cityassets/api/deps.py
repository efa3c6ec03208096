"""cityassets.api.deps: typed dependency aliases shared by every router."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated

import asyncpg
from fastapi import Depends, Request

from cityassets.auth import ANONYMOUS, AuthPrincipal
from cityassets.auth.tokens import principal_for
from cityassets.errors import NotAuthenticated
from cityassets.settings import Settings, get_settings


async def db_connection(request: Request) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection from the interactive lane, handed out first come, first served."""
    async with request.app.state.gate, request.app.state.pool.acquire() as conn:
        yield conn


async def bulk_connection(request: Request) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection from the bulk lane, for requests that hold it for seconds (uploads, indicators)."""
    async with request.app.state.bulk_gate, request.app.state.pool.acquire() as conn:
        yield conn


SessionDep = Annotated[asyncpg.Connection, Depends(db_connection)]
BulkSessionDep = Annotated[asyncpg.Connection, Depends(bulk_connection)]
async def settings_dep() -> Settings:
    """The cached settings. Async on purpose: FastAPI runs a plain `def` dependency in its threadpool,
    a thread hop that cost ~17 % of a worker's CPU on single-item reads (py-spy, docs/benchmarks.md)."""
    return get_settings()


SettingsDep = Annotated[Settings, Depends(settings_dep)]


async def _principal(request: Request, conn: asyncpg.Connection) -> AuthPrincipal:
    """The caller named by `Authorization: Bearer <token>`, or anonymous."""
    header = request.headers.get("authorization")
    if not header:
        return ANONYMOUS
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("use 'Authorization: Bearer <token>'", headers={"WWW-Authenticate": "Bearer"})
    return await principal_for(conn, token.strip())


def _may_read(principal: AuthPrincipal, settings: Settings) -> AuthPrincipal:
    """The caller, provided reading is allowed to them (anonymous read is a setting)."""
    if principal.is_anonymous and not settings.anonymous_read:
        raise NotAuthenticated("anonymous read is disabled: send a bearer token", headers={"WWW-Authenticate": "Bearer"})
    return principal


# The caller is looked up on the request's own connection (FastAPI caches it per request), so a bulk
# request never holds an interactive slot just to read its token.
async def current_principal(request: Request, conn: SessionDep) -> AuthPrincipal:
    return await _principal(request, conn)


async def bulk_principal(request: Request, conn: BulkSessionDep) -> AuthPrincipal:
    return await _principal(request, conn)


Principal = Annotated[AuthPrincipal, Depends(current_principal)]
BulkPrincipal = Annotated[AuthPrincipal, Depends(bulk_principal)]


async def reader(principal: Principal, settings: SettingsDep) -> AuthPrincipal:
    return _may_read(principal, settings)


async def bulk_reader(principal: BulkPrincipal, settings: SettingsDep) -> AuthPrincipal:
    return _may_read(principal, settings)


ReadPrincipal = Annotated[AuthPrincipal, Depends(reader)]
BulkReadPrincipal = Annotated[AuthPrincipal, Depends(bulk_reader)]


async def request_id(request: Request) -> str:
    """The caller's X-Request-ID, or a new one: history rows point to it."""
    return request.headers.get("x-request-id") or uuid.uuid4().hex


RequestId = Annotated[str, Depends(request_id)]
