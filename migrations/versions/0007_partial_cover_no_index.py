"""manholes.provincial_cover_no: a partial unique index instead of a unique constraint

Revision ID: 0007_partial_cover_no_index
Revises: 0006_statement_reference_checks
Create Date: 2026-11-23 09:25:00

Most manholes have no provincial cover number yet (it is assigned by the province), so the unique
constraint's B-tree held one NULL entry per row, and every bulk insert added another: 100k manholes
inserted into the 1M-row bench table took 2.49-2.85 s with it and 2.13-2.27 s without it. NULLs are never
equal in a unique index, so indexing only the numbers that exist enforces the same rule. Equality lookups
(an upload matching by this key) still use the index: `=` is strict, so it implies IS NOT NULL.
"""

from alembic import op

revision = "0007_partial_cover_no_index"
down_revision = "0006_statement_reference_checks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE manholes DROP CONSTRAINT uq_manholes_provincial_cover_no")
    op.execute(
        "CREATE UNIQUE INDEX uq_manholes_provincial_cover_no ON manholes (provincial_cover_no) "
        "WHERE provincial_cover_no IS NOT NULL"
    )


def downgrade() -> None:
    op.execute("DROP INDEX uq_manholes_provincial_cover_no")
    op.execute(
        "ALTER TABLE manholes ADD CONSTRAINT uq_manholes_provincial_cover_no UNIQUE (provincial_cover_no)"
    )
