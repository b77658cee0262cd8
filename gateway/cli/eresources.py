"""`libgate eresources load`, `members status|policy`, `emergency declare|end`, `posture`,
`copyright report|decide`, `grants issue`, `etas checkout|renew|return|report`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from rich.table import Table

from gateway import access_links, copyright, eresources, etas, posture
from gateway.cli.base import command, console, emit_json, main, run_async, subgroup
from gateway.cli.members import members
from gateway.policy import get_policy, set_policy
from gateway.registry import RegistryError
from gateway.security.keys import load_gateway_key
from gateway.store import Store
from gateway.store.schema import MEMBER_STATUSES
from protocols.eresources.licence import LicenceError

eres = subgroup(main, "eresources", "Members' e-resource holdings (KBART) and licences.")
emergency = subgroup(main, "emergency", "The consortium-wide emergency flag.")
copyright_group = subgroup(main, "copyright", "Copyright compliance (CCG / CCL) of copies.")
grants = subgroup(main, "grants", "Access grants a member's proxy verifies offline.")


@command(eres, "load")
@click.argument("member")
@click.argument("kbart", type=click.Path(exists=True, dir_okay=False))
@click.option("--package", help="Package name (default: the file name without extension).")
@click.option("--licence", "licence_file", type=click.Path(exists=True, dir_okay=False),
              help="Licence terms (TOML, [[licence]] tables) replacing the member's licences.")
@click.option("--json", "as_json", is_flag=True)
def load(ctx: click.Context, member: str, kbart: str, package: str | None,
         licence_file: str | None, as_json: bool) -> None:
    """Load MEMBER's KBART title list; bad lines are reported, the rest loads."""
    package = package or Path(kbart).stem
    text = Path(kbart).read_text(encoding="utf-8", errors="replace")

    async def action(store: Store, _settings) -> tuple[eresources.LoadReport, int | None]:
        async with store.begin() as conn:
            report = await eresources.load_kbart(conn, member, package, text)
            count = None
            if licence_file:
                try:
                    count = await eresources.load_licences(
                        conn, member, Path(licence_file).read_text(), licence_file)
                except LicenceError as exc:
                    raise RegistryError(str(exc)) from None
            return report, count
    report, count = run_async(ctx, action)
    if as_json:
        emit_json({**report.to_json(), "licences": count})
    else:
        console.print(f"{member} / {package}: {report.loaded} titles loaded"
                      + (f", {count} licences" if count is not None else ""))
        for problem in report.problems:
            console.print(f"  [yellow]{kbart}: {problem}[/]", highlight=False)
    if not report.loaded:
        raise SystemExit(1)


def _date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


@command(members, "status")
@click.argument("code")
@click.argument("status", type=click.Choice(MEMBER_STATUSES))
@click.option("--reason")
@click.option("--from", "starts_on", metavar="YYYY-MM-DD")
@click.option("--until", "ends_on", metavar="YYYY-MM-DD")
def member_status(ctx: click.Context, code: str, status: str, reason: str | None,
                  starts_on: str | None, ends_on: str | None) -> None:
    """Set member CODE's service status (open, limited, closed, digital-only)."""
    async def action(store: Store, _settings):
        async with store.begin() as conn:
            return await posture.set_status(conn, code, status, reason=reason,
                                            starts_on=_date(starts_on), ends_on=_date(ends_on),
                                            set_by="cli")
    result = run_async(ctx, action)
    console.print(f"{code}: {result.status}" + (f" ({reason})" if reason else ""))


@command(members, "policy")
@click.argument("code")
@click.argument("changes", nargs=-1, metavar="KEY=VALUE...")
def member_policy(ctx: click.Context, code: str, changes: tuple[str, ...]) -> None:
    """Show or change CODE's lending policy, e.g. services=Copy link_max_views=3."""
    parsed = {}
    for change in changes:
        key, sep, value = change.partition("=")
        if not sep:
            raise click.BadParameter(f"{change!r} is not KEY=VALUE")
        parsed[key] = value

    async def action(store: Store, _settings):
        async with store.begin() as conn:
            if parsed:
                return await set_policy(conn, code, parsed)
            return await get_policy(conn, code)
    emit_json(run_async(ctx, action).to_json())


@command(emergency, "declare")
@click.option("--from", "starts_on", metavar="YYYY-MM-DD", help="Default: today.")
@click.option("--note")
def declare(ctx: click.Context, starts_on: str | None, note: str | None) -> None:
    """Declare a consortium-wide emergency."""
    async def action(store: Store, _settings):
        async with store.begin() as conn:
            await posture.declare_emergency(conn, _date(starts_on) or dt.date.today(), note,
                                            "cli")
    run_async(ctx, action)
    console.print("emergency declared")


@command(emergency, "end")
def end(ctx: click.Context) -> None:
    """End the emergency."""
    async def action(store: Store, _settings):
        async with store.begin() as conn:
            await posture.end_emergency(conn)
    run_async(ctx, action)
    console.print("emergency ended")


@command(main, "posture")
@click.option("--date", "day", metavar="YYYY-MM-DD", help="Default: today.")
@click.option("--json", "as_json", is_flag=True)
def show_posture(ctx: click.Context, day: str | None, as_json: bool) -> None:
    """Who is closed, and what share of the union catalogue still lends."""
    async def action(store: Store, _settings):
        async with store.connect() as conn:
            return await posture.posture(conn, _date(day) or dt.date.today())
    summary = run_async(ctx, action)
    if as_json:
        emit_json(summary)
        return
    emergency_now = summary["emergency"]
    console.print("emergency: " + (f"since {emergency_now['starts_on']} ({emergency_now['note']})"
                                   if emergency_now else "none"))
    table = Table("member", "status", "reason", "from", "until")
    for s in summary["statuses"]:
        table.add_row(s["member"], s["status"], s["reason"] or "", s["starts_on"] or "",
                      s["ends_on"] or "")
    console.print(table)
    def share(name: str) -> str:
        value = summary[f"share_{name}"]
        return f" ({value:.1%})" if value is not None else ""
    console.print(f"of {summary['clusters']} works: {summary['lendable_physically']}"
                  f"{share('lendable_physically')} lend physically, "
                  f"{summary['available_digitally']}{share('available_digitally')} are available "
                  f"digitally, {summary['not_available']}{share('not_available')} neither")


@command(copyright_group, "report")
@click.argument("member")
@click.argument("year", type=int)
@click.option("--json", "as_json", is_flag=True)
def report(ctx: click.Context, member: str, year: int, as_json: bool) -> None:
    """Copies per journal for MEMBER in YEAR: CCG, CCL, and those awaiting a decision."""
    async def action(store: Store, _settings):
        async with store.connect() as conn:
            return await copyright.report(conn, member, year)
    found = run_async(ctx, action)
    if as_json:
        emit_json(found)
        return
    table = Table("journal", "CCG", "CCL", "awaiting decision", "royalty", "refused")
    for t in found["titles"]:
        table.add_row(t["journal_title"] or t["title_key"], str(t["CCG"]), str(t["CCL"]),
                      ", ".join(f"#{i}" for i in t["needs_decision"]), str(t["royalty"]),
                      str(t["refused"]))
    console.print(table)


@command(copyright_group, "decide")
@click.argument("entry_id", type=int)
@click.argument("decision", type=click.Choice(copyright.DECISIONS))
def decide(ctx: click.Context, entry_id: int, decision: str) -> None:
    """Decide a flagged copy: pay a royalty, or refuse it."""
    async def action(store: Store, _settings):
        async with store.begin() as conn:
            await copyright.decide(conn, entry_id, decision)
    run_async(ctx, action)
    console.print(f"copy #{entry_id}: {decision}")


@command(grants, "issue")
@click.argument("member")
@click.argument("resource")
@click.option("--user", required=True, help="The member's patron reference.")
@click.option("--hours", type=float, default=24.0, show_default=True)
def issue(ctx: click.Context, member: str, resource: str, user: str, hours: float) -> None:
    """Print an access grant (EdDSA JWT) for USER of MEMBER to read RESOURCE."""
    async def action(store: Store, settings):
        from gateway.registry import get_member
        await get_member(store, member)                     # refuses an unknown member
        return load_gateway_key(settings.gateway_key_file, settings.db)
    key = run_async(ctx, action)
    token, _expires = access_links.issue_grant(key, member=member, resource=resource, user=user,
                                         hours=hours)
    click.echo(token)


etas_group = subgroup(main, "etas", "Emergency temporary access to digitized copies.")


@command(eres, "digitized")
@click.argument("member")
@click.argument("ids_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--url", help="Where the digitized copies are read (shown to staff).")
def digitized(ctx: click.Context, member: str, ids_file: str, url: str | None) -> None:
    """Mark MEMBER's records (local ids, one per line in IDS_FILE) as digitized copies."""
    ids = [line.strip() for line in Path(ids_file).read_text().splitlines() if line.strip()]

    async def action(store: Store, _settings):
        async with store.begin() as conn:
            return await etas.mark_digitized(conn, member, ids, url)
    console.print(f"{run_async(ctx, action)} records of {member} marked digitized")


@command(etas_group, "checkout")
@click.argument("member")
@click.argument("cluster", type=int)
@click.option("--reader", required=True, help="The member's patron reference.")
@click.option("--hours", type=float, default=24.0, show_default=True)
def etas_checkout(ctx: click.Context, member: str, cluster: int, reader: str,
                  hours: float) -> None:
    """Check out a digital copy of work CLUSTER for a reader of closed MEMBER."""
    async def action(store: Store, _settings):
        return await etas.checkout(store, member, cluster, reader, hours=hours)
    emit_json(run_async(ctx, action).to_json())


@command(etas_group, "renew")
@click.argument("checkout_id", type=int)
@click.option("--hours", type=float, default=24.0, show_default=True)
def etas_renew(ctx: click.Context, checkout_id: int, hours: float) -> None:
    """Renew an active digital checkout for HOURS from now."""
    async def action(store: Store, _settings):
        return await etas.renew(store, checkout_id, hours=hours)
    console.print(f"checkout {checkout_id} renewed until {run_async(ctx, action):%Y-%m-%d %H:%M} "
                  "UTC")


@command(etas_group, "return")
@click.argument("checkout_id", type=int)
def etas_return(ctx: click.Context, checkout_id: int) -> None:
    """Return a digital checkout (its print copy lends again)."""
    async def action(store: Store, _settings):
        await etas.return_checkout(store, checkout_id)
    run_async(ctx, action)
    console.print(f"checkout {checkout_id} returned")


@command(etas_group, "report")
def etas_report(ctx: click.Context) -> None:
    """Checkouts per member."""
    async def action(store: Store, _settings):
        async with store.connect() as conn:
            return await etas.report(conn)
    emit_json(run_async(ctx, action))
