"""`libgate oai refresh-sets`: rebuild the OAI-PMH sets of every cluster."""

from __future__ import annotations

import click

from config.settings import Settings
from gateway.cli.base import command, main, run_async, subgroup
from gateway.oai_provider import refresh_all_sets
from gateway.store import Store

oai = subgroup(main, "oai", "The union catalogue's OAI-PMH provider (/oai).")


@command(oai, "refresh-sets")
def refresh_sets_cmd(ctx: click.Context) -> None:
    """Recompute cluster_sets from every cluster's merged record (the index keeps them up to
    date as it works; this is for a store clustered before the provider existed)."""
    async def action(store: Store, _settings: Settings) -> int:
        return await refresh_all_sets(store)
    click.echo(f"sets refreshed for {run_async(ctx, action)} clusters")
