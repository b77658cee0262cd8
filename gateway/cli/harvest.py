"""`libgate harvest`, `libgate harvests`, `libgate sru-search`."""

from __future__ import annotations

import click
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from config.settings import Settings
from connectors.http import HttpClient, make_session
from connectors.sru import SruConnector
from gateway import catalogue, registry
from gateway.cli.base import command, console, emit_json, err_console, main, run_async
from gateway.harvest.convert import marcxml_to_incoming
from gateway.harvest.report import HarvestReport
from gateway.harvest.runner import Harvester, Target, retry_policy, targets
from gateway.store import Store
from gateway.store.records import IncomingRecord


def _counts(report: HarvestReport) -> str:
    return (f"{report.pages} pages · {report.records_read} records · +{report.added} "
            f"~{report.updated} -{report.deleted} · {report.quarantined} quarantined · "
            f"{report.retries} retries")


@command(main, "harvest")
@click.argument("codes", nargs=-1, metavar="[MEMBER]...")
@click.option("--full", is_flag=True, help="Harvest everything, not only what changed.")
@click.option("--json", "as_json", is_flag=True, help="Print the run reports as JSON.")
def harvest(ctx: click.Context, codes: tuple[str, ...], full: bool, as_json: bool) -> None:
    """Harvest the named members (all by default) concurrently."""
    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                        TextColumn("{task.fields[state]}"), TextColumn("{task.fields[counts]}"),
                        TimeElapsedColumn(), console=err_console, disable=as_json)

    async def action(store: Store, settings: Settings) -> list[HarvestReport]:
        chosen = await targets(store, list(codes) or None)
        tasks = {t.endpoint.id: progress.add_task(f"{t.member} {t.endpoint.type}",
                                                  state="waiting", counts="") for t in chosen}

        def progress_for(target: Target):
            def show(report: HarvestReport) -> None:
                progress.update(tasks[target.endpoint.id], state=report.status,
                                counts=_counts(report))
            return show
        with progress:
            reports = await Harvester(store, settings).harvest_all(chosen, full=full,
                                                                   progress_for=progress_for)
            for target, report in zip(chosen, reports, strict=True):
                progress.update(tasks[target.endpoint.id], state=report.status,
                                counts=_counts(report))
        return reports
    reports = run_async(ctx, action)
    if as_json:
        emit_json([r.to_dict() for r in reports])
    else:
        if not reports:
            console.print("no harvestable endpoints (oai-pmh, sru, marc-file) registered")
        for r in reports:
            line = f"{r.member} {r.endpoint_type} #{r.endpoint_id}: {r.status} — {_counts(r)}"
            console.print(line + (f"\n  {r.error}" if r.error else ""), markup=False)
    if any(r.status == "failed" for r in reports):
        ctx.exit(1)


@command(main, "harvests")
@click.option("--member", help="Only this member's runs.")
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def harvests(ctx: click.Context, member: str | None, limit: int, as_json: bool) -> None:
    """Past harvest runs: counts, duration, server responseDate, outcome and error."""
    async def action(store: Store, _s: Settings) -> list[dict]:
        return await catalogue.runs_list(store, member, limit, kind="harvest")
    rows = run_async(ctx, action)
    if as_json:
        emit_json(rows)
        return
    table = Table("id", "member", "status", "pages", "added", "updated", "deleted",
                  "quarantined", "retries", "seconds", "responseDate", "error")
    for r in rows:
        table.add_row(str(r["id"]), r["member"], r["status"], str(r["pages"]), str(r["added"]),
                      str(r["updated"]), str(r["deleted"]), str(r["quarantined"]),
                      str(r["retries"]), f"{r['seconds']:.1f}" if r["seconds"] else "",
                      r["response_date"] or "", (r["error"] or "")[:60])
    console.print(table)


@command(main, "sru-search")
@click.argument("member")
@click.argument("query")
@click.option("--max", "maximum", type=int, default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def sru_search(ctx: click.Context, member: str, query: str, maximum: int,
               as_json: bool) -> None:
    """Search MEMBER's SRU endpoint live with a CQL QUERY."""
    async def action(store: Store, settings: Settings) -> dict:
        rows = await registry.member_endpoints(store, member, "sru")
        if not rows:
            raise registry.RegistryError(f"member {member!r} has no sru endpoint")
        async with make_session(settings.http_timeout) as session:
            http = HttpClient(session, retry_policy(settings), max_bytes=settings.max_xml_bytes)
            page = await SruConnector(rows[0].url, http).search(query, maximum_records=maximum)
        found = []
        for record in page.records:
            outcome = marcxml_to_incoming(None, record.data, record.position)
            if isinstance(outcome, IncomingRecord) and outcome.normalized:
                n = outcome.normalized
                found.append({"id": n.local_id, "title": n.title, "authors": n.authors,
                              "year": n.year, "isbns": n.isbns})
        return {"total": page.number_of_records, "records": found}
    result = run_async(ctx, action)
    if as_json:
        emit_json(result)
        return
    console.print(f"{result['total']} hits")
    for r in result["records"]:
        console.print(f"  {r['id']}: {r['title']} — {'; '.join(r['authors'])} ({r['year']})",
                      markup=False)


@command(main, "onboard")
@click.argument("code")
@click.option("--name", required=True, help="The library's name.")
@click.option("--oai", metavar="URL", help="OAI-PMH base URL.")
@click.option("--prefix", help="OAI-PMH metadataPrefix (default marc21).")
@click.option("--set", "set_spec", help="OAI-PMH set to harvest.")
@click.option("--marc-file", metavar="PATH|URL", help="A MARC export instead of OAI-PMH.")
@click.option("--no-probe", is_flag=True, help="Skip the OAI-PMH registration probe.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def onboard_command(ctx: click.Context, code: str, name: str, oai: str | None,
                    prefix: str | None, set_spec: str | None, marc_file: str | None,
                    no_probe: bool, as_json: bool) -> None:
    """Register, probe, harvest and cluster a new member in one go; print what it adds."""
    from gateway.onboard import onboard
    from gateway.registry import EndpointSpec

    specs = []
    if oai:
        specs.append(EndpointSpec("oai-pmh", url=oai, metadata_prefix=prefix, set_spec=set_spec))
    if marc_file:
        remote = marc_file.startswith(("http://", "https://"))
        specs.append(EndpointSpec("marc-file", url=marc_file if remote else None,
                                  path=None if remote else marc_file))
    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                        TextColumn("{task.fields[state]}"), TextColumn("{task.fields[counts]}"),
                        TimeElapsedColumn(), console=err_console, disable=as_json)

    async def action(store: Store, settings: Settings):
        step = progress.add_task(code, state="", counts="")

        def progress_for(target: Target):
            def show(report: HarvestReport) -> None:
                progress.update(step, state=report.status, counts=_counts(report))
            return show
        with progress:
            return await onboard(store, settings, code, name, specs, probe=not no_probe,
                                 on_step=lambda s: progress.update(step, state=s),
                                 progress_for=progress_for)
    summary = run_async(ctx, action)
    if as_json:
        emit_json(summary.to_json())
    else:
        for r in summary.reports:
            console.print(f"{r.endpoint_type}: {r.status} — {_counts(r)}"
                          + (f"\n  {r.error}" if r.error else ""), markup=False)
        unmarked = summary.works - summary.requestable
        console.print(f"{code} is in the union catalogue: {summary.works} works, "
                      f"{summary.requestable} requestable from it"
                      + (f" ({unmarked} with no copy its item data marks lendable)"
                         if unmarked else "")
                      + f", {summary.new_to_consortium} new to the consortium")
    if any(r.status == "failed" for r in summary.reports):
        ctx.exit(1)
