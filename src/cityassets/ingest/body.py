"""cityassets.ingest.body: the request body as a bounded stream of bytes (gzip decoded on the fly)."""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator

from cityassets.errors import InvalidRequest, PayloadTooLarge, UnsupportedMediaType

#: Decompressed bytes produced per call, so a bomb is caught after at most this much output.
_INFLATE_STEP = 1 << 20


async def limited(chunks: AsyncIterator[bytes], max_bytes: int) -> AsyncIterator[bytes]:
    """Pass chunks through, 413 as soon as more than `max_bytes` arrived (Starlette has no cap)."""
    seen = 0
    async for chunk in chunks:
        seen += len(chunk)
        if seen > max_bytes:
            raise PayloadTooLarge(f"the body exceeds the limit of {max_bytes:,} bytes")
        yield chunk


async def gunzipped(chunks: AsyncIterator[bytes], max_bytes: int) -> AsyncIterator[bytes]:
    """Inflate a gzip stream incrementally; 413 once the output passes `max_bytes` (gzip bombs)."""
    # wbits 16+MAX_WBITS: gzip header and trailer (RFC 1952); max_length bounds each step's output.
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    produced = 0
    async for chunk in chunks:
        data = chunk
        while data:
            try:
                out = inflater.decompress(data, _INFLATE_STEP)
            except zlib.error as exc:
                raise InvalidRequest(f"the gzip body is corrupt: {exc}") from None
            produced += len(out)
            if produced > max_bytes:
                raise PayloadTooLarge(f"the decompressed body exceeds the limit of {max_bytes:,} bytes")
            if out:
                yield out
            data = inflater.unconsumed_tail
    if not inflater.eof:
        raise InvalidRequest("the gzip body is truncated")


def decoded(
    chunks: AsyncIterator[bytes], encoding: str | None, max_body: int, max_inflated: int
) -> AsyncIterator[bytes]:
    """The body bounded in size, decoded per its Content-Encoding (identity or gzip)."""
    raw = limited(chunks, max_body)
    enc = (encoding or "identity").strip().lower()
    if enc in ("", "identity"):
        return raw
    if enc in ("gzip", "x-gzip"):
        return gunzipped(raw, max_inflated)
    raise UnsupportedMediaType(f"Content-Encoding '{encoding}' is not supported (use gzip or none)")
