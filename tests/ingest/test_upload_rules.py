"""Per-feature rules: scope, near duplicates, swapped axes, districts, codes, duplicates in the file."""

from __future__ import annotations

from tests.ingest.helpers import code, fc, manhole, upload


async def test_water_surveyor_cannot_update_gas_manhole(client, db, tokens):
    gas = code(cls="0111")
    r = await upload(
        client, fc([manhole(113.78, 34.80, gas, utility_type="gas", owner="GAS")]), tokens["surveyor"]
    )
    assert r.status_code == 200, r.text
    mine = code()
    feats = [manhole(113.78, 34.80, gas, utility_type="gas", owner="WATER"), manhole(113.7801, 34.80, mine)]
    r = await upload(client, fc(feats), tokens["water"], mode="partial")
    assert r.status_code == 200, r.text
    issues = r.json()["issues"]
    assert [(i["index"], i["rule"], i["code"]) for i in issues] == [(0, "scope", gas)]
    assert "outside your scope" in issues[0]["message"]
    assert r.json()["counts"]["inserted"] == 1
    assert await db.fetchval("SELECT owner FROM manholes WHERE asset_code = $1", gas) == "GAS"


async def test_district_scoped_surveyor(client, tokens):
    west = manhole(113.60, 34.75, code(district="410102"))
    r = await upload(client, fc([west]), tokens["east"])
    assert r.status_code == 422
    assert r.json()["issues"][0]["rule"] == "scope"


async def test_reader_may_not_upload(client, tokens):
    r = await upload(client, fc([manhole(113.78, 34.80)]), tokens["reader"])
    assert r.status_code == 403


async def test_near_duplicate_is_flagged_not_merged(client, db, tokens):
    first = code()
    await upload(client, fc([manhole(113.79, 34.81, first)]), tokens["surveyor"])
    # 0.5 m east of the first one, with another code: both are kept, the new one is flagged.
    r = await upload(client, fc([manhole(113.790005, 34.81, code())]), tokens["surveyor"])
    assert r.status_code == 200, r.text
    assert r.json()["counts"]["near_duplicates"] == 1 and r.json()["counts"]["inserted"] == 1
    issue = r.json()["issues"][0]
    assert issue["rule"] == "near_duplicate" and first in issue["message"]


async def test_swapped_axes_and_outside_extent(client, tokens):
    r = await upload(
        client, fc([manhole(34.76, 113.75), manhole(10.0, 10.0)]), tokens["surveyor"], mode="partial"
    )
    issues = {i["index"]: i for i in r.json()["issues"]}
    assert issues[0]["rule"] == "extent" and "latitude and longitude look swapped" in issues[0]["message"]
    assert issues[1]["rule"] == "extent" and "swapped" not in issues[1]["message"]


async def test_district_rules(client, tokens):
    feats = [
        manhole(113.60, 34.75, code()),  # code says 410105, position is in 410102
        manhole(113.75, 34.76, district_code="410102"),  # explicit district contradicts the position
        manhole(112.70, 34.20),  # inside the city extent, outside every district
        manhole(113.75, 34.76, "41010501"),  # malformed code
    ]
    r = await upload(client, fc(feats), tokens["surveyor"])
    assert r.status_code == 422
    got = {(i["index"], i["rule"]) for i in r.json()["issues"]}
    assert got == {
        (0, "district_mismatch"),
        (1, "district_mismatch"),
        (2, "district"),
        (3, "asset_code_format"),
    }


async def test_retired_code_is_not_reused(client, db, tokens):
    c = code()
    await upload(client, fc([manhole(113.77, 34.82, c)]), tokens["surveyor"])
    await db.execute("UPDATE manholes SET retired_at = now() WHERE asset_code = $1", c)
    r = await upload(client, fc([manhole(113.77, 34.82, c)]), tokens["surveyor"])
    assert r.status_code == 422 and r.json()["issues"][0]["rule"] == "retired_code"


async def test_duplicates_in_file(client, db, tokens):
    c = code()
    feats = [manhole(113.76, 34.83, c), manhole(113.7601, 34.83, c, depth_m=3.0)]
    r = await upload(client, fc(feats), tokens["surveyor"])
    assert r.status_code == 422 and r.json()["upload"]["counts"]["duplicated"] == 1
    r = await upload(client, fc(feats), tokens["surveyor"], mode="partial")
    assert r.json()["counts"]["inserted"] == 1 and r.json()["counts"]["duplicated"] == 1
    assert r.json()["issues"][0] | {"index": 1, "rule": "duplicate_in_file"} == r.json()["issues"][0]
    assert await db.fetchval("SELECT depth_m FROM manholes WHERE asset_code = $1", c) is None


async def test_field_rules(client, tokens):
    feats = [
        manhole(113.75, 34.77, bogus=1),
        manhole(113.75, 34.7701, depth_m=99.0),
        manhole(113.75, 34.7702, cover_diameter_mm="big"),
        manhole(113.75, 34.7703, owner="NOBODY"),
        manhole(113.75, 34.7704, utility_type=None),
        manhole(113.75, 34.7705, version=7, created_at="x"),  # server-owned: ignored silently
        manhole(113.75, 34.7706, remarks="a\x00b"),
    ]
    r = await upload(client, fc(feats), tokens["surveyor"], mode="partial", dry_run=True)
    got = {(i["index"], i.get("field"), i["rule"]) for i in r.json()["issues"]}
    assert got == {
        (0, "bogus", "unknown_field"),
        (1, "depth_m", "maximum"),
        (2, "cover_diameter_mm", "type"),
        (3, "owner", "reference"),
        (4, "utility_type", "required"),
        (6, "remarks", "type"),
    }
    assert r.json()["counts"]["inserted"] == 1


async def test_category_field(client, tokens):
    bench = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [113.75, 34.78]},
        "properties": {"category": "bench", "capacity_l": 120.0},
    }
    r = await upload(client, fc([bench]), tokens["surveyor"], collection="street_furniture")
    assert r.status_code == 422 and r.json()["issues"][0]["rule"] == "category_field"


async def test_geometry_type(client, tokens):
    line = {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": [[113.75, 34.78], [113.76, 34.78]]},
        "properties": {"utility_type": "water_supply"},
    }
    r = await upload(client, fc([line]), tokens["surveyor"])
    assert r.status_code == 422 and r.json()["issues"][0]["rule"] == "geometry_type"


async def test_polygons_into_green_spaces(client, db, tokens):
    square = [[113.751, 34.751], [113.752, 34.751], [113.752, 34.752], [113.751, 34.752], [113.751, 34.751]]
    bowtie = [[113.753, 34.751], [113.754, 34.752], [113.754, 34.751], [113.753, 34.752], [113.753, 34.751]]
    feats = [
        {
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [square]},
            "properties": {"name": "小游园", "green_class": "G14"},
        },
        {
            "type": "Feature",
            "geometry": {"type": "MultiPolygon", "coordinates": [[bowtie]]},
            "properties": {"green_class": "G14"},
        },
    ]
    r = await upload(client, fc(feats), tokens["planner"], collection="green_spaces", mode="partial")
    assert r.status_code == 200, r.text
    assert r.json()["match"] is None and r.json()["counts"]["inserted"] == 1
    issue = r.json()["issues"][0]
    assert (issue["index"], issue["rule"]) == (1, "geometry_valid") and "Self-intersection" in issue[
        "message"
    ]
    row = await db.fetchrow(
        "SELECT district_code, area_m2, ST_GeometryType(geom) AS t FROM green_spaces WHERE upload_id = $1",
        r.json()["id"],
    )
    assert (
        row["district_code"] == "410105" and 9000 < row["area_m2"] < 12000 and row["t"] == "ST_MultiPolygon"
    )
    assert (await upload(client, fc(feats), tokens["surveyor"], collection="green_spaces")).status_code == 403


async def test_required_when_is_reported_per_feature(client, tokens):
    """A temporarily closed toilet needs a reason: one feature rejected, not the whole upload."""
    def toilet(lat: float, **props):
        p = {"toilet_type": "standalone", "toilet_class": "II", "public_access": "municipal", **props}
        return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [113.75, lat]}, "properties": p}

    feats = [toilet(34.78, status="temporarily_closed"), toilet(34.7801, status="temporarily_closed",
                                                                closure_reason="maintenance")]
    r = await upload(client, fc(feats), tokens["surveyor"], collection="toilets", mode="partial")
    assert r.status_code == 200, r.text
    assert [(i["index"], i["field"], i["rule"]) for i in r.json()["issues"]] == [(0, "closure_reason", "required_when")]
    assert r.json()["counts"]["inserted"] == 1


async def test_lines_and_areas_are_placed_where_single_writes_place_them(client, db, tokens):
    """The upload reads a line's or an area's district at the point the service computed for it: the district
    SQL finds at ST_PointOnSurface of the stored geometry, where single writes read it. Each shape crosses the
    two districts' boundary (113.70 E) with its centroid on the west side and its point on surface east."""
    line = [[113.60, 34.760], [113.705, 34.761], [113.71, 34.77]]
    ring = [[113.60, 34.740], [113.72, 34.740], [113.72, 34.780], [113.71, 34.780], [113.71, 34.742],
            [113.60, 34.742], [113.60, 34.740]]  # a long low block west, a tall arm east
    road = {"type": "Feature", "geometry": {"type": "LineString", "coordinates": line},
            "properties": {"road_class": "main"}}
    area = {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": {"green_class": "G11"}}
    derived = (
        "SELECT t.district_code, (SELECT min(d.code) FROM districts d WHERE d.retired_at IS NULL AND "
        "ST_Intersects(d.geom, ST_PointOnSurface(t.geom))) AS expected FROM {table} t WHERE t.upload_id = $1"
    )
    for table, feature in (("roads", road), ("green_spaces", area)):
        r = await upload(client, fc([feature]), tokens["planner"], collection=table, match="none")
        assert r.status_code == 200 and r.json()["counts"]["inserted"] == 1, r.text[:300]
        row = await db.fetchrow(derived.format(table=table), r.json()["id"])
        assert row["district_code"] == row["expected"] == "410105", (table, dict(row))
