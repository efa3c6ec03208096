"""cityassets.models.system: history, collection counters, tokens, code serials, uploads."""

from __future__ import annotations

from sqlalchemy import ARRAY, Index, PrimaryKeyConstraint, text

from cityassets.models.common import BigInteger, Boolean, Column, DateTime, Integer, JSONB, Text, metadata
from sqlalchemy import Table, func

#: One row per write of any collection, filled by statement-level triggers (see the migration),
#: so every path that writes (OGC API, WFS-T, uploads, SQL) leaves the same trail.
history = Table(
    "history",
    metadata,
    Column("id", BigInteger, autoincrement=True, nullable=False),
    Column("collection", Text, nullable=False),
    Column("feature_id", BigInteger, nullable=False),
    Column("version", Integer, nullable=False),
    Column("action", Text, nullable=False),  # insert | update | delete
    Column("changed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("actor", Text),
    Column("request_id", Text),
    Column("upload_id", Text),
    Column("changes", JSONB),  # {field: [old, new]} for updates
    Column("previous", JSONB),  # the whole previous row (geometry as hex EWKB)
    # The one reader's key, a feature's versions in order, with the id last to make it unique: one B-tree
    # entry per history row (migration 0016). Integer first: cheaper to insert into on every write (0014).
    PrimaryKeyConstraint("feature_id", "version", "collection", "id", name="pk_history"),
    # BRIN: history is append-only and upload ids are time-ordered, so an upload's rows are one run of
    # pages; a B-tree entry per history row cost 1.5 us of every written record (migration 0015).
    Index("ix_history_upload", "upload_id", postgresql_using="brin", postgresql_with={"autosummarize": "on"}),
)

#: Live row count and a change counter per collection, kept by the same triggers: O(1)
#: numberMatched for unfiltered requests and a cheap "has anything changed" check for caches.
collection_stats = Table(
    "collection_stats",
    metadata,
    Column("collection", Text, primary_key=True),
    Column("live_count", BigInteger, nullable=False, server_default=text("0")),
    Column("data_version", BigInteger, nullable=False, server_default=text("0")),
    Column("changed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", BigInteger, autoincrement=True, nullable=False),
    Column("token_hash", Text, nullable=False, unique=True),  # sha256 hex; the token itself is never stored
    Column("role", Text, nullable=False),
    Column("owner", Text),  # surveyor limited to one owner organisation
    Column("districts", ARRAY(Text)),  # surveyor limited to these district codes
    Column("label", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
)

#: Last serial used per 10-digit prefix (district + major + minor): codes are never reused.
asset_code_serials = Table(
    "asset_code_serials",
    metadata,
    Column("prefix", Text, primary_key=True),
    Column("last_serial", Integer, nullable=False),
)

uploads = Table(
    "uploads",
    metadata,
    Column("id", Text, primary_key=True),
    Column("collection", Text, nullable=False),
    Column("status", Text, nullable=False),  # running | committed | rejected | failed | dry_run
    Column("mode", Text, nullable=False),
    Column("match", Text),
    Column("crs", Text),
    Column("dry_run", Boolean, nullable=False, server_default=text("false")),
    Column("actor", Text),
    Column("filename", Text),
    Column("started_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("finished_at", DateTime(timezone=True)),
    Column("counts", JSONB),
    Column("message", Text),
)

upload_issues = Table(
    "upload_issues",
    metadata,
    Column("upload_id", Text, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("kind", Text, nullable=False),  # rejected | duplicate_in_file | near_duplicate
    Column("feature_index", Integer),
    Column("asset_code", Text),
    Column("field", Text),
    Column("rule", Text),
    Column("message", Text),
    PrimaryKeyConstraint("upload_id", "seq"),
)
