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
    """A pooled connection for the duration of the request, handed out first come, first served."""
    async with request.app.state.gate, request.app.state.pool.acquire() as conn:
        yield conn


SessionDep = Annotated[asyncpg.Connection, Depends(db_connection)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


async def current_principal(request: Request, conn: SessionDep) -> AuthPrincipal:
    """The caller named by `Authorization: Bearer <token>`, or anonymous."""
    header = request.headers.get("authorization")
    if not header:
        return ANONYMOUS
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("use 'Authorization: Bearer <token>'", headers={"WWW-Authenticate": "Bearer"})
    return await principal_for(conn, token.strip())


Principal = Annotated[AuthPrincipal, Depends(current_principal)]


async def reader(principal: Principal, settings: SettingsDep) -> AuthPrincipal:
    """The caller, provided reading is allowed to them (anonymous read is a setting)."""
    if principal.is_anonymous and not settings.anonymous_read:
        raise NotAuthenticated("anonymous read is disabled: send a bearer token", headers={"WWW-Authenticate": "Bearer"})
    return principal


ReadPrincipal = Annotated[AuthPrincipal, Depends(reader)]


def request_id(request: Request) -> str:
    """The caller's X-Request-ID, or a new one: history rows point to it."""
    return request.headers.get("x-request-id") or uuid.uuid4().hex


RequestId = Annotated[str, Depends(request_id)]
