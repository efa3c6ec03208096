"""coverage cache: buffer pieces stored uncompressed

Revision ID: 0010_uncompressed_pieces
Revises: 0009_coverage_gaps
Create Date: 2026-11-23 15:30:00

A buffer piece (quad_segs=32: ~130 vertices, ~2.2 kB) passes the 2 kB TOAST threshold, so PostgreSQL compressed
every piece with pglz on insert and decompressed it on each read: pglz_compress and detoast_attr were 2.8 % of
the samples of a cold build (perf), whose exact overlays read each piece many times. With the table's tuple
target at its maximum a piece stays inline and uncompressed (1.5 -> 2.2 kB on disk). Cold build of green_300m
+ park_500m on the bench city, 6 interleaved pairs: 3.02 -> 2.70 s and 2.59 -> 2.29 s means. Pieces already
stored keep their form until their spec is rebuilt.
"""
from alembic import op

revision = "0010_uncompressed_pieces"
down_revision = "0009_coverage_gaps"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE coverage_piece SET (toast_tuple_target = 8160)")


def downgrade() -> None:
    op.execute("ALTER TABLE coverage_piece RESET (toast_tuple_target)")
