"""Shared data fixtures: organisations, two districts and a grid cell, tokens per role."""

from __future__ import annotations

import pytest

from cityassets.auth.tokens import create_token

# Two adjacent districts west/east of 113.70 E, in CRS84 (transformed to storage by PostGIS).
WEST = "MULTIPOLYGON(((113.55 34.70, 113.70 34.70, 113.70 34.85, 113.55 34.85, 113.55 34.70)))"
EAST = "MULTIPOLYGON(((113.70 34.70, 113.85 34.70, 113.85 34.85, 113.70 34.85, 113.70 34.70)))"

ORGS = [
    ("WATER", "郑州自来水投资控股有限公司", "utility_company"),
    ("GAS", "郑州华润燃气", "utility_company"),
    ("LIGHT", "郑州市城市照明管理处", "government_dept"),
    ("SANIT", "郑州市环境卫生处", "government_dept"),
    ("PARKS", "郑州市园林局", "government_dept"),
    ("CARRIER", "中国移动郑州分公司", "carrier"),
]


@pytest.fixture(scope="session")
async def city(pool, settings):
    """Organisations, districts 410102 (west) and 410105 (east), one grid cell: the tiny test city."""
    srid = settings.storage_srid
    async with pool.acquire() as conn:
        await conn.executemany(
            "INSERT INTO organisations (code, name_zh, org_type) VALUES ($1, $2, $3) ON CONFLICT (code) DO NOTHING", ORGS
        )
        for code, name, wkt in (("410102", "中原区", WEST), ("410105", "金水区", EAST)):
            await conn.execute(
                "INSERT INTO districts (code, name_zh, geom) VALUES ($1, $2, ST_Transform(ST_GeomFromText($3, 4326), $4::int)) "
                "ON CONFLICT (code) DO NOTHING",
                code, name, wkt, srid,
            )
        await conn.execute(
            "INSERT INTO grid_cells (code, district_code, geom) VALUES ('410105001001001', '410105', "
            "ST_Transform(ST_GeomFromText('MULTIPOLYGON(((113.70 34.70, 113.75 34.70, 113.75 34.80, 113.70 34.80, "
            "113.70 34.70)))', 4326), $1::int)) ON CONFLICT (code) DO NOTHING",
            srid,
        )
    return {"west": "410102", "east": "410105", "grid": "410105001001001"}


@pytest.fixture(scope="session")
async def tokens(pool, city):
    """A token per role, plus scoped surveyors (water company; east district only)."""
    async with pool.acquire() as conn:
        return {
            "admin": await create_token(conn, "admin", label="test-admin"),
            "planner": await create_token(conn, "planner", label="test-planner"),
            "reader": await create_token(conn, "reader", label="test-reader"),
            "surveyor": await create_token(conn, "surveyor", label="test-surveyor"),
            "water": await create_token(conn, "surveyor", owner="WATER", label="water-company"),
            "east": await create_token(conn, "surveyor", districts=["410105"], label="east-crew"),
        }


def auth(token: str) -> dict[str, str]:
    """Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="session")
def live_server(settings, city):
    """A real uvicorn process serving the test database (for GDAL, QGIS and other real clients)."""
    from cityassets.api.launch import free_port, start_server

    port = free_port()
    proc = start_server(settings.dsn, port)
    url = f"http://127.0.0.1:{port}"
    yield url
    proc.terminate()
    proc.wait(timeout=10)
