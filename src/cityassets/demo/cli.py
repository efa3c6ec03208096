"""`cityassets demo`: load the demo city."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from cityassets.settings import get_settings

demo_app = typer.Typer(help="The demo city.", no_args_is_help=True)


@demo_app.command("load")
def demo_load(
    force: Annotated[bool, typer.Option("--force", help="Clear every collection and load again")] = False,
) -> None:
    """Load the demo city (no-op when it is already loaded)."""
    from cityassets.demo.load import load

    s = get_settings()
    try:
        report = asyncio.run(load(s.dsn, s.storage_srid, force=force))
    except Exception as exc:  # asyncpg errors: say what to do rather than a traceback
        import asyncpg

        if isinstance(exc, asyncpg.UndefinedTableError):
            typer.echo("error: the database has no schema yet; run `cityassets db upgrade` first", err=True)
            raise typer.Exit(1) from None
        if isinstance(exc, asyncpg.UniqueViolationError):
            typer.echo(f"error: the database already holds other data with the same keys ({exc.constraint_name}); "
                       "run `cityassets demo load --force` to replace every collection", err=True)
            raise typer.Exit(1) from None
        raise
    if not report.loaded:
        typer.echo("demo city already loaded (use --force to reload)")
        return
    counts = ", ".join(f"{k} {v}" for k, v in report.counts.items())
    typer.echo(f"demo city loaded in {report.seconds:.1f} s: {counts}")
