"""WFS test data: a grid of manholes and a few green spaces written through the OGC API (the one write path)."""

from __future__ import annotations

import pytest

from tests.fixtures import auth

#: 5 x 6 manholes on a regular lon/lat grid across both districts; every 3rd is damaged and GAS-owned.
GRID = [(round(113.66 + 0.01 * i, 4), round(34.74 + 0.01 * j, 4)) for i in range(6) for j in range(5)]


@pytest.fixture(scope="session")
async def wfs_data(client, tokens, city):
    """Ids of the seeded manholes (index -> id) and green spaces."""
    admin = auth(tokens["admin"])
    ids = []
    for k, (lon, lat) in enumerate(GRID):
        props = {"utility_type": "water_supply" if k % 3 else "gas", "owner": "WATER" if k % 3 else "GAS",
                 "condition": "damaged" if k % 3 == 0 else "intact", "depth_m": 1.0 + k * 0.1}
        if k % 5 == 0:
            props["remarks"] = f"note {k} 100%_done"
        r = await client.post("/collections/manholes/items", headers=admin,
                              json={"type": "Feature", "properties": props, "geometry": {"type": "Point", "coordinates": [lon, lat]}})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    parks = []
    for k in range(3):
        x0, y0 = 113.72 + 0.02 * k, 34.76
        ring = [[x0, y0], [x0 + 0.005, y0], [x0 + 0.005, y0 + 0.005], [x0, y0 + 0.005], [x0, y0]]
        r = await client.post("/collections/green_spaces/items", headers=admin,
                              json={"type": "Feature", "properties": {"name": f"公园{k}", "green_class": "G11"},
                                    "geometry": {"type": "Polygon", "coordinates": [ring]}})
        assert r.status_code == 201, r.text
        parks.append(r.json()["id"])
    return {"manholes": ids, "green_spaces": parks}


NS = {
    "wfs": "http://www.opengis.net/wfs/2.0", "wfs1": "http://www.opengis.net/wfs", "ows": "http://www.opengis.net/ows/1.1",
    "ows1": "http://www.opengis.net/ows", "fes": "http://www.opengis.net/fes/2.0", "ogc": "http://www.opengis.net/ogc",
    "gml": "http://www.opengis.net/gml/3.2", "gml1": "http://www.opengis.net/gml", "ca": "http://cityassets.org/wfs",
    "xs": "http://www.w3.org/2001/XMLSchema", "xlink": "http://www.w3.org/1999/xlink",
}


def xml(response):
    """Parsed body (fails the test on malformed XML)."""
    import xml.etree.ElementTree as ET

    return ET.fromstring(response.content)


def exception_code(response) -> str | None:
    """exceptionCode of an OWS exception report (any version)."""
    root = xml(response)
    for el in root.iter():
        if el.tag.endswith("}Exception") or el.tag.endswith("}ServiceException"):
            return el.get("exceptionCode") or el.get("code")
    return None


def member_ids(root) -> list[int]:
    """Feature ids (from gml:id) of a FeatureCollection, in document order."""
    out = []
    for el in root.iter():
        gid = el.get("{http://www.opengis.net/gml/3.2}id") or el.get("{http://www.opengis.net/gml}id")
        if gid and el.tag.startswith("{http://cityassets.org/wfs}") and gid.count(".") == 1:
            out.append(int(gid.split(".")[1]))
    return out


async def live_ids(db, table: str, where: str = "TRUE", *args) -> list[int]:
    """Ids of live rows matching a condition, by id."""
    rows = await db.fetch(f"SELECT id FROM {table} t WHERE retired_at IS NULL AND ({where}) ORDER BY id", *args)
    return [r["id"] for r in rows]
