"""coverage cache: district gap polygons (toilet gaps, built-up service gaps) kept per facility selection

Revision ID: 0009_coverage_gaps
Revises: 0008_coverage_cell_totals
Create Date: 2026-11-23 10:20:00

The gap map of toilet density (district land farther than 500 m from every toilet) unions every district's
service areas and subtracts them: 0.5 s on the bench city, 1.2 s doubled. It depends only on the facility
selection, the districts and the parcels, so it is kept here with the data versions it was computed from
(coverage_state row 'gaps|<spec>') and recomputed when one of them moves, like the rest of the cache.
"""
from alembic import op

revision = "0009_coverage_gaps"
down_revision = "0008_coverage_cell_totals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # UNLOGGED and derived, as every coverage_* table: emptied with coverage_state after a crash, then rebuilt.
    op.execute("CREATE UNLOGGED TABLE coverage_gap (spec text NOT NULL, district_code text, "
               "area double precision NOT NULL, pop double precision NOT NULL, geom geometry NOT NULL)")
    op.execute("CREATE INDEX ix_coverage_gap_spec ON coverage_gap (spec, area DESC)")


def downgrade() -> None:
    op.execute("DROP TABLE coverage_gap")
    op.execute("DELETE FROM coverage_state WHERE name LIKE 'gaps|%'")
