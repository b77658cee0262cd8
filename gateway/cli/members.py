"""`libgate members add|list|show|update|remove|import`."""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table

from config.settings import Settings
from gateway import registry
from gateway.cli.base import command, console, emit_json, get_settings, main, run_async, subgroup
from gateway.harvest.probe import make_prober
from gateway.registry import EndpointSpec
from gateway.store import Store
from gateway.store.schema import MEMBER_STATUSES

members = subgroup(main, "members", "The member registry: libraries and their endpoints.")


def endpoint_options(fn: Any) -> Any:
    for option in reversed([
        click.option("--oai", multiple=True, metavar="URL", help="OAI-PMH base URL."),
        click.option("--prefix", help="OAI-PMH metadataPrefix (default marc21)."),
        click.option("--set", "set_spec", help="OAI-PMH set to harvest."),
        click.option("--marc-file", multiple=True, metavar="PATH|URL",
                     help="A MARC export (ISO 2709 or MARCXML) by path or URL."),
        click.option("--sru", multiple=True, metavar="URL", help="SRU base URL."),
        click.option("--sru-query", metavar="CQL",
                     help="CQL query that harvests the SRU endpoint (default cql.allRecords=1)."),
        click.option("--iso18626", multiple=True, metavar="URL",
                     help="The member's ISO 18626 ILL endpoint."),
        click.option("--schedule", metavar="CRON",
                     help="Harvest schedule of the endpoints given, e.g. '0 2 * * *'."),
        click.option("--no-probe", is_flag=True,
                     help="Register OAI-PMH endpoints without checking that they answer."),
    ]):
        fn = option(fn)
    return fn


def endpoint_specs(oai: tuple[str, ...], prefix: str | None, set_spec: str | None,
                   marc_file: tuple[str, ...], sru: tuple[str, ...], sru_query: str | None,
                   iso18626: tuple[str, ...], schedule: str | None) -> list[EndpointSpec]:
    specs = [EndpointSpec("oai-pmh", url=u, metadata_prefix=prefix, set_spec=set_spec,
                          schedule=schedule) for u in oai]
    for source in marc_file:
        remote = source.startswith(("http://", "https://"))
        specs.append(EndpointSpec("marc-file", url=source if remote else None,
                                  path=None if remote else source, schedule=schedule))
    specs += [EndpointSpec("sru", url=u, schedule=schedule,
                           options={"query": sru_query} if sru_query else {}) for u in sru]
    specs += [EndpointSpec("iso18626", url=u) for u in iso18626]
    if (prefix or set_spec) and not oai:
        raise registry.RegistryError("--prefix and --set go with --oai URL")
    if sru_query and not sru:
        raise registry.RegistryError("--sru-query goes with --sru URL")
    return specs


def print_member(member: dict) -> None:
    console.print(f"[bold]{member['code']}[/bold]  {member['name']}")
    console.print(f"  status: {member['status']}"
                  + (f" ({member['status_reason']})" if member.get("status_reason") else ""))
    if member.get("contact"):
        console.print(f"  contact: {member['contact']}")
    for e in member["endpoints"]:
        where = e["url"] or e["path"]
        extra = ", ".join(f"{k}={e[k]}" for k in ("metadata_prefix", "set", "schedule") if e[k])
        console.print(f"  endpoint #{e['id']} {e['type']}: {where}" + (f"  ({extra})"
                                                                       if extra else ""))


@command(members, "add")
@click.argument("code")
@click.option("--name", required=True, help="The library's name.")
@click.option("--contact", help="Contact (e-mail of the ILL desk).")
@click.option("--status", type=click.Choice(MEMBER_STATUSES), default="open", show_default=True)
@endpoint_options
@click.option("--json", "as_json", is_flag=True, help="Print the member as JSON.")
def add(ctx: click.Context, code: str, name: str, contact: str | None, status: str,
        as_json: bool, no_probe: bool, **endpoint_flags: Any) -> None:
    """Register a member library with its endpoints (OAI-PMH endpoints are checked first)."""
    specs = endpoint_specs(**endpoint_flags)

    async def action(store: Store, settings: Settings) -> dict:
        return await registry.add_member(store, code, name, contact=contact, status=status,
                                         endpoint_specs=specs,
                                         probe=None if no_probe else make_prober(settings))
    member = run_async(ctx, action)
    emit_json(member) if as_json else print_member(member)


@command(members, "list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_(ctx: click.Context, as_json: bool) -> None:
    """List the members."""
    async def action(store: Store, _s: Settings) -> list[dict]:
        return await registry.list_members(store)
    rows = run_async(ctx, action)
    if as_json:
        emit_json(rows)
        return
    table = Table("code", "name", "status", "endpoints")
    for m in rows:
        table.add_row(m["code"], m["name"], m["status"],
                      ", ".join(e["type"] for e in m["endpoints"]))
    console.print(table)


@command(members, "show")
@click.argument("code")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(ctx: click.Context, code: str, as_json: bool) -> None:
    """Show one member with its endpoints."""
    async def action(store: Store, _s: Settings) -> dict:
        return await registry.get_member(store, code)
    member = run_async(ctx, action)
    emit_json(member) if as_json else print_member(member)


@command(members, "update")
@click.argument("code")
@click.option("--name")
@click.option("--contact")
@click.option("--status", type=click.Choice(MEMBER_STATUSES))
@click.option("--reason", help="Why the status changed (shown to staff).")
@endpoint_options
@click.option("--remove-endpoint", type=int, multiple=True, metavar="ID",
              help="Remove the endpoint with this id (see `members show`).")
@click.option("--json", "as_json", is_flag=True, help="Print the member as JSON.")
def update(ctx: click.Context, code: str, name: str | None, contact: str | None,
           status: str | None, reason: str | None, remove_endpoint: tuple[int, ...],
           as_json: bool, no_probe: bool, **endpoint_flags: Any) -> None:
    """Change a member: name, contact, service status, endpoints."""
    specs = endpoint_specs(**endpoint_flags)

    async def action(store: Store, settings: Settings) -> dict:
        return await registry.update_member(store, code, name=name, contact=contact,
                                            status=status, status_reason=reason,
                                            add_endpoints=specs,
                                            remove_endpoints=list(remove_endpoint),
                                            probe=None if no_probe else make_prober(settings))
    member = run_async(ctx, action)
    emit_json(member) if as_json else print_member(member)


@command(members, "remove")
@click.argument("code")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def remove(ctx: click.Context, code: str, yes: bool) -> None:
    """Remove a member with its endpoints, records and holdings."""
    if not yes:
        click.confirm(f"Remove member {code} and all its records?", abort=True)

    async def action(store: Store, _s: Settings) -> None:
        await registry.remove_member(store, code)
    run_async(ctx, action)
    click.echo(f"removed {code}")


@command(members, "import")
@click.option("--no-probe", is_flag=True,
              help="Register OAI-PMH endpoints without checking that they answer.")
def import_(ctx: click.Context, no_probe: bool) -> None:
    """Register (or update) the [[members]] of the --config consortium file."""
    settings = get_settings(ctx)
    if settings.config_file is None:
        raise click.UsageError("members import needs --config FILE")

    async def action(store: Store, s: Settings) -> list[str]:
        return await registry.import_members(store, s.members, str(s.config_file),
                                             probe=None if no_probe else make_prober(s))
    codes = run_async(ctx, action)
    click.echo(f"imported {len(codes)} members: {', '.join(codes)}")
