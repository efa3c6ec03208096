"""coverage cache: per-facility service-area pieces and per-parcel covered fractions

Revision ID: 0003_coverage_cache
Revises: 0001_initial
Create Date: 2026-11-23 01:45:00

The radius indicators keep the residential parcels' centroids and circumradii, and per facility
selection ("spec") the facilities they were built from, their buffers (ST_Subdivide'd when large)
and each residential parcel's covered fraction. An upload that touches 100 facilities then only
recomputes the parcels near them.
"""
from alembic import op

revision = "0003_coverage_cache"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

UPGRADE = """
-- Everything here is derived and re-derivable: UNLOGGED (no WAL; emptied together after a crash, and
-- then rebuilt because coverage_state/coverage_spec are emptied too) and without foreign keys.
-- Residential parcels as the radius indicators see them: centroid, circumradius about it, area.
CREATE UNLOGGED TABLE coverage_target (
  target_id bigint PRIMARY KEY,
  district_code text,
  grid_code text,  -- the unit grid cell holding the centroid
  area double precision NOT NULL,
  pop double precision NOT NULL,
  cent geometry NOT NULL,
  rho double precision NOT NULL
);
CREATE INDEX ix_coverage_target_cent ON coverage_target USING gist (cent);
CREATE UNLOGGED TABLE coverage_state (
  name text PRIMARY KEY,
  version text NOT NULL,  -- data versions of residential land and grid cells
  value double precision  -- targets: the largest parcel circumradius
);
CREATE UNLOGGED TABLE coverage_spec (
  spec text PRIMARY KEY,
  facility_version bigint NOT NULL,
  target_version text,  -- NULL: buffers only, no parcel fractions yet
  built_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNLOGGED TABLE coverage_facility (
  spec text NOT NULL,
  fac_id bigint NOT NULL,
  radius double precision NOT NULL,
  geom geometry NOT NULL,
  PRIMARY KEY (spec, fac_id)
);
CREATE INDEX ix_coverage_facility_geom ON coverage_facility USING gist (geom);
CREATE UNLOGGED TABLE coverage_piece (
  spec text NOT NULL,
  fac_id bigint NOT NULL,
  geom geometry NOT NULL
);
CREATE INDEX ix_coverage_piece_geom ON coverage_piece USING gist (geom);
CREATE INDEX ix_coverage_piece_spec ON coverage_piece (spec, fac_id);
CREATE UNLOGGED TABLE coverage_fraction (
  spec text NOT NULL,
  target_id bigint NOT NULL,
  frac double precision NOT NULL,
  PRIMARY KEY (spec, target_id)
);
-- Per district and grid cell sums, kept current by deltas, so a warm indicator is a lookup.
CREATE UNLOGGED TABLE coverage_sum (
  spec text NOT NULL,
  district_code text,
  grid_code text,
  area double precision NOT NULL,
  covered_area double precision NOT NULL,
  pop double precision NOT NULL,
  covered_pop double precision NOT NULL
);
CREATE INDEX ix_coverage_sum_spec ON coverage_sum (spec);
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("DROP TABLE coverage_sum, coverage_fraction, coverage_piece, coverage_facility, coverage_spec, "
               "coverage_target, coverage_state")
