"""Malformed, truncated and oversized bodies; NaN/Infinity; gzip and gzip bombs; per-feature limits."""

from __future__ import annotations

import gzip

import orjson

from tests.ingest.helpers import fc, manhole, upload


async def test_malformed_json_names_offset_and_feature(client, tokens):
    body = fc([manhole(113.75, 34.76), manhole(113.7501, 34.76)])
    second = body.rindex(b'{"type":"Feature"')
    broken = body[:second] + b"{,," + body[second + 1 :]
    r = await upload(client, broken, tokens["surveyor"])
    assert r.status_code == 400, r.text
    err = r.json()
    assert err["feature_index"] == 1 and "byte offset" in err["description"] and err["byte_offset"] >= 0


async def test_not_a_feature_collection(client, tokens):
    single = orjson.dumps(manhole(113.75, 34.76))
    for body in (single, b"[]", b'{"type":"FeatureCollection"}'):
        r = await upload(client, body, tokens["surveyor"])
        assert r.status_code == 400 and "FeatureCollection" in r.json()["description"], body


async def test_truncated_body(client, tokens):
    body = fc([manhole(113.75, 34.76), manhole(113.7501, 34.76)])
    r = await upload(client, body[: len(body) // 2 + 10], tokens["surveyor"])
    assert r.status_code == 400 and "truncated" in r.json()["description"]


async def test_nan_and_infinity_are_refused(client, db, tokens):
    for token in (b"NaN", b"Infinity", b"1e400"):
        body = fc([manhole(113.75, 34.76, depth_m=1.5)]).replace(b"1.5", token)
        r = await upload(client, body, tokens["surveyor"])
        assert r.status_code == 400, (token, r.text)


async def test_body_limit(client, tokens, settings, monkeypatch):
    monkeypatch.setattr(settings, "max_body_bytes", 1000)
    r = await upload(client, fc([manhole(113.75, 34.76 + i * 1e-4) for i in range(20)]), tokens["surveyor"])
    assert r.status_code == 413


async def test_gzip_body_and_bomb(client, tokens, settings, monkeypatch):
    r = await upload(
        client,
        gzip.compress(fc([manhole(113.751, 34.761)])),
        tokens["surveyor"],
        headers={"Content-Encoding": "gzip"},
        dry_run=True,
    )
    assert r.status_code == 200, r.text
    monkeypatch.setattr(settings, "max_decompressed_bytes", 1 << 20)
    # 64 MiB of spaces inside a valid document compress to ~64 KiB: refused after 1 MiB of output.
    bomb = gzip.compress(b'{"type":"FeatureCollection","features":[' + b" " * (64 << 20) + b"]}", 9)
    r = await upload(client, bomb, tokens["surveyor"], headers={"Content-Encoding": "gzip"})
    assert r.status_code == 413 and "decompressed" in r.json()["description"]
    r = await upload(client, b"\x1f\x8b garbage", tokens["surveyor"], headers={"Content-Encoding": "gzip"})
    assert r.status_code == 400


async def test_unsupported_media_and_encoding(client, tokens):
    assert (await upload(client, b"x", tokens["surveyor"], content_type="application/pdf")).status_code == 415
    r = await upload(client, fc([]), tokens["surveyor"], headers={"Content-Encoding": "br"})
    assert r.status_code == 415


async def test_per_feature_limits(client, tokens, settings, monkeypatch):
    monkeypatch.setattr(settings, "max_properties", 5)
    monkeypatch.setattr(settings, "max_property_bytes", 100)
    monkeypatch.setattr(settings, "max_vertices", 10)
    monkeypatch.setattr(settings, "max_json_depth", 4)
    deep = {"a": {"b": {"c": {"d": {"e": 1}}}}}
    ring = [[113.75 + 0.001 * i, 34.76 + 0.001 * (i % 2)] for i in range(11)] + [[113.75, 34.76]]
    feats = [
        manhole(113.75, 34.76, remarks="x" * 200),
        manhole(113.75, 34.76, a=1, b=2, c=3, d=4),
        manhole(113.75, 34.76, external_ids=deep),
    ]
    r = await upload(client, fc(feats), tokens["surveyor"])
    assert r.status_code == 422
    assert {(i["index"], i["rule"]) for i in r.json()["issues"]} == {
        (0, "max_property_bytes"),
        (1, "max_properties"),
        (2, "depth"),
    }
    park = {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {"green_class": "G11"},
    }
    r = await upload(client, fc([park]), tokens["planner"], collection="green_spaces", match="none")
    assert r.status_code == 422 and r.json()["issues"][0]["rule"] == "vertices"


async def test_one_huge_feature_is_refused(client, tokens, settings, monkeypatch):
    monkeypatch.setattr(settings, "max_properties", 2)
    monkeypatch.setattr(settings, "max_property_bytes", 1000)
    monkeypatch.setattr(settings, "max_vertices", 10)
    body = orjson.dumps(
        {
            "type": "FeatureCollection",
            "features": [{"type": "Feature", "geometry": None, "properties": {"remarks": "x" * 400_000}}],
        }
    )

    # Chunks arrive in pieces: the reader must give up before the whole feature is in memory.
    async def pieces():
        for i in range(0, len(body), 16_384):
            yield body[i : i + 16_384]

    r = await upload(client, pieces(), tokens["surveyor"])
    assert r.status_code == 413
