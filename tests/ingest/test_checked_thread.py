"""`pipeline.checked`: batches checked in the upload's own thread come back in order, an error of the
reader after them, the thread never runs more than CHECKED_AHEAD batches ahead, and it ends when the consumer
stops."""

from __future__ import annotations

import asyncio
import threading

import pytest

from cityassets.catalogue import COLLECTIONS
from cityassets.errors import InvalidRequest
from cityassets.ingest import pipeline
from cityassets.ingest.properties import PropertyRules
from cityassets.ingest.report import Counts, IssueSink
from tests.ingest.helpers import manhole


def _batch(k: int, n: int = 3) -> list[dict]:
    return [manhole(113.75 + 0.001 * i, 34.75 + 0.001 * k) for i in range(n)]


class Reader:
    """Feature lists on demand; remembers how many were taken and whether it was closed."""

    def __init__(self, count: int, fail_after: int | None = None) -> None:
        self.count, self.fail_after = count, fail_after
        self.taken = 0
        self.closed = False

    async def __call__(self):
        try:
            for k in range(self.count):
                if k == self.fail_after:
                    raise InvalidRequest("malformed JSON at feature index 6")
                self.taken += 1
                yield _batch(k)
        finally:
            self.closed = True


def _checked(settings, reader: Reader):
    rules = PropertyRules(COLLECTIONS["manholes"], settings, frozenset({"WATER"}))
    counts = Counts()
    return pipeline.checked(reader(), rules, "CRS84", settings, IssueSink(), counts, None, None), counts


def _threads() -> int:
    return sum(t.name == "upload-checks" for t in threading.enumerate())


async def _until_no_thread() -> None:
    for _ in range(200):
        if not _threads():
            return
        await asyncio.sleep(0.01)


async def test_batches_in_order_then_the_readers_error(settings, monkeypatch):
    monkeypatch.setattr(pipeline, "BATCH", 3)
    reader = Reader(5, fail_after=2)
    gen, counts = _checked(settings, reader)
    got = []
    with pytest.raises(InvalidRequest, match="feature index 6"):
        async for staged in gen:
            got.append([row[0] for row in staged.rows])
    assert got == [[0, 1, 2], [3, 4, 5]] and counts.received == 6
    await _until_no_thread()
    assert _threads() == 0 and reader.closed


async def test_a_slow_consumer_holds_the_thread_back_and_stopping_ends_it(settings, monkeypatch):
    monkeypatch.setattr(pipeline, "BATCH", 3)
    reader = Reader(100)
    gen, _ = _checked(settings, reader)
    first = await anext(gen)
    assert [row[0] for row in first.rows] == [0, 1, 2]
    await asyncio.sleep(0.3)  # the thread checks ahead while the consumer does nothing
    # Taken: one. Ahead: checked and waiting for room, and read and waiting for the thread.
    assert reader.taken <= 1 + 2 * pipeline.CHECKED_AHEAD + 2
    await gen.aclose()
    await _until_no_thread()
    assert _threads() == 0 and reader.closed and reader.taken < 100
