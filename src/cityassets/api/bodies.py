"""cityassets.api.bodies: request bodies read whole, refused past a limit before they fill memory."""

from __future__ import annotations

from fastapi import Request

from cityassets.errors import PayloadTooLarge


async def read_capped(request: Request, limit: int, what: str) -> bytes:
    """The body, or 413 as soon as the declared or the streamed size passes `limit`."""
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit:
        raise PayloadTooLarge(f"{what} are limited to {limit} bytes")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limit:
            raise PayloadTooLarge(f"{what} are limited to {limit} bytes")
    return bytes(raw)
