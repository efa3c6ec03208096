"""The GeoJSON reader's one-feature-per-line fast path: same features, errors and limits as ijson alone."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from cityassets.errors import InvalidRequest, PayloadTooLarge
from cityassets.ingest import geojson

CAP = 1 << 20
STEPS = (7, 1000, 1 << 20)  # chunk sizes: awkward splits, small reads, the whole body at once


def feature(i: int, **props: Any) -> dict[str, Any]:
    """A point feature with a few kinds of values (strings with commas and brackets, floats, null)."""
    p = {"i": i, "name": f"n{i}, [x]", "depth_m": 1.25 + i, "ok": i % 2 == 0, "note": None, **props}
    geometry = {"type": "Point", "coordinates": [113.75 + i * 1e-4, 34.76 - i * 1e-5]}
    return {"type": "Feature", "properties": p, "geometry": geometry}


def lines(features: list[dict[str, Any]]) -> bytes:
    """One feature per line, as GDAL and our exports write them."""
    return b'{"type":"FeatureCollection","features":[\n' + b",\n".join(map(orjson.dumps, features)) + b"\n]}"


GDAL_HEAD = (
    b'{\n"type": "FeatureCollection",\n"name": "manholes",\n"crs": { "type": "name", "properties": '
    b'{ "name": "urn:ogc:def:crs:OGC:1.3:CRS84" } },\n"features": [\n'
)


async def _chunks(body: bytes, step: int) -> AsyncIterator[bytes]:
    for i in range(0, len(body), step):
        yield body[i : i + step]


class Takeover:
    """Records where ijson took over from the line reader (the body offset it starts reading at)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.offsets: list[int] = []
        record = self.offsets

        class Spy(geojson._Replay):
            def __init__(self, *args: Any) -> None:
                super().__init__(*args)
                record.append(self.offset)

        monkeypatch.setattr(geojson, "_Replay", Spy)

    @property
    def at(self) -> int:
        return self.offsets[-1]


async def parse(body: bytes, step: int = 7, cap: int = CAP, fast: bool = True) -> list[Any] | Exception:
    """All features, or the exception the reader raised."""
    saved, geojson.FAST_LINES = geojson.FAST_LINES, fast
    try:
        return [f async for batch in geojson.features(_chunks(body, step), cap) for f in batch]
    except Exception as exc:  # noqa: BLE001 (compared with the other path)
        return exc
    finally:
        geojson.FAST_LINES = saved


def same(a: list[Any] | Exception, b: list[Any] | Exception) -> bool:
    """Equal features (repr: float signs and int/float kinds count), or the same error, message and extra."""
    if isinstance(a, Exception) or isinstance(b, Exception):
        extra = getattr(a, "extra", None) == getattr(b, "extra", None)
        return type(a) is type(b) and str(a) == str(b) and extra
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(10_000)  # a feature nested deeper than orjson allows
    try:
        return repr(a) == repr(b)
    finally:
        sys.setrecursionlimit(limit)


async def both(body: bytes, cap: int = CAP, steps: tuple[int, ...] = STEPS) -> list[Any] | Exception:
    """The fast path's result for each chunking, checked against ijson alone; returns the last one."""
    for step in steps:
        slow, fast = await parse(body, step, cap, fast=False), await parse(body, step, cap)
        assert same(fast, slow), (step, fast, slow)
    return fast


async def test_one_feature_per_line(monkeypatch):
    feats = [feature(i) for i in range(geojson.BATCH + 100)]  # more than one batch
    body = lines(feats)
    spy = Takeover(monkeypatch)
    for step in (97, 65_536, 1 << 20):
        assert repr(await parse(body, step)) == repr(orjson.loads(body)["features"])
        assert spy.at == body.rindex(b"]")  # orjson read every feature; ijson only the end
    assert repr(await both(lines(feats[:200]))) == repr(feats[:200])


async def test_runs_of_lines_parsed_at_once_match_ijson(monkeypatch):
    """Lines a read holds whole are parsed in one call (`_Lines.block`): odd ones in the run (two features on
    a line, a pretty-printed feature, a value that is no feature, blank and indented lines) give what ijson
    gives, and a run that is not an array of values (a line without its comma) goes line by line."""
    feats = [feature(i) for i in range(40)]
    one = [orjson.dumps(f) for f in feats]
    odd = one[:5] + [one[5] + b", " + one[6], orjson.dumps(feats[7], option=orjson.OPT_INDENT_2), b"12.5"]
    odd += [b"\n    " + x for x in one[8:20]]
    head = b'{"type":"FeatureCollection","features":[\n'
    body = head + b",\n".join(odd) + b",\n" + b",\n".join(one[20:]) + b"\n]}"
    spy = Takeover(monkeypatch)
    assert repr(await both(body)) == repr(feats[:8] + [12.5] + feats[8:])
    assert spy.at == body.rindex(b"]")  # the one read of 1 << 20: every line went in runs
    missing = lines(feats).replace(one[30] + b",\n", one[30] + b"\n")
    assert isinstance(await both(missing), Exception)


async def test_gdal_header_crlf_and_blank_lines(monkeypatch):
    feats = [feature(i) for i in range(50)]
    text = b",\r\n".join(orjson.dumps(f, option=orjson.OPT_INDENT_2).replace(b"\n", b"") for f in feats)
    body = GDAL_HEAD + b"\r\n" + text + b"\r\n\r\n]\r\n}\r\n"
    spy = Takeover(monkeypatch)
    assert repr(await both(body)) == repr(feats)
    assert spy.at == body.rindex(b"]")


async def test_pretty_printed_falls_back(monkeypatch):
    feats = [feature(i) for i in range(20)]
    body = orjson.dumps({"type": "FeatureCollection", "features": feats}, option=orjson.OPT_INDENT_2)
    spy = Takeover(monkeypatch)
    assert repr(await both(body)) == repr(feats)
    assert spy.at == body.index(b"[\n") + 2  # the first feature is not on one line: ijson reads from there


async def test_mixed_lines_then_multiline_feature(monkeypatch):
    feats = [feature(i) for i in range(30)]
    pretty = orjson.dumps(feats[10], option=orjson.OPT_INDENT_2)
    body = lines(feats).replace(orjson.dumps(feats[10]), pretty)
    spy = Takeover(monkeypatch)
    assert repr(await both(body)) == repr(feats)
    # Not before the line that starts the pretty feature (when a read holds it whole, the run of lines
    # parsed at once takes it in too); nothing emitted twice.
    assert spy.at >= body.index(pretty)


async def test_lines_ijson_cannot_tell_apart():
    """Lines orjson would read differently from yajl, or refuse, go to ijson: same result either way."""
    feats = [feature(i) for i in range(5)]
    for odd in (
        b'{"type":"Feature","properties":{"big":12345678901234567890123},"geometry":null}',  # orjson: a float
        b'{"type":"Feature","properties":{"big":18446744073709551615},"geometry":null}',  # orjson: an int
        b'{"type":"Feature","properties":{"big":-9223372036854775809},"geometry":null}',
        b'{"type":"Feature","properties":{"id":"1234567890123456789012"},"geometry":null}',  # fine either way
        b'{"type":"Feature","properties":{"tiny":1e-400,"neg0":-0.0,"e":1E2},"geometry":null}',
        b'{"type":"Feature","properties":{"s":"\\ud800"},"geometry":null}',  # lone surrogate
        b'{"type":"Feature","properties":{"s":"\xff"},"geometry":null}',  # not UTF-8
        b'{"\xff":1}',  # not UTF-8, near the line's start
        b'{"type":"Feature","properties":{"a":1,"a":2},"geometry":null}',  # duplicate keys
        b'{"type":"Feature","properties":' + b"[" * 1030 + b"]" * 1030 + b',"geometry":null}',  # deep
        b'{"type":"Feature","properties":{},"geometry":null}\x0c',  # form feed: whitespace to yajl only
        b'{"type":"Feature","properties":{},"geometry":null}, {"type":"Feature","properties":{}}',  # two
        b"null",
    ):
        body = lines(feats).replace(orjson.dumps(feats[2]), odd)
        await both(body, steps=(7, 1 << 20))


async def test_trailing_members_after_the_array():
    feats = [feature(i) for i in range(5)]
    for tail in (b'], "bbox": [1, 2, 3, 4]}', b']\n,\n"name": "x"\n}\n', b"]}   \n\n", b"]}"):
        body = lines(feats)[:-2] + tail
        assert repr(await both(body)) == repr(feats)
    for tail in (b"]}x", b"]}}", b"] }\n,", b"]\n"):  # only whitespace after the document (RFC 8259 §2)
        assert isinstance(await both(lines(feats)[:-2] + tail), InvalidRequest), tail


async def test_empty_collections():
    for body in (
        b'{"type":"FeatureCollection","features":[\n]}',
        b'{"type":"FeatureCollection","features":[]}',
        b'{"type":"FeatureCollection","features":[\n\n]\n}\n',
        GDAL_HEAD + b"]\n}\n",
    ):
        assert await both(body, steps=(1, 7, 1 << 20)) == [], body


async def test_not_a_feature_collection():
    for body in (
        b"",
        b" \n\n ",
        b"[]",
        b'{"type":"FeatureCollection"}',
        orjson.dumps(feature(1)),
        b'{"type":"Feature","features":[\n]}',
        b'{"a": {"features": [\n]}}',
    ):
        err = await both(body)
        assert isinstance(err, InvalidRequest), body
        assert "FeatureCollection" in str(err) or "truncated" in str(err) and not body.strip(), body


async def test_header_tricks_fall_back(monkeypatch):
    """Only a header ending in the root's one "features" member is taken; else ijson reads it all."""
    first, rest = orjson.dumps(feature(0)), lines([feature(i) for i in range(1, 5)]).split(b"\n", 1)[1]
    spy = Takeover(monkeypatch)
    for head in (
        b'{"a": {"features": [\n',  # not the root's
        b'{"features":[' + first + b'],"features": [\n',  # duplicate: ijson reads both arrays
        b'{"feat\\u0075res":[' + first + b'],"features": [\n',  # the same key, escaped
        b'{"b": 1, "features": [], "b": [\n',  # a dict would show "features" last
        b'{"type": "FeatureCollection", "features": [\n',  # fine
    ):
        await both(head + rest)
        assert spy.at == (len(head) + rest.rindex(b"]") if head.startswith(b'{"type"') else 0), head


async def test_comma_errors_match_ijson():
    feats = [feature(i) for i in range(8)]
    body = lines(feats)
    trailing = body.replace(b"\n]}", b",\n]}")
    err = await both(trailing)
    assert isinstance(err, InvalidRequest) and err.extra["feature_index"] == 8
    missing = body.replace(b"},\n", b"}\n", 1)  # feature 0 is not followed by a comma
    err = await both(missing)
    assert isinstance(err, InvalidRequest) and err.extra["feature_index"] == 1
    assert err.extra["byte_offset"] >= missing.index(orjson.dumps(feats[1]))


async def test_malformed_line_in_the_middle():
    k = 4 * geojson.BATCH + 404  # a few batches in
    feats = [feature(i) for i in range(k + 600)]
    body = lines(feats)
    at = body.index(orjson.dumps(feats[k]))
    broken = body[:at] + b"{,," + body[at + 1 :]
    for step in (97, 4093, 1 << 20):
        fast, slow = await parse(broken, step), await parse(broken, step, fast=False)
        assert isinstance(fast, InvalidRequest) and same(fast, slow), (step, fast, slow)
        assert fast.extra["feature_index"] == k
        assert at < fast.extra["byte_offset"] <= at + 65_536
        assert f"byte offset {fast.extra['byte_offset']:,}" in str(fast) and f"index {k}" in str(fast)


async def test_truncated():
    body = lines([feature(i) for i in range(20)])
    cut_line = body.index(orjson.dumps(feature(10))) + 30
    cut_after = body.index(orjson.dumps(feature(11)))  # just after "...},\n"
    for end in (cut_line, cut_after, cut_after - 2, len(body) - 3, len(body) - 2, len(body) - 1):
        err = await both(body[:end])
        assert isinstance(err, InvalidRequest) and "truncated" in str(err), end
        assert err.extra["byte_offset"] == end


async def test_nan_infinity_in_a_line():
    for token in (b"NaN", b"Infinity", b"-Infinity", b"1e400"):
        body = lines([feature(i) for i in range(5)]).replace(b'"depth_m":4.25', b'"depth_m":' + token)
        err = await both(body)
        assert isinstance(err, InvalidRequest) and err.extra["feature_index"] == 3, token


async def test_huge_line_is_refused_without_buffering_it(monkeypatch):
    cap = 100_000
    huge = feature(1, remarks="x" * 400_000)
    body = lines([feature(0), huge, feature(2)])
    held: list[int] = []

    class Spy(geojson._Replay):
        def __init__(self, body, start, pieces, first, skip) -> None:
            held.append(sum(map(len, pieces)) - first)
            super().__init__(body, start, pieces, first, skip)

    monkeypatch.setattr(geojson, "_Replay", Spy)
    for step in (997, 16_384, 1 << 20):
        held.clear()
        assert isinstance(await parse(body, step, cap), PayloadTooLarge)
        assert held[-1] <= cap + 65_536  # the line reader gave up at the cap (plus one read); ijson raised
    await both(body, cap, steps=(997, 1 << 20))


async def test_one_line_document_over_the_cap_is_fine():
    """A whole collection on one line: many small features, not one huge one (no 413)."""
    feats = [feature(i) for i in range(1000)]
    body = orjson.dumps({"type": "FeatureCollection", "features": feats})
    assert len(body) > 100_000
    assert repr(await both(body, cap=100_000, steps=(997, 1 << 20))) == repr(feats)


async def test_cap_near_the_feature_size_matches_ijson():
    """Where the per-feature cap bites depends on reads; the fast path tracks ijson's mark exactly."""
    feats = [feature(i, blob="y" * (1000 + (i * 7919) % 30_000)) for i in range(40)]
    body = lines(feats)
    for cap in range(20_000, 140_000, 7_000):
        await both(body, cap=cap, steps=(997, 4093, 1 << 20))


async def test_marks_match_ijson(monkeypatch):
    """`mark` (the offset the per-feature cap counts from) takes the same values on both paths."""
    bodies: list[Any] = []

    class Spy(geojson._Body):
        @property
        def mark(self) -> int:
            return self.marks[-1]

        @mark.setter
        def mark(self, value: int) -> None:
            if not hasattr(self, "marks"):
                self.marks: list[int] = []
                bodies.append(self)
            self.marks.append(value)

    monkeypatch.setattr(geojson, "_Body", Spy)
    feats = [feature(i, blob="z" * ((i * 7919) % 20_000)) for i in range(30)]
    body = lines(feats)
    for step in (13, 1000, 65_535, 1 << 20):
        bodies.clear()
        assert same(await parse(body, step, fast=False), await parse(body, step))
        slow, fast = bodies
        # A run of lines parsed at once sets `mark` once, to the value ijson gives each of its features.
        assert _runs(fast.marks) == _runs(slow.marks) and len(slow.marks) == 31, step


def _runs(marks: list[int]) -> list[int]:
    """The values in order, each repeat of the one before dropped."""
    return [m for k, m in enumerate(marks) if k == 0 or m != marks[k - 1]]


async def test_consumer_going_away_stops_the_parser():
    body = lines([feature(i) for i in range(3 * geojson.BATCH)])
    batches = geojson.features(_chunks(body, 1 << 20), CAP)
    assert len(await anext(batches)) == geojson.BATCH
    await batches.aclose()
    for _ in range(100):
        if not any(t.name == "geojson-parser" for t in threading.enumerate()):
            break
        await asyncio.sleep(0.05)
    assert not any(t.name == "geojson-parser" for t in threading.enumerate())
