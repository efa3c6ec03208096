"""coverage cache: parcel fractions stored per 250 m tile, as arrays

Revision ID: 0012_fraction_tiles
Revises: 0011_cheaper_code_reservation
Create Date: 2026-11-23 21:30:00

A cold build of green_300m + park_500m wrote 285k fraction rows (one per covered parcel) into a btree keyed by
(spec, target_id): 2-4 us a row, a fifth of the strips' CPU, nearly all of it the index (200k rows: 0.40-0.47 s
with the key, 0.09-0.12 s without). The fractions of a 250 m tile of parcel centroids now make one row (ids and
fractions as two arrays): ~15k rows a spec. A refresh rewrites the tiles near what changed, about as many
entries as the parcels it recomputes, so its cost still follows the edit and not the city.

`part` is the cold build's strip that wrote the row: a tile cut by a strip boundary has a row from each side.
A dense tile's arrays pass the 2 kB TOAST threshold (up to 275 parcels, 4.4 kB on the bench city): kept
inline and uncompressed, as the buffer pieces are (0010), since pglz gains nothing on ids and fractions.
Every cache table is emptied: the parcels gain their tile, and the fractions are recomputed on the next request.
"""
from alembic import op

revision = "0012_fraction_tiles"
down_revision = "0011_cheaper_code_reservation"
branch_labels = None
depends_on = None

CACHE = ("coverage_sum, coverage_fraction, coverage_piece, coverage_facility, coverage_spec, coverage_target, "
         "coverage_cell, coverage_state, coverage_gap")


def upgrade() -> None:
    op.execute(f"TRUNCATE {CACHE}")
    op.execute("DROP TABLE coverage_fraction")
    op.execute("""
CREATE UNLOGGED TABLE coverage_fraction (
  spec text NOT NULL,
  tile bigint NOT NULL,
  part smallint NOT NULL,
  ids bigint[] NOT NULL,     -- coverage_target.target_id of the parcels with a covered part
  fracs float8[] NOT NULL,   -- their covered fraction, (0, 1], same order
  PRIMARY KEY (spec, tile, part)
) WITH (toast_tuple_target = 8160)""")
    # The planner needs the row count and key spread (0004); per-element statistics of the arrays are not used and
    # made each cold build's ANALYZE cost 0.27 s instead of 0.01-0.03 s on the bench city.
    op.execute("ALTER TABLE coverage_fraction ALTER COLUMN spec SET STATISTICS 10, ALTER COLUMN tile SET STATISTICS 10, "
               "ALTER COLUMN ids SET STATISTICS 0, ALTER COLUMN fracs SET STATISTICS 0")
    op.execute("ALTER TABLE coverage_target ADD COLUMN tile bigint NOT NULL")


def downgrade() -> None:
    op.execute(f"TRUNCATE {CACHE}")
    op.execute("ALTER TABLE coverage_target DROP COLUMN tile")
    op.execute("DROP TABLE coverage_fraction")
    op.execute("""
CREATE UNLOGGED TABLE coverage_fraction (
  spec text NOT NULL,
  target_id bigint NOT NULL,
  frac double precision NOT NULL,
  PRIMARY KEY (spec, target_id)
)""")
    op.execute("ALTER TABLE coverage_fraction ALTER COLUMN spec SET STATISTICS 10, "
               "ALTER COLUMN target_id SET STATISTICS 10, ALTER COLUMN frac SET STATISTICS 10")
