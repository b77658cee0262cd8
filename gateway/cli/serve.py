"""`libgate serve` (and `--get PATH` for a one-shot answer), `libgate demo`."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from config.settings import Settings
from gateway.app import create_app
from gateway.cli.base import command, console, get_settings, main, run_async, setup_logging
from gateway.garbage_collection import tune_gc_for_serving
from gateway.store import Store


async def get_once(settings: Settings, path: str) -> tuple[int, str, str]:
    """Answer one GET through the whole app stack (on an ephemeral loopback port)."""
    async with TestClient(TestServer(create_app(settings))) as client:
        response = await client.get(path)
        return response.status, response.content_type, await response.text()


@command(main, "serve")
@click.option("--host", help="Listen address (setting `host`).")
@click.option("--port", type=int, help="Listen port (setting `port`).")
@click.option("--get", "get_path", metavar="PATH",
              help="Print the answer to one GET of PATH and exit (smoke test, no fixed port).")
def serve(ctx: click.Context, host: str | None, port: int | None, get_path: str | None) -> None:
    """Run the gateway's HTTP server."""
    settings = get_settings(ctx, host=host, port=port)
    setup_logging(settings)
    if get_path:
        status, _ctype, body = asyncio.run(get_once(settings, get_path))
        click.echo(body)
        sys.exit(0 if status < 400 else 1)
    console.print(f"LibGate on http://{settings.host}:{settings.port}/ (store {settings.db})")
    app = create_app(settings, schedule=True)
    tune_gc_for_serving()
    web.run_app(app, host=settings.host, port=settings.port, print=None)


@command(main, "demo")
@click.option("--dir", "directory", type=click.Path(file_okay=False), default="demo-data",
              show_default=True, help="Where the generated sample MARC files go.")
@click.option("--serve/--no-serve", "then_serve", default=True, show_default=True,
              help="Serve the gateway afterwards.")
def demo(ctx: click.Context, directory: str, then_serve: bool) -> None:
    """Load a generated sample consortium (3 members, overlapping holdings) and serve it."""
    from gateway.sample_data import load_sample_consortium

    async def action(store: Store, _s: Settings) -> list[str]:
        return await load_sample_consortium(store, Path(directory))
    for line in run_async(ctx, action):
        click.echo(line)
    if then_serve:
        settings = get_settings(ctx)
        base = f"http://{settings.host}:{settings.port}"
        click.echo(f"\nOpen {base}/ — members and counts. Also try:\n"
                   f"  {base}/api/search?q=pride        the union index (clusters, holders)\n"
                   f"  {base}/api/clusters/1/explain    why records were grouped\n"
                   f"  {base}/oai?verb=ListRecords&metadataPrefix=marc21   the merged catalogue\n"
                   f"  {base}/api/posture               who lends, who is closed\n"
                   "Ctrl-C stops.")
        app = create_app(settings, schedule=True)
        tune_gc_for_serving()
        web.run_app(app, host=settings.host, port=settings.port, print=None)
