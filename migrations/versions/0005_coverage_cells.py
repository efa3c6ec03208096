"""coverage cache: an integer cell key for the district/grid sums

Revision ID: 0005_coverage_cells
Revises: 0004_coverage_stats_target
Create Date: 2026-11-23 07:10:00

The cold build carried each parcel's district and grid codes (two text values) through the sort of every
facility-parcel pair, and grouped the sums by them (a text sort of ~370k rows per strip). Each distinct
(district, grid cell) pair of the parcels now gets a small integer, kept with the parcel; coverage_cell maps
it back to the codes when the sums are written. The parcel table is rebuilt on the next request (its state
rows are cleared), so every parcel has its cell.
"""
from alembic import op

revision = "0005_coverage_cells"
down_revision = "0004_coverage_stats_target"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE coverage_target ADD COLUMN cell integer")
    op.execute("CREATE UNLOGGED TABLE coverage_cell (cell integer PRIMARY KEY, district_code text, grid_code text)")
    op.execute("DELETE FROM coverage_state")


def downgrade() -> None:
    op.execute("DROP TABLE coverage_cell")
    op.execute("ALTER TABLE coverage_target DROP COLUMN cell")
    op.execute("DELETE FROM coverage_state")
