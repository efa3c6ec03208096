"""HTML views on `Accept: text/html` or `f=html`; JSON stays the default for clients (ogc-interop P10)."""

from __future__ import annotations

import pytest

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.mark.parametrize("path", ["/", "/collections", "/collections/toilets", "/collections/toilets/items?limit=5"])
async def test_pages_render_for_browsers(client, toilets, path):
    for r in (await client.get(path, headers=BROWSER),
              await client.get(path + ("&" if "?" in path else "?") + "f=html")):
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), r.text
        assert "<h1>" in r.text and "f=json" in r.text


async def test_items_and_item_have_a_map(client, toilets):
    fid = next(iter(toilets))
    page = await client.get("/collections/toilets/items?remarks=ogc-test&limit=30", headers=BROWSER)
    assert page.text.count("<circle") == len(toilets) and f"/collections/toilets/items/{fid}" in page.text
    one = await client.get(f"/collections/toilets/items/{fid}", headers=BROWSER)
    assert one.status_code == 200 and "<svg" in one.text and "toilet_class" in one.text


async def test_polygons_are_drawn(client, city):
    r = await client.get("/collections/districts/items?f=html")
    assert r.status_code == 200 and 'fill-rule="evenodd"' in r.text


async def test_user_text_is_escaped(client, tokens, toilets):
    from tests.fixtures import auth

    f = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [113.71, 34.77]},
         "properties": {"toilet_type": "standalone", "toilet_class": "I", "public_access": "municipal",
                        "owner": "SANIT", "name": "<script>alert(1)</script>", "remarks": "xss"}}
    r = await client.post("/collections/toilets/items", json=f, headers=auth(tokens["admin"]))
    page = await client.get(f"/collections/toilets/items/{r.json()['id']}", headers=BROWSER)
    assert "<script>alert" not in page.text and "&lt;script&gt;" in page.text


@pytest.mark.parametrize("headers", [{}, {"Accept": "*/*"}, {"Accept": "application/json"},
                                     {"Accept": "application/geo+json, text/html;q=0.5"}])
async def test_json_stays_the_default(client, toilets, headers):
    for path in ("/", "/collections", "/collections/toilets", "/collections/toilets/items?limit=1"):
        r = await client.get(path, headers=headers)
        assert r.status_code == 200 and "json" in r.headers["content-type"], (path, headers)
    assert "json" in (await client.get("/collections?f=json", headers=BROWSER)).headers["content-type"]


async def test_filtered_page_links_back_to_json(client, toilets):
    r = await client.get("/collections/toilets/items", params={"filter": "toilet_class = 'I'", "f": "html"})
    assert r.status_code == 200 and "filter=toilet_class+%3D+%27I%27" in r.text
