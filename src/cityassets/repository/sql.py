"""cityassets.repository.sql: bound parameters and identifier quoting, the only two SQL helpers.

Values are always bound ($n); identifiers only ever come from the catalogue and pass through
`ident` anyway.
"""

from __future__ import annotations

from typing import Any


def ident(name: str) -> str:
    """Quote a PostgreSQL identifier."""
    return '"' + name.replace('"', '""') + '"'


class Params:
    """Collects bound values and hands out their `$n` placeholders."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def add(self, value: Any, cast: str | None = None) -> str:
        """Bind a value; returns `$n` (with an optional `::cast`)."""
        self.values.append(value)
        ph = f"${len(self.values)}"
        return f"{ph}::{cast}" if cast else ph


async def set_write_context(conn: Any, actor: str, request_id: str | None, upload_id: str | None) -> None:
    """Transaction-local who/why read by the history triggers (set_config(..., true) = SET LOCAL)."""
    await conn.execute(
        "SELECT set_config('cityassets.actor', $1, true), set_config('cityassets.request_id', $2, true), "
        "set_config('cityassets.upload_id', $3, true)",
        actor, request_id or "", upload_id or "",
    )
