"""cityassets.ingest.report: the per-upload report, kept in `uploads` / `upload_issues`."""

from __future__ import annotations

import csv
import io
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from cityassets.errors import Issue, NotFound

#: Issues returned inline; the rest are paged through GET /uploads/{id}?offset=...
INLINE_ISSUES = 10_000


def new_upload_id() -> str:
    """32 hex digits, milliseconds since the epoch first (the layout of RFC 9562 UUIDv7, without its version
    bits): history's BRIN index on upload ids (migration 0015) needs ids that grow as the table does."""
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(10)}"


class IssueSink:
    """Issues found while parsing, spooled to a CSV file so memory does not grow with bad files."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile("w+b")  # noqa: SIM115 (lives as long as the upload)
        self._text = io.TextIOWrapper(self._file, encoding="utf-8", newline="", write_through=True)
        self._csv = csv.writer(self._text, lineterminator="\n")  # as COPY ... CSV writes it
        self.count = 0
        self.refused = 0  # issues that refuse a feature (not near-duplicate flags)

    def add(self, issues: list[Issue], kind: str = "rejected") -> None:
        """Spool issues (and empty the list)."""
        for i in issues:
            self._csv.writerow((i.index, i.code or "", i.field or "", i.rule, i.message, kind))
        self.count += len(issues)
        if kind != "near_duplicate":
            self.refused += len(issues)
        issues.clear()

    async def spool_from(self, conn: asyncpg.Connection, table: str) -> None:
        """Append a table of issues (same columns) to the spool, before a rollback drops it."""
        self._text.flush()

        async def write(data: bytes) -> None:
            self._file.write(data)

        status = await conn.copy_from_table(
            table, columns=["ord", "code", "field", "rule", "message", "kind"], output=write, format="csv"
        )
        self.count += int(status.rsplit(" ", 1)[1])

    async def copy_to(self, conn: asyncpg.Connection) -> None:
        """COPY the spooled issues into the transaction's `iss` table."""
        self._text.flush()
        self._file.seek(0)
        if self.count:
            await conn.copy_to_table(
                "iss",
                source=self._file,
                format="csv",
                null="",
                columns=["ord", "code", "field", "rule", "message", "kind"],
            )
        self._text.close()


@dataclass
class Counts:
    """What happened to the features of one upload."""

    received: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    duplicated: int = 0
    near_duplicates: int = 0
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per phase, for operators

    def as_dict(self) -> dict[str, Any]:
        """JSON form, stored in uploads.counts."""
        return dict(self.__dict__)


@dataclass
class UploadInfo:
    """The request's parameters, recorded with the report."""

    id: str
    collection: str
    mode: str
    match: str | None
    crs: str
    dry_run: bool
    actor: str
    filename: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


SAVE_SQL = (
    "INSERT INTO uploads (id, collection, status, mode, match, crs, dry_run, actor, filename, finished_at, "
    "counts, message) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, clock_timestamp(), $10, $11)"
)
SAVE_ISSUES_SQL = (
    "INSERT INTO upload_issues (upload_id, seq, kind, feature_index, asset_code, field, rule, message) "
    "SELECT $1, row_number() OVER (ORDER BY ord, kind, rule), kind, ord, code, field, rule, message FROM iss"
)
COUNT_SQL = (
    "SELECT count(DISTINCT ord) FILTER (WHERE kind = 'rejected') AS rejected, "
    "count(DISTINCT ord) FILTER (WHERE kind = 'duplicate_in_file' AND ord NOT IN "
    "(SELECT ord FROM iss WHERE kind = 'rejected')) AS duplicated, "
    "count(DISTINCT ord) FILTER (WHERE kind = 'near_duplicate') AS near_duplicates FROM iss"
)


async def save(conn: asyncpg.Connection, info: UploadInfo, status: str, counts: Counts, message: str) -> None:
    """Record the upload and its issues (in the caller's transaction)."""
    await conn.execute(
        SAVE_SQL,
        info.id,
        info.collection,
        status,
        info.mode,
        info.match,
        info.crs,
        info.dry_run,
        info.actor,
        info.filename,
        counts.as_dict(),
        message,
    )
    await conn.execute(SAVE_ISSUES_SQL, info.id)


async def load(
    conn: asyncpg.Connection, upload_id: str, offset: int = 0, limit: int = INLINE_ISSUES
) -> dict[str, Any]:
    """The report of an upload as JSON, issues paged."""
    row = await conn.fetchrow("SELECT * FROM uploads WHERE id = $1", upload_id)
    if row is None:
        raise NotFound(f"upload '{upload_id}' does not exist")
    total = await conn.fetchval("SELECT count(*) FROM upload_issues WHERE upload_id = $1", upload_id)
    issues = await conn.fetch(
        "SELECT kind, feature_index, asset_code, field, rule, message FROM upload_issues WHERE "
        "upload_id = $1 "
        "ORDER BY seq OFFSET $2 LIMIT $3",
        upload_id,
        offset,
        limit,
    )
    return {
        "id": row["id"],
        "collection": row["collection"],
        "status": row["status"],
        "mode": row["mode"],
        "match": row["match"],
        "crs": row["crs"],
        "dry_run": row["dry_run"],
        "actor": row["actor"],
        "started_at": row["started_at"].isoformat(),
        "finished_at": row["finished_at"].isoformat() if row["finished_at"] else None,
        "message": row["message"],
        "counts": row["counts"],
        "issues_total": total,
        "issues": [
            {
                k: v
                for k, v in {
                    "kind": i["kind"],
                    "index": i["feature_index"],
                    "code": i["asset_code"],
                    "field": i["field"],
                    "rule": i["rule"],
                    "message": i["message"],
                }.items()
                if v is not None
            }
            for i in issues
        ],
        "links": [{"rel": "self", "href": f"/uploads/{row['id']}"}],
    }
