"""cityassets.ingest.cli: `cityassets upload FILE --collection trees` over HTTP, progress and report."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

MEDIA = {
    ".geojson": "application/geo+json",
    ".json": "application/geo+json",
    ".csv": "text/csv",
    ".gpkg": "application/geopackage+sqlite3",
    ".zip": "application/zip",
}
CHUNK = 1 << 20


def _chunks(path: Path, progress: Progress, task: Any) -> Iterator[bytes]:
    """The file in 1 MiB pieces; features are estimated from the newlines (one per line, as GDAL writes)."""
    lines = 0
    with path.open("rb") as fh:
        while block := fh.read(CHUNK):
            lines += block.count(b"\n")
            progress.update(task, advance=len(block), features=lines)
            yield block


def _media(path: Path) -> tuple[str, str | None]:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        return MEDIA.get(suffixes[-2] if len(suffixes) > 1 else "", "application/geo+json"), "gzip"
    media = MEDIA.get(suffixes[-1] if suffixes else "")
    if media is None:
        raise typer.BadParameter(f"cannot tell the format of {path.name}: use .geojson, .csv, .gpkg or .zip")
    return media, None


def _table(report: dict[str, Any], console: Console, limit: int = 50) -> None:
    counts = Table(title=f"upload {report.get('id', '')} - {report.get('status', '')}")
    for key in ("received", "inserted", "updated", "unchanged", "rejected", "duplicated", "near_duplicates"):
        counts.add_column(key.replace("_", " "), justify="right")
    c = report.get("counts", {})
    counts.add_row(
        *(
            f"{c.get(k, 0):,}"
            for k in (
                "received",
                "inserted",
                "updated",
                "unchanged",
                "rejected",
                "duplicated",
                "near_duplicates",
            )
        )
    )
    console.print(counts)
    issues = report.get("issues") or []
    if issues:
        t = Table(
            title=f"issues (first {min(limit, len(issues))} of {report.get('issues_total', len(issues)):,})"
        )
        for col in ("index", "code", "field", "rule", "message"):
            t.add_column(col)
        for i in issues[:limit]:
            t.add_row(str(i.get("index", "")), i.get("code", ""), i.get("field", ""), i["rule"], i["message"])
        console.print(t)


def upload(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, help="GeoJSON, CSV, GeoPackage or zipped Shapefile (.gz for gzip)"
        ),
    ],
    collection: Annotated[str, typer.Option(help="Target collection, e.g. trees")],
    crs: Annotated[str | None, typer.Option(help="CRS of the coordinates (EPSG:4547, GCJ02...)")] = None,
    partial: Annotated[
        bool, typer.Option("--partial", help="Write the valid features, list the rejected")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate and report, write nothing")] = False,
    match: Annotated[str | None, typer.Option(help="asset_code, an external id field, or none")] = None,
    url: Annotated[str, typer.Option(envvar="CITYASSETS_URL", help="Service URL")] = "http://127.0.0.1:8000",
    token: Annotated[str | None, typer.Option(envvar="CITYASSETS_TOKEN", help="Bearer token")] = None,
) -> None:
    """Upload a survey file; exits 0 only when no feature was rejected."""
    console = Console(stderr=True)
    media, encoding = _media(file)
    params = {"mode": "partial" if partial else "atomic", "dry_run": str(dry_run).lower()}
    params.update({k: v for k, v in (("crs", crs), ("match", match)) if v})
    headers = {"Content-Type": media, "Content-Disposition": f'attachment; filename="{file.name}"'}
    if encoding:
        headers["Content-Encoding"] = encoding
    if token:
        headers["Authorization"] = f"Bearer {token}"
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TextColumn("~{task.fields[features]:,} features"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(file.name, total=os.path.getsize(file), features=0)
        try:
            r = httpx.post(
                f"{url.rstrip('/')}/collections/{collection}/uploads",
                params=params,
                headers=headers,
                content=_chunks(file, progress, task),
                timeout=httpx.Timeout(3600, connect=10),
            )
        except httpx.HTTPError as exc:
            console.print(f"[red]upload failed: {exc}")
            raise typer.Exit(2) from None
    body = r.json() if r.headers.get("content-type", "").endswith("json") else {"description": r.text}
    report = body.get("upload", body) if r.status_code == 422 else body
    if r.status_code == 422 and "issues" in body:
        report = {**report, "issues": body["issues"]}
    if r.status_code not in (200, 422) or "counts" not in report:
        console.print(f"[red]{r.status_code}: {body.get('description', body)}")
        raise typer.Exit(2)
    _table(report, console)
    c = report["counts"]
    raise typer.Exit(0 if not (c.get("rejected") or c.get("duplicated")) and r.status_code == 200 else 1)


__all__ = ["upload"]
