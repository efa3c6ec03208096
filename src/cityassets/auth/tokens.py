"""cityassets.auth.tokens: bearer tokens, stored as SHA-256 hashes only."""

from __future__ import annotations

import hashlib
import secrets

import asyncpg

from cityassets.auth.principal import ROLES, AuthPrincipal
from cityassets.errors import InvalidRequest, NotAuthenticated

TOKEN_PREFIX = "ca_"


def hash_token(token: str) -> str:
    """SHA-256 hex of a token: tokens are high-entropy, so a plain hash is enough (no KDF needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(
    conn: asyncpg.Connection,
    role: str,
    owner: str | None = None,
    districts: list[str] | None = None,
    label: str | None = None,
) -> str:
    """Create a token and return it; only its hash is stored."""
    if role not in ROLES:
        raise InvalidRequest(f"unknown role '{role}' (one of {', '.join(ROLES)})")
    if (owner or districts) and role != "surveyor":
        raise InvalidRequest("owner/district scopes apply to the surveyor role only")
    if owner and not await conn.fetchval("SELECT 1 FROM organisations WHERE code = $1 AND retired_at IS NULL", owner):
        raise InvalidRequest(f"unknown organisation '{owner}'")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    await conn.execute(
        "INSERT INTO api_tokens (token_hash, role, owner, districts, label) VALUES ($1, $2, $3, $4, $5)",
        hash_token(token), role, owner, districts or None, label,
    )
    return token


async def principal_for(conn: asyncpg.Connection, token: str) -> AuthPrincipal:
    """The principal a token stands for, or NotAuthenticated."""
    row = await conn.fetchrow(
        "SELECT id, role, owner, districts, label FROM api_tokens WHERE token_hash = $1 "
        "AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())",
        hash_token(token),
    )
    if row is None:
        raise NotAuthenticated("unknown, revoked or expired token", headers={"WWW-Authenticate": "Bearer"})
    return AuthPrincipal(
        name=row["label"] or f"token-{row['id']}",
        role=row["role"],
        owner=row["owner"],
        districts=tuple(row["districts"]) if row["districts"] else None,
    )
