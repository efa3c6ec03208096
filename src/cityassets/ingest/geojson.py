"""cityassets.ingest.geojson: a FeatureCollection parsed incrementally in a worker thread.

Most large files put one feature per line (GDAL/ogr2ogr, our exports and bench files). Those lines are
parsed with orjson, ~2.5x cheaper than ijson. Anything else (a pretty-printed feature, two features on a
line, an error, the end of the array) is handed to ijson (yajl2_c) from the start of that line, fed the
same pieces of the body, so features, errors, byte offsets and limits are those of ijson alone.

ijson's C parser is 2.5x faster pulling from a file-like object than when pushed chunks
(`items_coro`), so the body is handed to a thread through a small bounded queue and features come
back in batches. Memory stays flat. NaN, Infinity and numbers overflowing a double are not JSON
(RFC 8259 §6) and yajl refuses them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import queue
import re
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import ijson
import orjson

from cityassets.errors import InvalidRequest, PayloadTooLarge

BATCH = 1024
FAST_LINES = True  # parse one-feature-per-line bodies with orjson (tests turn it off to compare with ijson)
_QUEUED_CHUNKS = 32  # body chunks waiting for the parser (~2 MB)
_QUEUED_BATCHES = 1  # parsed batches waiting for the pipeline (~10 MB of dicts; the database sets the pace)
_END = object()
_HEAD = 65_536
_READ = 65_536  # ijson's read size: the line reader reads the same pieces, so replays fail alike
_WS = b" \t\r\n"  # JSON whitespace (RFC 8259 §2); bytes.strip() would also drop \v and \f
# The line opening the array: `"features": [` ending a line (RFC 7946 §3.3).
_HEADER = re.compile(rb'"features"[ \t\r]*:[ \t\r]*\[[ \t\r]*\n')
_DIGITS = bytes.maketrans(b"123456789", b"000000000")
# What ijson is fed before the rest of the body, by state: after "[", after a feature and ",", after a
# feature without "," (the 0 is skipped). Its parser then stands exactly where it would in the real body.
_RESUME = (b'{"features":[', b'{"features":[0,', b'{"features":[0 ')


def _has_long_number(data: bytes) -> bool:
    """19 digits in a row: maybe an integer beyond int64, which yajl refuses and orjson turns into a float."""
    return b"0000000000000000000" in data.translate(_DIGITS)


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
        self.ended = False  # the end of the body was read
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

    def read(self, n: int = _READ) -> bytes:
        # ijson reads into a fixed buffer of n bytes: never return more than asked for.
        if not self._rest:
            if self.ended:
                return b""
            chunk = self.chunks.get()
            if self.stopped:
                raise _Stopped
            if chunk is None:
                self.ended = True
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

    def can_read(self) -> bool:
        """A full read cannot pass the per-feature cap (the line reader stops before `read` would raise)."""
        return self.offset + _READ - self.mark <= self.max_feature_bytes


class _Lines:
    """The body line by line, keeping the pieces read from the current line's start for a replay."""

    def __init__(self, body: _Body, piece: bytes, start: int) -> None:
        self.body = body
        self.pieces = [piece]  # as read from the body; pieces[0] holds the current line's start
        self.start = start  # the current line's start in pieces[0]
        self.next = start  # the next line's start in pieces[-1]
        self.end = body.offset  # end of the read holding the line's last byte (where ijson would set `mark`)
        self.long_number = False  # the line has 19 digits in a row (tested per piece read: cheaper)
        self._piece_long = _has_long_number(piece)

    def line(self) -> bytes | None:
        """The next line (without "\\n"); None at the end of the body or when it would pass the cap."""
        if len(self.pieces) > 1:
            del self.pieces[:-1]
        self.start = self.next
        first = self.pieces[0]
        nl = first.find(b"\n", self.start)
        if nl >= 0:  # the common case: the whole line is in the last read
            self.next, self.end = nl + 1, self.body.offset
            line = first[self.start : nl]
            self.long_number = self._piece_long and _has_long_number(line)
            return line
        parts = [first[self.start :]]
        while self.body.can_read():
            piece = self.body.read(_READ)
            if not piece:  # the end of the body: a last line without "\n", or nothing
                self.next = len(self.pieces[-1])
                return self._joined(parts) if any(parts) else None
            self.pieces.append(piece)
            self._piece_long = _has_long_number(piece)
            nl = piece.find(b"\n")
            parts.append(piece if nl < 0 else piece[:nl])
            if nl >= 0:
                self.next = nl + 1
                return self._joined(parts)
        return None  # longer than the cap lets us hold: ijson streams it (and raises PayloadTooLarge)

    def block(self) -> list[Any] | None:
        """The lines left in the last read up to its last one ending in ",", parsed in one call, or None.

        Called where a line would start: the lines are a run of whole values of the features array, each
        followed by "," (RFC 8259 §5), so the run parses as an array of exactly the values the lines hold,
        one line at a time or not. Anything else (no such line, a long number, a run that is not an array
        of values) is left to `line`. One parse per read instead of one per line: the per-line work of
        a million features was a second of the parser thread's time.
        """
        if len(self.pieces) > 1:
            del self.pieces[:-1]
        first = self.pieces[0]
        end = first.rfind(b",\n", self.next)
        if end < 0 or self._piece_long:
            return None
        try:
            values = orjson.loads(b"[" + first[self.next : end] + b"]")
        except orjson.JSONDecodeError:
            return None
        self.start = self.next = end + 2
        self.end = self.body.offset
        return values

    def _joined(self, parts: list[bytes]) -> bytes:
        # ijson yields a feature once it has parsed the read holding its "}": `end` is where that read ends.
        self.end = self.body.offset
        for part, piece in zip(reversed(parts), reversed(self.pieces), strict=True):
            if part.strip(_WS + b","):
                break
            self.end -= len(piece)
        line = b"".join(parts)
        self.long_number = _has_long_number(line)
        return line


class _Replay:
    """What ijson reads: a synthetic start, the pieces already read (the first from `first`), the body."""

    def __init__(self, body: _Body, start: bytes, pieces: list[bytes], first: int, skip: int) -> None:
        self.body = body
        self.skip = skip  # items of the synthetic start to drop
        self.pending: list[tuple[bytes, int]] = []  # (bytes, body offset at their end), last one first
        end = body.offset
        for piece in reversed(pieces):
            self.pending.append((piece, end))
            end -= len(piece)
        if self.pending:
            self.pending[-1] = (pieces[0][first:], self.pending[-1][1])
        self.offset = end + first  # body offset of the bytes handed to ijson: error messages name it
        self.pending.append((start, self.offset))

    def read(self, n: int = _READ) -> bytes:
        if n == 0:  # ijson checks the type of read(0)
            return b""
        while self.pending:
            data, self.offset = self.pending.pop()
            if 0 < n < len(data):
                self.pending.append((data[n:], self.offset))
                data, self.offset = data[:n], self.offset - (len(data) - n)
            if data:
                return data
        data = self.body.read(n)
        self.offset = self.body.offset
        return data


class _Batches:
    """Features in lists of BATCH, each handed over when the pipeline has a free slot (back-pressure)."""

    def __init__(self, body: _Body, emit: Callable[[Any], None], slots: threading.Semaphore) -> None:
        self.body, self.emit, self.slots = body, emit, slots
        self.batch: list[Any] = []
        self.count = 0  # features handed over

    def add(self, feature: Any) -> None:
        self.batch.append(feature)
        if len(self.batch) >= BATCH:
            self.count += len(self.batch)
            while not self.slots.acquire(timeout=0.5):
                if self.body.stopped:
                    raise _Stopped
            self.emit(self.batch)
            self.batch = []


def _parse(body: _Body, emit: Callable[[Any], None], slots: threading.Semaphore) -> None:
    """Thread: parse the whole body, emitting lists of features, then _END or the error."""
    out = _Batches(body, emit, slots)
    source = _Replay(body, b"", [], 0, 0)
    try:
        if FAST_LINES:
            source = _lines(body, out)
        items = ijson.items(source, "features.item", use_float=True)
        for feature in itertools.islice(items, source.skip, None):
            body.mark = source.offset
            out.add(feature)
        if out.count + len(out.batch) == 0:
            _require_feature_collection(body)
        emit(out.batch)
        emit(_END)
    except _Stopped:
        return
    except ijson.JSONError as exc:
        emit(_error(exc, source.offset, out.count + len(out.batch)))
    except Exception as exc:  # noqa: BLE001 (handed over to the request, which maps it)
        emit(exc)


def _lines(body: _Body, out: _Batches) -> _Replay:
    """Features one per line, parsed with orjson while the body is written so; ijson continues from there."""
    pieces, start = _header(body)
    if start < 0:
        return _Replay(body, b"", pieces, 0, 0)  # not recognised: ijson reads it all, from byte 0
    lines = _Lines(body, pieces[-1], start)
    state = 0  # an index into _RESUME
    while True:
        if state != 2 and (values := lines.block()):
            body.mark = lines.end
            for feature in values:
                out.add(feature)
            state = 1
            continue
        if (line := lines.line()) is None:
            break
        text = line.strip(_WS)
        if not text:
            continue
        # After a feature with no "," only "]" may follow; ijson checks that and what closes the document.
        if state == 2 or text[0] != 0x7B or lines.long_number:
            break
        comma = text[-1] == 0x2C  # "," (RFC 8259 §5: values in an array are separated by commas)
        try:
            feature = orjson.loads(text[:-1] if comma else text)
        except orjson.JSONDecodeError:  # not one whole feature, or an error ijson will name
            break
        body.mark = lines.end
        out.add(feature)
        state = 1 if comma else 2
    return _Replay(body, _RESUME[state], lines.pieces, lines.start, 1 if state else 0)


def _header(body: _Body) -> tuple[list[bytes], int]:
    """The pieces read up to the line opening the "features" array, and where the next line starts in the
    last one; -1 if the body does not start so (within _HEAD bytes) or the header is not exactly that."""
    pieces: list[bytes] = []
    data = bytearray()
    while len(data) <= _HEAD and body.can_read():
        piece = body.read(_READ)
        if not piece:
            break
        pieces.append(piece)
        line_start = data.rfind(b"\n") + 1
        data += piece
        if match := _HEADER.search(data, line_start):
            start = match.end() - (len(data) - len(piece))
            return pieces, start if _opens_features(bytes(data[: match.end()])) else -1
    return pieces, -1


def _opens_features(header: bytes) -> bool:
    """`header` + "]}" is a JSON object whose last member, and only "features", is "features": [].

    ijson, not orjson, checks it: a dict hides duplicate keys, which ijson would read features from."""
    try:
        members = list(ijson.kvitems(header + b"]}", "", use_float=True))
    except Exception:  # noqa: BLE001 (not JSON: ijson names the error when it reads the body)
        return False
    keys = [key for key, _ in members]
    return bool(members) and members[-1] == ("features", []) and keys.count("features") == 1


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
    # yajl's message quotes the text around the error (it depends on where reads start): keep the first line.
    # ijson leaves the message as bytes when that text is not UTF-8.
    message = exc.args[0] if exc.args else str(exc)
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    detail = str(message).splitlines()[0]
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
