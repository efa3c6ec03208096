"""coverage cache: residential land and population totals per cell, kept once per parcel table

Revision ID: 0008_coverage_cell_totals
Revises: 0007_partial_cover_no_index
Create Date: 2026-11-23 10:00:00

Each strip of a cold build summed the land area and population of all its parcels per district/grid cell
next to the covered parts: 200k parcel rows read and sorted per indicator, although those totals depend
only on the parcels. They are now summed once when the parcel table is rebuilt (coverage_cell), and a
build's strips sum only their fraction rows (-8 % on the strips of green_300m and park_500m, bench city).
The parcel table is rebuilt on the next request (its state rows are cleared), so every cell has its totals;
cached fractions and sums stay valid.
"""
from alembic import op

revision = "0008_coverage_cell_totals"
down_revision = "0007_partial_cover_no_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE coverage_cell ADD COLUMN area float8 NOT NULL DEFAULT 0, "
               "ADD COLUMN pop float8 NOT NULL DEFAULT 0")
    op.execute("DELETE FROM coverage_state")


def downgrade() -> None:
    op.execute("ALTER TABLE coverage_cell DROP COLUMN area, DROP COLUMN pop")
    op.execute("DELETE FROM coverage_state")
