"""Uploads merged segment by segment give the answers of one merge over the whole file.

Segments of two features make every cross-segment path run on a handful of features: duplicates
of an earlier segment, a refusal after earlier segments were written (atomic mode), codes
allocated after a later segment supplies one, dry runs, and near-duplicates among new features.
"""

from __future__ import annotations

import random

import pytest

from cityassets.ingest import pipeline
from cityassets.ingest import seen as seen_module
from cityassets.ingest.seen import SeenKeys
from tests.ingest.helpers import code, fc, manhole, spread, upload


@pytest.fixture(autouse=True)
def two_per_segment(monkeypatch):
    monkeypatch.setattr(pipeline, "SEGMENT", 2)


async def test_duplicate_in_a_later_segment_keeps_the_first(client, db, tokens):
    codes = [code() for _ in range(3)]
    pts = spread(5, 113.82, 34.77)
    feats = [manhole(x, y, c, depth_m=1.0) for (x, y), c in zip(pts, codes)]
    feats += [manhole(*pts[3], codes[0], depth_m=2.0), manhole(*pts[4], codes[2], depth_m=3.0)]
    r = await upload(client, fc(feats), tokens["surveyor"], mode="partial")
    assert r.status_code == 200, r.text
    c = r.json()["counts"]
    assert (c["inserted"], c["duplicated"], c["rejected"]) == (3, 2, 0)
    assert [(i["index"], i["rule"], i["code"]) for i in r.json()["issues"]] == [
        (3, "duplicate_in_file", codes[0]),
        (4, "duplicate_in_file", codes[2]),
    ]
    depths = await db.fetch("SELECT depth_m FROM manholes WHERE asset_code = ANY($1)", codes)
    assert [d["depth_m"] for d in depths] == [1.0, 1.0, 1.0]


async def test_atomic_refusal_in_the_last_segment_undoes_the_earlier_ones(client, db, tokens):
    codes = [code() for _ in range(4)]
    feats = [manhole(x, y, c) for (x, y), c in zip(spread(4, 113.83, 34.77), codes)]
    # The fifth feature's code names district 410102 but it lies in 410105: refused by the database.
    west = code(district="410102")
    feats.append(manhole(113.835, 34.775, west))
    history = await db.fetchval("SELECT count(*) FROM history")
    r = await upload(client, fc(feats), tokens["surveyor"])
    assert r.status_code == 422, r.text
    assert [(i["index"], i["rule"]) for i in r.json()["issues"]] == [(4, "district_mismatch")]
    assert r.json()["upload"]["counts"]["inserted"] == 0
    assert await db.fetchval("SELECT count(*) FROM manholes WHERE asset_code = ANY($1)", codes) == 0
    assert await db.fetchval("SELECT count(*) FROM history") == history
    stored = await client.get(f"/uploads/{r.json()['upload']['id']}")
    assert stored.json()["status"] == "rejected" and stored.json()["issues_total"] == 1


async def test_a_client_refusal_after_the_last_segment_still_refuses(client, db, tokens):
    codes = [code() for _ in range(2)]
    feats = [manhole(x, y, c) for (x, y), c in zip(spread(2, 113.84, 34.77), codes)]
    feats.append(manhole(113.845, 34.775, code(), owner="NOBODY"))  # refused while parsing
    r = await upload(client, fc(feats), tokens["surveyor"])
    assert r.status_code == 422, r.text
    assert await db.fetchval("SELECT count(*) FROM manholes WHERE asset_code = ANY($1)", codes) == 0


async def test_codes_are_allocated_after_a_later_segment_supplies_one(client, db, tokens):
    prefix = "4101050101"
    last = await db.fetchval("SELECT last_serial FROM asset_code_serials WHERE prefix = $1", prefix) or 0
    supplied = f"{prefix}{last + 1:06d}"  # what a per-segment allocation would hand the first feature
    pts = spread(4, 113.715, 34.715)
    feats = [manhole(*pts[0]), manhole(*pts[1]), manhole(*pts[2], supplied), manhole(*pts[3])]
    r = await upload(client, fc(feats), tokens["surveyor"])
    assert r.status_code == 200, r.text
    assert r.json()["counts"]["inserted"] == 4 and not r.json()["issues"]
    got = await db.fetch(
        "SELECT asset_code FROM manholes WHERE upload_id = $1 ORDER BY asset_code", r.json()["id"]
    )
    codes = [g["asset_code"] for g in got]
    assert len(set(codes)) == 4 and supplied in codes
    assert all(c > supplied for c in codes if c != supplied)


async def test_dry_run_over_segments_counts_and_writes_nothing(client, db, tokens):
    codes = [code() for _ in range(5)]
    feats = [manhole(x, y, c) for (x, y), c in zip(spread(5, 113.725, 34.715), codes)]
    r = await upload(client, fc(feats), tokens["surveyor"], dry_run=True)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "dry_run" and r.json()["counts"]["inserted"] == 5
    assert await db.fetchval("SELECT count(*) FROM manholes WHERE asset_code = ANY($1)", codes) == 0
    assert await db.fetchval("SELECT count(*) FROM history WHERE upload_id = $1", r.json()["id"]) == 0
    assert (await client.get(f"/uploads/{r.json()['id']}")).json()["status"] == "dry_run"


async def test_new_features_of_an_earlier_segment_are_not_existing_assets(client, db, tokens):
    assert await db.fetchval("SELECT count(*) FROM manholes WHERE retired_at IS NULL") > 0
    a, b = code(), code()
    # 0.5 m apart, in different segments: neither existed before the upload, so neither is flagged.
    feats = [manhole(113.735, 34.715, a), manhole(113.7351, 34.715, code()), manhole(113.735005, 34.715, b)]
    r = await upload(client, fc(feats), tokens["surveyor"])
    assert r.status_code == 200, r.text
    assert r.json()["counts"]["near_duplicates"] == 0 and r.json()["counts"]["inserted"] == 3


@pytest.mark.parametrize(("run", "prefixes"), [(64, 3), (1 << 20, 4294)])
def test_seen_keys_match_a_set(monkeypatch, run, prefixes):
    # 64: many capped runs, as a 5M-key file has; 3 prefixes: codes past the third go to the set.
    monkeypatch.setattr(seen_module, "RUN", run)
    monkeypatch.setattr(seen_module, "_PREFIXES", prefixes)
    rnd = random.Random(5)
    pool = [f"4101050{rnd.randrange(10):01d}{rnd.randrange(10**8):08d}" for _ in range(3000)]
    pool += ["CHIP-1", "CHIP-2", "0042", "410105010199999x", "4101050101000001"]
    pool.append("４１０１０５０１０１０００００１")  # full-width digits: another key than its ASCII twin
    seen, reference = SeenKeys(), set()
    for _ in range(40):
        keys = [rnd.choice(pool) if rnd.random() > 0.05 else None for _ in range(rnd.randint(0, 300))]
        expected = []
        for k in keys:
            expected.append(k is None or k not in reference)
            if k is not None:
                reference.add(k)
        assert seen.first(keys) == expected


async def test_a_change_of_fields_ends_a_segment(client, db, tokens, monkeypatch):
    """A batch checked down its columns stages only the fields it carries; a segment's rows share theirs, so
    a batch with other fields ends the segment early, and every value still lands where it belongs."""
    from cityassets.ingest import geojson

    monkeypatch.setattr(geojson, "BATCH", 1)
    monkeypatch.setattr(pipeline, "BATCH", 1)
    monkeypatch.setattr(pipeline, "SEGMENT", 3)
    copied: list[tuple[list[int], int]] = []
    copy = pipeline.Stream.copy

    async def spy(self, segment):
        copied.append(([row[0] for row in segment.rows], len(segment.fields)))
        await copy(self, segment)

    monkeypatch.setattr(pipeline.Stream, "copy", spy)
    named = [2, 6, 7]
    codes = [code() for _ in range(8)]
    feats = [
        manhole(x, y, c, **({"name": f"井{k}"} if k in named else {}))
        for k, ((x, y), c) in enumerate(zip(spread(8, 113.83, 34.71), codes))
    ]
    r = await upload(client, fc(feats), tokens["surveyor"])
    assert r.status_code == 200 and r.json()["counts"]["inserted"] == 8, r.text[:500]
    # Segments follow the file, hold at most three, and never mix the named features (one field more staged)
    # with the others: whatever the timing made of them.
    assert [k for ords, _ in copied for k in ords] == list(range(8))
    assert all(1 <= len(ords) <= 3 for ords, _ in copied)
    plain = min(n for _, n in copied)
    assert all(n == plain + (ords[0] in named) for ords, n in copied)
    assert all((k in named) == (ords[0] in named) for ords, _ in copied for k in ords)
    rows = await db.fetch("SELECT asset_code, name FROM manholes WHERE asset_code = ANY($1)", codes)
    names = {row["asset_code"]: row["name"] for row in rows}
    assert names == {c: (f"井{k}" if k in named else None) for k, c in enumerate(codes)}


async def test_quick_gil_handoff_while_an_upload_streams(client, tokens, monkeypatch):
    """The short switch interval holds while an upload streams, COPY and merge alike (nested uploads count),
    and the interpreter's own comes back after an upload, a refused one included."""
    import sys

    default = sys.getswitchinterval()
    with pipeline.quick_handoff():
        assert sys.getswitchinterval() == pipeline.SWITCH_S
        with pipeline.quick_handoff():
            pass
        assert sys.getswitchinterval() == pipeline.SWITCH_S  # another upload ended, not this one
    assert sys.getswitchinterval() == default

    seen: list[tuple[str, float]] = []
    copy, run = pipeline.Stream.copy, pipeline.Stream.run

    async def spy_copy(self, segment):
        seen.append(("copy", sys.getswitchinterval()))
        return await copy(self, segment)

    async def spy_run(self, statement, *args):
        seen.append(("run", sys.getswitchinterval()))
        return await run(self, statement, *args)

    monkeypatch.setattr(pipeline.Stream, "copy", spy_copy)
    monkeypatch.setattr(pipeline.Stream, "run", spy_run)
    pts = spread(3, 113.84, 34.72)
    feats = [manhole(*pts[0], code()), manhole(*pts[1], code())]
    feats.append(manhole(*pts[2], code(), utility_type="lava"))
    r = await upload(client, fc(feats), tokens["surveyor"])
    assert r.status_code == 422, r.text[:300]
    assert {kind for kind, _ in seen} == {"copy", "run"} and {s for _, s in seen} == {pipeline.SWITCH_S}
    assert sys.getswitchinterval() == default
