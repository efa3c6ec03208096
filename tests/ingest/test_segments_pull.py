"""`pipeline.segments`: each segment is what has been checked when the database asks (one batch at least,
`limit` rows at most, one set of fields), and the checks never run more than a segment ahead."""

from __future__ import annotations

import asyncio

import pytest

from cityassets.ingest.pipeline import Staged, release, release_soon, segments

A, B = (0, 1), (0, 1, 2)  # two sets of staged fields


def batch(fields: tuple[int, ...], start: int, n: int) -> Staged:
    return Staged(fields, [(k,) for k in range(start, start + n)])


class Batches:
    """Checked batches handed out one by one when the test says so; records how far ahead it ran."""

    def __init__(self, items: list[Staged]) -> None:
        self.items = items
        self.go = asyncio.Semaphore(0)
        self.handed = 0
        self.closed = False

    def release(self, n: int = 1) -> None:
        for _ in range(n):
            self.go.release()

    async def __call__(self):
        try:
            for item in self.items:
                await self.go.acquire()
                self.handed += 1
                yield item
        finally:
            self.closed = True


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_a_slow_database_gets_what_piled_up_a_fast_one_a_batch_at_a_time():
    src = Batches([batch(A, 0, 3), batch(A, 3, 3), batch(A, 6, 3), batch(A, 9, 3), batch(A, 12, 2)])
    segs = segments(src(), limit=7)
    src.release()
    first = await anext(segs)  # waits for the first batch only
    assert [r[0] for r in first.rows] == [0, 1, 2]
    src.release(3)  # three batches checked while the database worked on the first segment
    await settle()
    second = await anext(segs)
    assert [r[0] for r in second.rows] == [3, 4, 5, 6, 7, 8]  # two fit under the limit of 7
    third = await anext(segs)
    assert [r[0] for r in third.rows] == [9, 10, 11]
    src.release()
    fourth = await anext(segs)
    assert [r[0] for r in fourth.rows] == [12, 13]
    assert await anext(segs, None) is None and src.closed


async def test_fields_end_a_segment_and_a_big_batch_is_cut_at_the_limit():
    src = Batches([batch(A, 0, 2), batch(B, 2, 2), batch(B, 4, 9), batch(A, 13, 1)])
    src.release(4)
    await_all = [s async for s in segments(src(), limit=4)]
    assert [([r[0] for r in s.rows], s.fields) for s in await_all] == [
        ([0, 1], A),
        ([2, 3], B),  # the next batch of B would pass the limit whole: it is cut on its own
        ([4, 5, 6, 7], B),
        ([8, 9, 10, 11], B),
        ([12], B),
        ([13], A),
    ]


async def test_checks_run_at_most_a_segment_ahead():
    src = Batches([batch(A, 3 * k, 3) for k in range(10)])
    src.release(10)
    segs = segments(src(), limit=6)
    taken = len((await anext(segs)).rows)
    await settle()
    # Checked but not taken: up to the limit waiting, and the batch that waits for room.
    assert taken == 6 and 3 * src.handed - taken == 6 + 3
    await segs.aclose()
    assert src.closed


async def test_a_failure_of_the_checks_ends_the_segments_at_once():
    async def failing():
        yield batch(A, 0, 2)
        yield batch(A, 2, 2)
        raise ValueError("checks failed")

    segs = segments(failing(), limit=2)
    await anext(segs)
    await settle()  # the failure happens while a checked batch still waits
    with pytest.raises(ValueError, match="checks failed"):
        await anext(segs)


async def test_rows_are_freed_a_slice_at_a_time_while_the_loop_serves_others():
    items = [object() for _ in range(5000)]
    ticks = []

    async def other():
        for _ in range(10):
            ticks.append(len(items))
            await asyncio.sleep(0)

    await asyncio.gather(release_soon(items, piece=1000), other())
    assert items == [] and ticks[:3] == [4000, 3000, 2000]  # the other task ran between slices
    batch = [[k] for k in range(700)]
    release(batch, piece=256)
    assert batch == []
