"""Segments of a first load go in through one filtered INSERT each (`pipeline.FirstLoad`), and answer as the
regular path (`chk`, probes, issue pass) does: the same rows, the same report, the same refusals.

On the module's own database (`scratch`): the collection is emptied before every upload.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from cityassets.auth.tokens import create_token
from cityassets.ingest import pipeline
from tests.ingest.helpers import fc, manhole, spread, upload

_serials = itertools.count(1)
# Every column the upload writes or derives; ids, timestamps and the upload id differ between two runs.
ROW_SQL = (
    "SELECT to_jsonb(m) - 'id' - 'created_at' - 'updated_at' - 'upload_id' AS row FROM manholes m "
    "ORDER BY asset_code"
)


def code(district: str = "410105") -> str:
    return f"{district}0101{next(_serials):06d}"


def mixed() -> list[dict[str, Any]]:
    """Eleven manholes: clean ones, and one breaking each rule the database checks."""
    pts = spread(11)
    feats = [manhole(x, y, code(), depth_m=1.5 + k / 10) for k, (x, y) in enumerate(pts[:8])]
    # The file's district is not the position's.
    feats.insert(2, manhole(*pts[8], code(), district_code="410102"))
    # The code names another district than the position's.
    feats.insert(5, manhole(*pts[9], code("410102")))
    # Inside the city's extent, outside every district of this database.
    feats.append(manhole(113.60, 34.60, code()))
    return feats


@pytest.fixture
def segments_of_four(monkeypatch):
    monkeypatch.setattr(pipeline, "SEGMENT", 4)


@pytest.fixture
def fast_path(monkeypatch) -> dict[str, int]:
    """Count the segments `FirstLoad` took in."""
    taken = {"segments": 0, "tried": 0}
    merge = pipeline.FirstLoad.merge

    async def counting(self, st, staged, args):
        taken["tried"] += 1
        done = await merge(self, st, staged, args)
        taken["segments"] += done
        return done

    monkeypatch.setattr(pipeline.FirstLoad, "merge", counting)
    return taken


async def _empty(scratch: dict) -> None:
    async with scratch["pool"].acquire() as conn:
        await conn.execute("TRUNCATE manholes, history RESTART IDENTITY CASCADE")


async def _state(scratch: dict) -> tuple[list[Any], int]:
    async with scratch["pool"].acquire() as conn:
        rows = [r["row"] for r in await conn.fetch(ROW_SQL)]
        history = await conn.fetchval(
            "SELECT count(*) FROM history h JOIN manholes m ON m.id = h.feature_id "
            "WHERE h.collection = 'manholes' AND h.version = 1 AND h.action = 'insert' AND h.upload_id = m.upload_id"
        )
    return rows, history


def _report(body: dict) -> tuple[dict, list]:
    """Counts and issues of a report (200) or of a refusal (422, the report under "upload")."""
    counts = {k: v for k, v in body.get("upload", body)["counts"].items() if k != "seconds"}
    issues = sorted((i["index"], i.get("code"), i.get("field"), i["rule"], i["message"]) for i in body["issues"])
    return counts, issues


async def _both_ways(scratch: dict, monkeypatch, taken: dict, body: bytes, token: str, **params) -> list:
    """Upload `body` into the empty collection twice: through `FirstLoad`, then through the regular path."""
    out = []
    for first_load in (True, False):
        await _empty(scratch)
        before = taken["segments"]
        with monkeypatch.context() as patch:
            if not first_load:
                patch.setattr(pipeline.FirstLoad, "takes", lambda self, segment: False)
            r = await upload(scratch["client"], body, token, **params)
        assert (taken["segments"] > before) is first_load
        out.append((r.status_code, _report(r.json()), await _state(scratch)))
    return out


async def test_clean_file_as_the_regular_path(scratch, monkeypatch, segments_of_four, fast_path):
    feats = [manhole(x, y, code(), depth_m=2.0) for x, y in spread(10)]
    fast, regular = await _both_ways(scratch, monkeypatch, fast_path, fc(feats), scratch["token"])
    assert fast == regular
    status, (counts, issues), (rows, history) = fast
    assert status == 200 and counts["inserted"] == 10 and not issues
    assert len(rows) == 10 and history == 10
    # Derived from the position, as every write path derives them.
    assert {r["district_code"] for r in rows} == {"410105"}
    assert all(r["version"] == 1 and r["source_crs"] == "CRS84" for r in rows)


async def test_partial_refusals_as_the_regular_path(scratch, monkeypatch, segments_of_four, fast_path):
    body = fc(mixed())
    fast, regular = await _both_ways(scratch, monkeypatch, fast_path, body, scratch["token"], mode="partial")
    assert fast == regular
    status, (counts, issues), (rows, history) = fast
    assert status == 200 and counts["inserted"] == 8 and counts["rejected"] == 3
    assert {(i[0], i[3]) for i in issues} == {(2, "district_mismatch"), (5, "district_mismatch"), (10, "district")}
    assert len(rows) == 8 and history == 8


async def test_atomic_refusal_writes_nothing(scratch, monkeypatch, segments_of_four, fast_path):
    fast, regular = await _both_ways(scratch, monkeypatch, fast_path, fc(mixed()), scratch["token"])
    assert fast == regular
    status, (counts, issues), (rows, history) = fast
    assert status == 422 and counts["inserted"] == 0 and {i[0] for i in issues} == {2, 5, 10}
    assert rows == [] and history == 0


async def test_scoped_surveyor_as_the_regular_path(scratch, monkeypatch, segments_of_four, fast_path):
    async with scratch["pool"].acquire() as conn:
        token = await create_token(conn, "surveyor", owner="WATER", label="water crew")
    feats = [manhole(x, y, code()) for x, y in spread(6)]
    feats[4]["properties"].update(owner="GAS", utility_type="gas")
    fast, regular = await _both_ways(scratch, monkeypatch, fast_path, fc(feats), token, mode="partial")
    assert fast == regular
    _, (counts, issues), (rows, _) = fast
    assert counts["inserted"] == 5 and [(i[0], i[2], i[3]) for i in issues] == [(4, "owner", "scope")]
    assert {r["owner"] for r in rows} == {"WATER"}

    # A crew of another district: every feature here is outside its scope.
    async with scratch["pool"].acquire() as conn:
        token = await create_token(conn, "surveyor", districts=["410102"], label="west crew")
    feats = [manhole(x, y, code()) for x, y in spread(6)]
    fast, regular = await _both_ways(scratch, monkeypatch, fast_path, fc(feats), token, mode="partial")
    assert fast == regular
    _, (counts, issues), (rows, _) = fast
    assert counts["inserted"] == 0 and rows == [] and {(i[2], i[3]) for i in issues} == {("district_code", "scope")}


async def test_features_without_a_code_get_one_at_the_end(scratch, segments_of_four, fast_path):
    await _empty(scratch)
    pts = spread(12)
    given = [code() for _ in range(8)]
    # Two segments wholly coded (first-load inserts), one with codes missing (allocated at the end).
    feats = [manhole(x, y, c) for (x, y), c in zip(pts[:8], given)] + [manhole(x, y) for x, y in pts[8:]]
    r = await upload(scratch["client"], fc(feats), scratch["token"])
    assert r.status_code == 200 and r.json()["counts"]["inserted"] == 12, r.text[:500]
    assert fast_path["segments"] == 2
    rows, history = await _state(scratch)
    allocated = sorted(r["asset_code"] for r in rows if r["asset_code"] not in given)
    assert len(allocated) == 4 and history == 12
    # Allocated after every code the file gave for the same prefix.
    assert all(a > max(given) for a in allocated)


async def test_a_code_written_meanwhile_refuses_the_upload(scratch, settings, fast_path):
    """A record another writer commits mid-load with a code of the file meets the unique index: 409, and
    the load writes nothing (the regular path would wait and fail the same way)."""
    await _empty(scratch)
    feats = [manhole(x, y, code()) for x, y in spread(40)]
    taken = feats[30]["properties"]["asset_code"]
    whole = fc(feats)
    cut = whole.index(b',{"type":"Feature"', len(whole) // 4) + 1

    async def body() -> AsyncIterator[bytes]:
        yield whole[:cut]
        conn: asyncpg.Connection
        async with scratch["pool"].acquire() as conn:
            for _ in range(100):  # until the upload is in its transaction, waiting for the rest
                await asyncio.sleep(0.05)
                if await conn.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND state = 'idle in transaction'"
                ):
                    break
            await conn.execute(
                "INSERT INTO manholes (asset_code, district_code, utility_type, owner, geom) "
                "VALUES ($1, '410105', 'water_supply', 'WATER', ST_Transform(ST_SetSRID(ST_MakePoint(113.8, 34.8), "
                "4326), $2::int))",
                taken,
                settings.storage_srid,
            )
        yield whole[cut:]

    r = await upload(scratch["client"], body(), scratch["token"])
    assert r.status_code == 409, r.text[:500]
    assert taken in r.json()["detail"] and "nothing was written" in r.json()["detail"]
    assert fast_path["tried"] == 1  # the file is one segment (SEGMENT is 16,384), merged at the end
    rows, _ = await _state(scratch)
    assert [row["asset_code"] for row in rows] == [taken]
