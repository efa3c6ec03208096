"""Streamed GeoJSON uploads: insert, idempotent re-upload, update, atomic/partial, dry run, history."""

from __future__ import annotations

from tests.ingest.helpers import code, fc, manhole, spread, upload


async def test_insert_then_reupload_is_unchanged(client, db, tokens):
    codes = [code() for _ in range(50)]
    body = fc([manhole(x, y, c) for (x, y), c in zip(spread(50, 113.80), codes)])
    r = await upload(client, body, tokens["surveyor"])
    assert r.status_code == 200, r.text
    rep = r.json()
    assert rep["counts"] | {} == {
        **rep["counts"],
        "received": 50,
        "inserted": 50,
        "updated": 0,
        "rejected": 0,
    }
    assert rep["status"] == "committed"
    hist = await db.fetchval(
        "SELECT count(*) FROM history WHERE upload_id = $1 AND action = 'insert'", rep["id"]
    )
    assert hist == 50
    row = await db.fetchrow(
        "SELECT district_code, grid_code, version, upload_id, created_by, source_crs FROM manholes "
        "WHERE asset_code = $1",
        codes[0],
    )
    assert row["district_code"] == "410105" and row["version"] == 1 and row["upload_id"] == rep["id"]
    assert row["source_crs"] == "CRS84" and row["created_by"] == "test-surveyor"

    before = await db.fetchval("SELECT count(*) FROM history")
    again = await upload(client, body, tokens["surveyor"])
    assert again.status_code == 200, again.text
    c = again.json()["counts"]
    assert (c["inserted"], c["updated"], c["unchanged"]) == (0, 0, 50)
    assert await db.fetchval("SELECT count(*) FROM history") == before
    assert await db.fetchval("SELECT max(version) FROM manholes WHERE asset_code = ANY($1)", codes) == 1

    report = await client.get(f"/uploads/{rep['id']}")
    assert report.status_code == 200 and report.json()["counts"]["inserted"] == 50


async def test_update_changes_only_changed_rows(client, db, tokens):
    codes = [code() for _ in range(3)]
    pts = spread(3, 113.81)
    await upload(client, fc([manhole(x, y, c) for (x, y), c in zip(pts, codes)]), tokens["surveyor"])
    feats = [manhole(x, y, c) for (x, y), c in zip(pts, codes)]
    feats[1]["properties"]["depth_m"] = 2.5
    r = await upload(client, fc(feats), tokens["surveyor"])
    c = r.json()["counts"]
    assert (c["inserted"], c["updated"], c["unchanged"]) == (0, 1, 2)
    row = await db.fetchrow(
        "SELECT id, version, depth_m, upload_id FROM manholes WHERE asset_code = $1", codes[1]
    )
    assert row["version"] == 2 and row["depth_m"] == 2.5 and row["upload_id"] == r.json()["id"]
    h = await db.fetchrow(
        "SELECT action, upload_id, changes FROM history WHERE collection = 'manholes' AND "
        "feature_id = $1 AND version = 2",
        row["id"],
    )
    assert h["action"] == "update" and h["upload_id"] == r.json()["id"] and "depth_m" in h["changes"]


async def test_allocates_codes_when_absent(client, db, tokens):
    r = await upload(client, fc([manhole(x, y) for x, y in spread(5, 113.82)]), tokens["surveyor"])
    assert r.status_code == 200, r.text
    codes = await db.fetch("SELECT asset_code FROM manholes WHERE upload_id = $1", r.json()["id"])
    assert len(codes) == 5 and all(c["asset_code"].startswith("4101050101") for c in codes)
    assert len({c["asset_code"] for c in codes}) == 5


async def test_atomic_rejects_everything_partial_writes_valid(client, db, tokens):
    good, bad = code(), code()
    feats = [manhole(113.83, 34.76, good), manhole(113.8301, 34.76, bad, utility_type="lava")]
    r = await upload(client, fc(feats), tokens["surveyor"])
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["upload"]["counts"]["rejected"] == 1
    assert {(i["index"], i["field"], i["rule"]) for i in body["issues"]} == {(1, "utility_type", "enum")}
    assert body["issues"][0]["code"] == bad
    assert await db.fetchval("SELECT count(*) FROM manholes WHERE asset_code = ANY($1)", [good, bad]) == 0
    assert (await client.get(f"/uploads/{body['upload']['id']}")).json()["status"] == "rejected"

    r = await upload(client, fc(feats), tokens["surveyor"], mode="partial")
    assert r.status_code == 200, r.text
    assert r.json()["counts"]["inserted"] == 1 and r.json()["counts"]["rejected"] == 1
    assert await db.fetchval("SELECT count(*) FROM manholes WHERE asset_code = ANY($1)", [good, bad]) == 1


async def test_dry_run_writes_nothing(client, db, tokens):
    c = code()
    serials = await db.fetchval("SELECT count(*) FROM asset_code_serials")
    r = await upload(
        client, fc([manhole(113.84, 34.76, c), manhole(113.8401, 34.76)]), tokens["surveyor"], dry_run=True
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "dry_run" and r.json()["counts"]["inserted"] == 2
    assert await db.fetchval("SELECT count(*) FROM manholes WHERE asset_code = $1", c) == 0
    assert await db.fetchval("SELECT count(*) FROM history WHERE upload_id = $1", r.json()["id"]) == 0
    assert await db.fetchval("SELECT count(*) FROM asset_code_serials") == serials


async def test_empty_collection(client, tokens):
    r = await upload(client, fc([]), tokens["surveyor"])
    assert r.status_code == 200, r.text
    assert r.json()["counts"]["received"] == 0 and r.json()["status"] == "committed"
