"""The two connection lanes: a long bulk request never holds the slot map clients' reads queue for."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from cityassets.db.pool import FifoGate, lanes
from cityassets.settings import Settings


@pytest.mark.parametrize(("slots", "pool", "expected"), [(1, 10, (1, 9)), (3, 10, (3, 7)), (5, 2, (1, 1))])
def test_lane_sizes_split_the_pool(slots: int, pool: int, expected: tuple[int, int]) -> None:
    interactive, bulk = lanes(Settings(interactive_slots=slots, pool_max_size=pool))
    assert (interactive._free, bulk._free) == expected


async def test_gate_admits_in_arrival_order() -> None:
    gate, order = FifoGate(1), []

    async def holder(i: int) -> None:
        async with gate:
            order.append(i)
            await asyncio.sleep(0)

    await asyncio.gather(*(holder(i) for i in range(20)))
    assert order == list(range(20))


@asynccontextmanager
async def _all_slots_of(gate: FifoGate) -> AsyncIterator[None]:
    held = gate._free
    for _ in range(held):
        await gate.__aenter__()
    try:
        yield
    finally:
        for _ in range(held):
            await gate.__aexit__(None, None, None)


async def test_reads_pass_while_the_bulk_lane_is_full(app, client, city) -> None:
    async with _all_slots_of(app.state.bulk_gate):
        r = await asyncio.wait_for(client.get("/collections/manholes/items?limit=1"), timeout=10)
        assert r.status_code == 200
        # ...while a bulk request (an indicator) waits for the lane rather than taking a read slot.
        waiting = asyncio.create_task(client.get("/indicators/toilet_density"))
        await asyncio.sleep(0.2)
        assert not waiting.done()
    assert (await asyncio.wait_for(waiting, timeout=60)).status_code == 200


async def test_bulk_requests_pass_while_the_interactive_lane_is_full(app, client, city) -> None:
    async with _all_slots_of(app.state.gate):
        r = await asyncio.wait_for(client.get("/indicators/toilet_density"), timeout=60)
        assert r.status_code == 200, r.text
