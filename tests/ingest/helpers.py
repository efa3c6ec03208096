"""Builders for upload bodies: manholes in the test city's east district (410105)."""

from __future__ import annotations

import itertools
import random
from typing import Any

import orjson

from tests.fixtures import auth

# Steps of 100 leave room for codes the registry allocates after a supplied one (max + 1, ...).
_serials = itertools.count(random.randint(100, 300) * 1000, 100)


def code(district: str = "410105", cls: str = "0101") -> str:
    """A fresh client-side asset code (water-supply manhole class by default)."""
    return f"{district}{cls}{next(_serials):06d}"


def manhole(lon: float, lat: float, asset_code: str | None = None, **props: Any) -> dict[str, Any]:
    """A water-supply manhole feature in CRS84 (or any CRS: x, y as given)."""
    p: dict[str, Any] = {"utility_type": "water_supply", "owner": "WATER", "cover_material": "ductile_iron"}
    if asset_code:
        p["asset_code"] = asset_code
    p.update(props)
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": p}


def fc(features: list[dict[str, Any]]) -> bytes:
    """A FeatureCollection body."""
    return orjson.dumps({"type": "FeatureCollection", "features": features})


async def upload(
    client,
    body: bytes,
    token: str,
    collection: str = "manholes",
    content_type: str = "application/geo+json",
    headers: dict[str, str] | None = None,
    **params: Any,
):
    """POST an upload; returns the httpx response."""
    h = {"Content-Type": content_type, **auth(token), **(headers or {})}
    q = {k: str(v).lower() if isinstance(v, bool) else v for k, v in params.items()}
    return await client.post(f"/collections/{collection}/uploads", content=body, headers=h, params=q)


def spread(
    n: int, lon0: float = 113.75, lat0: float = 34.76, step: float = 0.0002
) -> list[tuple[float, float]]:
    """n positions on a grid, ~20 m apart, inside the east district."""
    side = int(n**0.5) + 1
    return [(round(lon0 + (i % side) * step, 7), round(lat0 + (i // side) * step, 7)) for i in range(n)]
