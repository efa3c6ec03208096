"""cityassets.coverage.cli: `cityassets indicators [ID] [--district] [--method] [--format table|json|csv]`."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sys
from typing import Annotated, Any, Optional

import typer

from cityassets.errors import CityAssetsError

FORMATS = ("table", "json", "csv")


async def _run(ids: list[str], district: str | None, method: str, params: dict[str, str]) -> list[dict[str, Any]]:
    import asyncpg
    from rich.progress import Progress

    from cityassets.coverage import engine
    from cityassets.settings import get_settings

    conn = await asyncpg.connect(get_settings().dsn)
    out = []
    try:
        with Progress(transient=True, console=_stderr()) as progress:
            task = progress.add_task("computing indicators", total=len(ids))
            for ind in ids:
                progress.update(task, description=f"computing {ind}")
                out.append(await engine.compute(conn, ind, params, district, method))
                progress.advance(task)
    finally:
        await conn.close()
    return out


def _stderr() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def _fmt(v: Any) -> str:
    return "" if v is None else f"{v:.2f}" if isinstance(v, float) else str(v)


def _rows(results: list[dict[str, Any]]) -> list[list[str]]:
    rows = []
    for r in results:
        rows.append([r["id"], "city", _fmt(r["value"]), r["unit"], _fmt(r["target"]), _fmt(r["met"])])
        rows += [[r["id"], d["district_code"] or "", _fmt(d["value"]), r["unit"], _fmt(r["target"]), _fmt(d["met"])]
                 for d in r["by_district"]]
    return rows


def indicators(
    indicator: Annotated[Optional[str], typer.Argument(help="Indicator id (default: all)")] = None,
    district: Annotated[Optional[str], typer.Option(help="Only this district (6-digit code)")] = None,
    method: Annotated[str, typer.Option(help="euclidean | network")] = "euclidean",
    format: Annotated[str, typer.Option("--format", help="table | json | csv")] = "table",
    param: Annotated[Optional[list[str]], typer.Option(help="Parameter override NAME=VALUE (repeatable)")] = None,
) -> None:
    """Compute planning indicators: value, target and met, per district."""
    from cityassets.coverage.catalogue import get_indicator, indicators as catalogue

    try:
        if format not in FORMATS:
            raise typer.BadParameter(f"--format must be one of {', '.join(FORMATS)}")
        ids = [get_indicator(indicator).id] if indicator else list(catalogue())
        params = dict(p.split("=", 1) for p in param or [] if "=" in p)
        results = asyncio.run(_run(ids, district, method, params))
    except CityAssetsError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from None
    if format == "json":
        typer.echo(json.dumps(results, ensure_ascii=False, indent=1, default=str))
    elif format == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["indicator", "district_code", "value", "unit", "target", "met"])
        w.writerows(_rows(results))
        sys.stdout.write(buf.getvalue())
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table("indicator", "district", "value", "unit", "target", "met")
        for row in _rows(results):
            table.add_row(*row)
        Console().print(table)
