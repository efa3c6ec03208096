"""Shared OGC test data: toilets on a 6 x 4 grid across both districts, with varied attributes."""

from __future__ import annotations

import pytest

from tests.fixtures import auth

MARK = "ogc-test"
COLS, ROWS = 6, 4


def toilet_props(i: int) -> dict:
    """Deterministic attributes of toilet i."""
    return {
        "toilet_type": "standalone" if i % 2 else "attached",
        "toilet_class": ("I", "II", "III")[i % 3],
        "public_access": "municipal",
        "is_24h": i % 4 == 0,
        "stalls_male": i % 5,
        "name": f"公厕{i:02d}" if i % 6 else None,
        "install_date": f"20{10 + i % 12:02d}-0{1 + i % 9}-15",
        "owner": "SANIT",
        "remarks": MARK,
    }


def toilet_position(i: int) -> list[float]:
    """Grid position in CRS84: x 113.60 .. 113.80, y 34.72 .. 34.81."""
    return [round(113.60 + (i % COLS) * 0.04, 6), round(34.72 + (i // COLS) * 0.03, 6)]


@pytest.fixture(scope="session")
async def toilets(client, tokens, city) -> dict[int, dict]:
    """COLS x ROWS toilets created through the API: id -> (index, properties, position)."""
    admin = auth(tokens["admin"])
    out = {}
    for i in range(COLS * ROWS):
        props = {k: v for k, v in toilet_props(i).items() if v is not None}
        f = {"type": "Feature", "geometry": {"type": "Point", "coordinates": toilet_position(i)}, "properties": props}
        r = await client.post("/collections/toilets/items", json=f, headers=admin)
        assert r.status_code == 201, r.text
        out[r.json()["id"]] = {"i": i, "props": toilet_props(i), "pos": toilet_position(i)}
    return out
