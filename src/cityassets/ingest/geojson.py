"""cityassets.ingest.geojson: a FeatureCollection parsed incrementally (ijson, yajl2_c) in a worker thread.

ijson's C parser is 2.5x faster pulling from a file-like object than when pushed chunks
(`items_coro`), so the body is handed to a thread through a small bounded queue and features come
back in batches. Memory stays flat. NaN, Infinity and numbers overflowing a double are not JSON
(RFC 8259 §6) and yajl refuses them.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import AsyncIterator
from typing import Any

import ijson
import orjson

from cityassets.errors import InvalidRequest, PayloadTooLarge

BATCH = 4096
_QUEUED_CHUNKS = 32  # body chunks waiting for the parser (~2 MB)
_QUEUED_BATCHES = 1  # parsed batches waiting for the pipeline (~10 MB of dicts; the database sets the pace)
_END = object()
_HEAD = 65_536


class _Stopped(Exception):
    """The consumer went away (client gone, error downstream): the parser thread ends quietly."""


class _Body:
    """File-like view of the body for ijson; counts bytes for error messages and the per-feature cap."""

    def __init__(self, max_feature_bytes: int) -> None:
        self.chunks: queue.Queue[bytes | None] = queue.Queue(_QUEUED_CHUNKS)
        self.offset = 0  # bytes handed to the parser
        self.mark = 0  # offset when the last feature completed
        self.max_feature_bytes = max_feature_bytes
        self.stopped = False
        self._rest = memoryview(b"")
        self.head = bytearray()  # the first bytes, to tell an empty FeatureCollection from another document

    async def put(self, chunk: bytes | None) -> None:
        """Hand a chunk (None: the end) to the parser; when it is behind, wait in a thread, not by polling."""
        try:
            self.chunks.put_nowait(chunk)
        except queue.Full:
            await asyncio.to_thread(self._put_waiting, chunk)

    def _put_waiting(self, chunk: bytes | None) -> None:
        while not self.stopped:
            try:
                self.chunks.put(chunk, timeout=0.5)
                return
            except queue.Full:
                continue

    def read(self, n: int = 65536) -> bytes:
        # ijson reads into a fixed buffer of n bytes: never return more than asked for.
        if not self._rest:
            chunk = self.chunks.get()
            if self.stopped:
                raise _Stopped
            if chunk is None:
                return b""
            self._rest = memoryview(chunk)
        n = len(self._rest) if n < 0 else n
        chunk, self._rest = bytes(self._rest[:n]), self._rest[n:]
        if len(self.head) < _HEAD:
            self.head += chunk[: _HEAD - len(self.head)]
        self.offset += len(chunk)
        if self.offset - self.mark > self.max_feature_bytes:
            # One feature may not grow without bound in memory while the parser waits for its end.
            raise PayloadTooLarge(f"a feature is larger than {self.max_feature_bytes:,} bytes")
        return chunk


def _parse(body: _Body, emit: Any, slots: threading.Semaphore) -> None:
    """Thread: parse the whole body, emitting lists of features, then _END or the error."""
    count, batch = 0, []
    try:
        for feature in ijson.items(body, "features.item", use_float=True):
            body.mark = body.offset
            batch.append(feature)
            if len(batch) >= BATCH:
                count += len(batch)
                while not slots.acquire(timeout=0.5):
                    if body.stopped:
                        return
                emit(batch)
                batch = []
        if count + len(batch) == 0:
            _require_feature_collection(body)
        emit(batch)
        emit(_END)
    except _Stopped:
        return
    except ijson.JSONError as exc:
        emit(_error(exc, body.offset, count + len(batch)))
    except Exception as exc:  # noqa: BLE001 (handed over to the request, which maps it)
        emit(exc)


def _require_feature_collection(body: _Body) -> None:
    """No feature was found: fine for an empty FeatureCollection, 400 for any other document."""
    try:
        doc = orjson.loads(bytes(body.head)) if body.offset <= len(body.head) else None
    except orjson.JSONDecodeError:
        doc = None
    if not (isinstance(doc, dict) and doc.get("type") == "FeatureCollection" and doc.get("features") == []):
        raise InvalidRequest(
            "the body is not a GeoJSON FeatureCollection with a 'features' array (RFC 7946 §3.3)"
        )


def _error(exc: Exception, offset: int, index: int) -> InvalidRequest:
    detail = str(exc).splitlines()[0]
    kind = "truncated" if "premature EOF" in detail else "malformed"
    return InvalidRequest(
        f"{kind} JSON within the first {offset:,} bytes (byte offset {offset:,}), at feature "
        f"index {index}: {detail}",
        extra={"byte_offset": offset, "feature_index": index},
    )


async def features(chunks: AsyncIterator[bytes], max_feature_bytes: int) -> AsyncIterator[list[Any]]:
    """Lists of features as the body arrives."""
    loop = asyncio.get_running_loop()
    body = _Body(max_feature_bytes)
    out: asyncio.Queue[Any] = asyncio.Queue()
    slots = threading.Semaphore(_QUEUED_BATCHES)
    worker = threading.Thread(
        target=_parse,
        args=(body, lambda item: loop.call_soon_threadsafe(out.put_nowait, item), slots),
        daemon=True,
        name="geojson-parser",
    )

    async def pump() -> None:
        try:
            async for chunk in chunks:
                if not chunk:  # Starlette ends the stream with b""
                    continue
                await body.put(chunk)
        except Exception as exc:  # noqa: BLE001 (body limits, gzip errors, a client gone: raised by the consumer)
            out.put_nowait(exc)
            body.stopped = True
        await body.put(None)

    worker.start()
    feeder = asyncio.create_task(pump())
    try:
        while True:
            item = await out.get()
            if item is _END:
                break
            if isinstance(item, BaseException):
                raise item
            slots.release()
            if item:
                yield item
        await feeder
    finally:
        body.stopped = True
        feeder.cancel()
        with contextlib.suppress(queue.Full):
            body.chunks.put_nowait(None)  # wakes a parser waiting for a chunk; it then sees `stopped`
