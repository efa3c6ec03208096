"""GDAL's OAPIF driver (a real desktop client) lists the collections and reads features."""

from __future__ import annotations

import subprocess

from tests.api.test_features_crud import feature
from tests.fixtures import auth

# gdal-bin (ogrinfo) is one of the Debian packages `make test` installs.


async def test_ogrinfo_lists_and_reads(live_server, client, tokens):
    admin = auth(tokens["admin"])
    created = [(await client.post("/collections/toilets/items", json=feature("toilets"), headers=admin)).json()
               for _ in range(3)]
    out = subprocess.run(["ogrinfo", "-ro", "-q", f"OAPIF:{live_server}"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    for cid in ("manholes", "trees", "toilets", "green_spaces", "districts", "organisations"):
        assert f": {cid}" in out.stdout, out.stdout
    feats = subprocess.run(["ogrinfo", "-ro", "-al", "-q", f"OAPIF:{live_server}", "toilets", "-oo", "PAGE_SIZE=2"],
                           capture_output=True, text=True, timeout=60)
    assert feats.returncode == 0, feats.stderr
    for f in created:
        assert f["properties"]["asset_code"] in feats.stdout
    assert "POINT (113.72 34.76)" in feats.stdout
