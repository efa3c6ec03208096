"""cityassets.ingest: survey uploads (issue 3).

body (size caps, gzip) -> sources (GeoJSON / CSV streamed, GeoPackage / zipped Shapefile via pyogrio)
-> properties + geometry (per-feature rules, vectorised CRS transform, EWKB) -> binary COPY into a
temporary staging table -> sql (district/grid derivation, matching, scope, codes) -> one insert and
one update, history written by the tables' statement triggers -> report. One transaction throughout.
"""
