"""`libgate settings`, `libgate db upgrade`."""

from __future__ import annotations

import click
from rich.table import Table

from config.settings import Settings
from gateway.cli.base import command, console, emit_json, get_settings, main, run_async, subgroup
from gateway.store import Store

SECRET_SETTINGS = ("admin_token", "oai_token_key")    # shown as *** when set


@command(main, "settings")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def settings_cmd(ctx: click.Context, as_json: bool) -> None:
    """Show every setting, its value and where the value came from."""
    settings = get_settings(ctx)
    rows = [{"name": k, "value": ("***" if k in SECRET_SETTINGS and v else v),
             "source": settings.sources[k]} for k, v in settings.values.items()]
    if as_json:
        emit_json(rows)
        return
    table = Table("setting", "value", "from")
    for row in rows:
        table.add_row(row["name"], str(row["value"]), row["source"])
    console.print(table)


db = subgroup(main, "db", "Database schema.")


@command(db, "upgrade")
def db_upgrade(ctx: click.Context) -> None:
    """Create or upgrade the schema (every command also does this when it opens the store)."""
    async def action(store: Store, _settings: Settings) -> None:
        await store.migrate()
    run_async(ctx, action)
    click.echo("schema is up to date")
