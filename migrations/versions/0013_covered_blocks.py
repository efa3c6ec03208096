"""coverage cache: 100 m blocks of parcels settled whole, centroid x as a column, a tile key that hashes

Revision ID: 0013_covered_blocks
Revises: 0012_fraction_tiles
Create Date: 2026-11-23 23:50:00

A cold build probed every facility's reach for parcels and computed each pair's distance, then sorted the pairs by
parcel: ~525k index rows and ~380k pairs for green_300m on the bench city. Most of them settle parcels that lie
deep inside one facility's service area. A 100 m block of parcel centroids (`blk`) whose farthest corner plus its
largest circumradius (`coverage_blocks`) lies within the radius of one facility vertex is covered whole
(coverage.blocks): its parcels skip the pairs (84 % of the fully covered ones on the bench city).

`x`, the centroid's x, serves the strips' band filters as a plain float comparison (ST_X decoded the point per
row). The 250 m tile key becomes tx * 1000003 + ty: the old (tx << 32) | ty folded to tx ^ ty in PostgreSQL's
int8 hash, so the bench city's 7,393 tiles had 310 distinct hashes and grouping by tile ran 4-5x slower than it
should. Every cache table is emptied: the parcels are rebuilt with the new columns on the next request.
"""
from alembic import op

revision = "0013_covered_blocks"
down_revision = "0012_fraction_tiles"
branch_labels = None
depends_on = None

CACHE = ("coverage_sum, coverage_fraction, coverage_piece, coverage_facility, coverage_spec, coverage_target, "
         "coverage_cell, coverage_state, coverage_gap")


def upgrade() -> None:
    op.execute(f"TRUNCATE {CACHE}")
    op.execute("ALTER TABLE coverage_target ADD COLUMN x float8 NOT NULL, ADD COLUMN blk bigint NOT NULL")
    # One row: every block as (ix int4, iy int4, rho float8), big-endian, packed (radius.BLOCKS): one value to
    # read per cold build instead of 26k rows (85 ms as records).
    op.execute("CREATE UNLOGGED TABLE coverage_blocks (packed bytea NOT NULL)")


def downgrade() -> None:
    op.execute(f"TRUNCATE {CACHE}")
    op.execute("DROP TABLE coverage_blocks")
    op.execute("ALTER TABLE coverage_target DROP COLUMN x, DROP COLUMN blk")
