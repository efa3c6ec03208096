"""Roles, tokens and owner/district scopes on the one write path."""

from __future__ import annotations

import pytest

from tests.api.test_features_crud import feature
from tests.fixtures import auth

URL = "/collections/manholes/items"


def manhole(owner: str, lon: float = 113.72, utility: str = "gas") -> dict:
    f = feature("manholes")
    f["properties"].update(owner=owner, utility_type=utility)
    f["geometry"] = {"type": "Point", "coordinates": [lon, 34.76]}
    return f


async def test_anonymous_and_reader_cannot_write(client, tokens, city):
    r = await client.post(URL, json=manhole("GAS"))
    assert r.status_code == 403 and "anonymous" in r.json()["description"]
    r = await client.post(URL, json=manhole("GAS"), headers=auth(tokens["reader"]))
    assert r.status_code == 403 and "reader" in r.json()["description"]


async def test_bad_tokens_are_401(client, city):
    r = await client.get("/collections", headers={"Authorization": "Bearer ca_nope"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    r = await client.get("/collections", headers={"Authorization": "Basic abc"})
    assert r.status_code == 401


async def test_planner_writes_planning_layers_not_assets(client, tokens, city):
    planner = auth(tokens["planner"])
    assert (await client.post(URL, json=manhole("GAS"), headers=planner)).status_code == 403
    r = await client.post("/collections/facilities/items", json=feature("facilities"), headers=planner)
    assert r.status_code == 201
    # Surveyors edit assets, not planning layers.
    r = await client.post("/collections/facilities/items", json=feature("facilities"), headers=auth(tokens["surveyor"]))
    assert r.status_code == 403


async def test_owner_scope(client, tokens, city):
    """A water-company surveyor edits its own manholes only (谁所有、谁负责)."""
    admin, water = auth(tokens["admin"]), auth(tokens["water"])
    gas = (await client.post(URL, json=manhole("GAS"), headers=admin)).json()
    tag = (await client.get(f"{URL}/{gas['id']}")).headers["etag"]
    body = manhole("GAS")
    body["properties"]["condition"] = "damaged"
    r = await client.put(f"{URL}/{gas['id']}", json=body, headers={**water, "If-Match": tag})
    assert r.status_code == 403 and "owner 'GAS'" in r.json()["description"]
    r = await client.delete(f"{URL}/{gas['id']}", headers={**water, "If-Match": tag})
    assert r.status_code == 403
    # Creating a manhole for another owner is refused; for its own owner it works.
    assert (await client.post(URL, json=manhole("GAS"), headers=water)).status_code == 403
    own = await client.post(URL, json=manhole("WATER", utility="water_supply"), headers=water)
    assert own.status_code == 201
    # ... and it cannot hand its manhole over to another owner.
    give = manhole("GAS")
    r = await client.put(own.headers["location"].split("testserver")[1], json=give,
                         headers={**water, "If-Match": own.headers["etag"]})
    assert r.status_code == 403


async def test_district_scope(client, tokens, city):
    east = auth(tokens["east"])
    assert (await client.post(URL, json=manhole("GAS", lon=113.72), headers=east)).status_code == 201
    r = await client.post(URL, json=manhole("GAS", lon=113.62), headers=east)  # west district
    assert r.status_code == 403 and "410102" in r.json()["description"]


async def test_anonymous_read_is_a_setting(app, client, city):
    app.state.settings.anonymous_read = False
    try:
        assert (await client.get("/collections/manholes/items")).status_code == 401
    finally:
        app.state.settings.anonymous_read = True
    assert (await client.get("/collections/manholes/items")).status_code == 200


@pytest.mark.parametrize("role,owner", [("surveyor", "NOPE"), ("bogus", None), ("planner", "WATER")])
async def test_token_creation_rules(pool, city, role, owner):
    from cityassets.auth.tokens import create_token
    from cityassets.errors import InvalidRequest

    async with pool.acquire() as conn:
        with pytest.raises(InvalidRequest):
            await create_token(conn, role, owner=owner)


async def test_tokens_are_stored_hashed(pool, tokens):
    async with pool.acquire() as conn:
        stored = {r["token_hash"] for r in await conn.fetch("SELECT token_hash FROM api_tokens")}
    assert tokens["admin"] not in stored and len(next(iter(stored))) == 64
