"""cityassets.cli: the `cityassets` command (typer)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Optional

import typer

from cityassets.coverage.cli import indicators
from cityassets.demo.cli import demo_app
from cityassets.ingest.cli import upload
from cityassets.settings import get_settings

app = typer.Typer(help="cityassets: geospatial asset registry for city management.", no_args_is_help=True)
db_app = typer.Typer(help="Database: local cluster, migrations.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(token_app, name="token")
app.command()(upload)
app.add_typer(demo_app, name="demo")
app.command("indicators")(indicators)


@app.command()
def serve(
    host: Annotated[Optional[str], typer.Option(help="Bind address (default from settings)")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port (default 8000)")] = None,
    workers: Annotated[Optional[int], typer.Option(help="Worker processes")] = None,
) -> None:
    """Serve the API (OGC API - Features, WFS, uploads, indicators)."""
    import os

    from cityassets.api.balancer import serve as serve_app
    from cityassets.settings import PROJECT_ROOT

    s = get_settings()
    # `make stop` reads this to stop the service it started.
    pidfile = PROJECT_ROOT / ".run" / "serve.pid"
    pidfile.parent.mkdir(exist_ok=True)
    pidfile.write_text(str(os.getpid()))
    serve_app(host or s.host, port or s.port, workers or s.workers, log_level="warning", proxy_headers=True)


@db_app.command("up")
def db_up() -> None:
    """Start the project-local PostGIS cluster (no-op when DATABASE_URL points elsewhere)."""
    from cityassets.db import local_cluster

    s = get_settings()
    if not s.uses_local_cluster:
        typer.echo("DATABASE_URL is set: not starting a local cluster")
        return
    local_cluster.start(s)
    typer.echo(f"local PostGIS cluster running: {s.dsn}")


@db_app.command("down")
def db_down() -> None:
    """Stop the project-local cluster."""
    from cityassets.db import local_cluster

    s = get_settings()
    if s.uses_local_cluster:
        local_cluster.stop(s)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create the database named by DATABASE_URL if needed (PostGIS enabled) and migrate it to head."""
    from cityassets.db.admin import upgrade

    upgrade(get_settings().dsn)
    typer.echo("database at the current schema")


@db_app.command("url")
def db_url() -> None:
    """Print the database URL in use."""
    typer.echo(get_settings().dsn)


@token_app.command("create")
def token_create(
    role: Annotated[str, typer.Option(help="reader | surveyor | planner | admin")],
    owner: Annotated[Optional[str], typer.Option(help="Surveyor: the one owner organisation they may edit")] = None,
    district: Annotated[Optional[list[str]], typer.Option(help="Surveyor: district code(s) they may edit")] = None,
    label: Annotated[Optional[str], typer.Option(help="Who the token is for")] = None,
) -> None:
    """Create a bearer token and print it (only its hash is stored)."""
    import asyncpg

    from cityassets.auth.tokens import create_token
    from cityassets.errors import CityAssetsError

    async def run() -> str:
        conn = await asyncpg.connect(get_settings().dsn)
        try:
            return await create_token(conn, role, owner, district, label)
        finally:
            await conn.close()

    try:
        typer.echo(asyncio.run(run()))
    except CityAssetsError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from None
