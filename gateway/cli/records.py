"""`libgate ingest`, `stats`, `records show`, `quarantine list`, `runs`."""

from __future__ import annotations

import base64

import click
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from config.settings import Settings
from gateway import catalogue
from gateway.cli.base import command, console, emit_json, err_console, main, run_async, subgroup
from gateway.ingest import IngestReport, ingest
from gateway.store import Store
from protocols.errors import MarcError
from protocols.marc import RawRecord, decode_record


@command(main, "ingest")
@click.argument("member")
@click.argument("source", metavar="FILE_OR_URL")
@click.option("--replace", is_flag=True,
              help="Mark the member's records that are absent from this file as deleted "
                   "(never when the file yields no records).")
@click.option("--json", "as_json", is_flag=True, help="Print the run report as JSON.")
def ingest_cmd(ctx: click.Context, member: str, source: str, replace: bool,
               as_json: bool) -> None:
    """Ingest a MARC file (ISO 2709 MARC-8/UTF-8, or MARCXML) for MEMBER."""
    progress = Progress(TextColumn("{task.description}"), BarColumn(pulse_style="cyan"),
                        TextColumn("{task.fields[counts]}"), TimeElapsedColumn(),
                        console=err_console, transient=True, disable=as_json)

    async def action(store: Store, settings: Settings) -> IngestReport:
        task = progress.add_task(f"{member} ← {source}", total=None, counts="")

        def show(report: IngestReport) -> None:
            progress.update(task, counts=f"{report.records_read} read · {report.added} added · "
                                         f"{report.updated} updated · "
                                         f"{report.quarantined} quarantined")
        with progress:
            return await ingest(store, member, source, replace=replace,
                                batch_size=settings.ingest_batch_size, progress=show,
                                workers=settings.harvest_workers)
    report = run_async(ctx, action)
    if as_json:
        emit_json(report.to_dict())
        return
    console.print(f"{report.member}: {report.records_read} records read from {report.source} "
                  f"in {report.seconds:.1f}s — {report.added} added, {report.updated} updated, "
                  f"{report.unchanged} unchanged, {report.deleted} deleted, "
                  f"{report.quarantined} quarantined")
    if report.renamed:
        console.print(f"  {len(report.renamed)} repeated record ids stored under new ids, "
                      f"e.g. {report.renamed[0][0]!r} → {report.renamed[0][1]!r}")
    if report.quarantined:
        console.print(f"  see `libgate quarantine list --member {report.member}`")


@command(main, "stats")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def stats_cmd(ctx: click.Context, as_json: bool) -> None:
    """Totals, and per member: records, deleted, quarantined, holdings."""
    async def action(store: Store, _s: Settings) -> dict:
        return await catalogue.stats(store)
    data = run_async(ctx, action)
    if as_json:
        emit_json(data)
        return
    table = Table("member", "status", "records", "deleted", "quarantined", "holdings")
    for m in data["members"]:
        table.add_row(m["code"], m["status"], str(m["records"]), str(m["deleted"]),
                      str(m["quarantined"]), str(m["holdings"]))
    table.add_row("[bold]total[/bold]", "", str(data["records"]), str(data["deleted"]),
                  str(data["quarantined"]), str(data["holdings"]))
    console.print(table)


records = subgroup(main, "records", "Member records, normalized and raw.")


@command(records, "show")
@click.argument("member")
@click.argument("local_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (raw bytes in base64).")
def show(ctx: click.Context, member: str, local_id: str, as_json: bool) -> None:
    """Show one record: the normalized form, holdings, and the raw record."""
    async def action(store: Store, _s: Settings) -> dict:
        return await catalogue.record_detail(store, member, local_id)
    detail = run_async(ctx, action)
    if as_json:
        emit_json(detail)
        return
    norm = detail["normalized"]
    console.print(f"[bold]{member} {local_id}[/bold]" + ("  [red](deleted)[/red]"
                                                          if detail["deleted"] else ""))
    for key, value in norm.items():
        if value not in (None, [], "") and key not in ("holdings", "local_id"):
            console.print(f"  {key}: {value}", markup=False, highlight=False)
    for h in detail["holdings"]:
        console.print(f"  holding: {h['location']} {h['call_number'] or ''} "
                      f"lendable={h['lendable']}", markup=False)
    console.print("raw:", style="bold")
    console.print(raw_text(detail["raw"]), markup=False, highlight=False)


def raw_text(raw: dict) -> str:
    """MARCXML as it is; ISO 2709 in the MARC breaker text form (via the reader)."""
    if "text" in raw:
        return raw["text"]
    data = base64.b64decode(raw["base64"])
    try:
        return str(decode_record(RawRecord(1, 0, data, "iso2709")).record)
    except MarcError:
        return data.decode("latin-1")


quarantine = subgroup(main, "quarantine", "Records that could not be read, kept with raw bytes.")


@command(quarantine, "list")
@click.option("--member", help="Only this member's entries.")
@click.option("--limit", type=int, default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--raw", is_flag=True, help="With --json: include the raw bytes (base64).")
def quarantine_list(ctx: click.Context, member: str | None, limit: int, as_json: bool,
                    raw: bool) -> None:
    """List quarantined records: member, source, position, reason."""
    async def action(store: Store, _s: Settings) -> dict:
        return await catalogue.quarantine_list(store, member, limit=limit, with_raw=raw)
    data = run_async(ctx, action)
    if as_json:
        emit_json(data)
        return
    table = Table("id", "member", "source", "position", "reason", "detail", "bytes")
    for e in data["entries"]:
        table.add_row(str(e["id"]), e["member"], e["source"] or "", str(e["position"] or "-"),
                      e["reason"], (e["detail"] or "")[:80], str(e["raw_bytes"]))
    console.print(table)
    console.print(f"{data['total']} quarantined in all")


@command(main, "runs")
@click.option("--member", help="Only this member's runs.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def runs(ctx: click.Context, member: str | None, as_json: bool) -> None:
    """Past ingest and harvest runs with their counts."""
    async def action(store: Store, _s: Settings) -> list[dict]:
        return await catalogue.runs_list(store, member)
    data = run_async(ctx, action)
    if as_json:
        emit_json(data)
        return
    table = Table("id", "member", "kind", "status", "read", "added", "updated", "deleted",
                  "quarantined", "seconds", "error")
    for r in data:
        table.add_row(str(r["id"]), r["member"], r["kind"], r["status"], str(r["records_read"]),
                      str(r["added"]), str(r["updated"]), str(r["deleted"]),
                      str(r["quarantined"]),
                      f"{r['seconds']:.1f}" if r["seconds"] is not None else "",
                      r["error"] or "")
    console.print(table)
