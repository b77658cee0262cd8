"""`libgate clusters show|explain|split|merge|check|rebuild`: the union index for staff."""

from __future__ import annotations

import time
from typing import Any

import click
from rich.table import Table

from config.settings import Settings
from gateway.cli.base import command, console, emit_json, main, run_async, subgroup
from gateway.index import decisions, explain as explaining
from gateway.index.rebuild import check as check_index, rebuild as rebuild_index
from gateway.store import Store

clusters = subgroup(main, "clusters", "The union index: clusters of records of one work.")


def _print(text: str) -> None:
    console.print(text, markup=False, highlight=False)


@command(clusters, "show")
@click.argument("cluster_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(ctx: click.Context, cluster_id: int, as_json: bool) -> None:
    """The merged record of CLUSTER_ID, its sources and holdings."""
    async def action(store: Store, _s: Settings) -> dict:
        async with store.connect() as conn:
            return await explaining.cluster_detail(conn, cluster_id)
    detail = run_async(ctx, action)
    if as_json:
        emit_json(detail)
        return
    merged = detail["merged"]
    _print(f"cluster {detail['id']}{' (deleted)' if detail['deleted'] else ''}: "
           f"{detail['record_count']} records, updated {detail['updated_at']}")
    for name in ("title", "subtitle", "responsibility", "publisher", "year", "edition",
                 "format", "isbns", "oclc_numbers"):
        if merged.get(name) not in (None, [], ""):
            source = merged.get("provenance", {}).get(name, "")
            _print(f"  {name}: {merged[name]}" + (f"   [{source}]" if source else ""))
    table = Table("member", "record", "location", "call number", "lendable", "status")
    for h in merged.get("holdings", []):
        table.add_row(h["member"], h["local_id"], h["location"] or "", h["call_number"] or "",
                      {True: "yes", False: "no", None: "?"}[h["lendable"]], h["member_status"])
    console.print(table)


@command(clusters, "explain")
@click.argument("cluster_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def explain_cmd(ctx: click.Context, cluster_id: int, as_json: bool) -> None:
    """Why CLUSTER_ID's records are together: each link's rule and the values compared."""
    async def action(store: Store, _s: Settings) -> dict:
        async with store.connect() as conn:
            return await explaining.explain(conn, cluster_id)
    data = run_async(ctx, action)
    if as_json:
        emit_json(data)
        return
    _print(f"cluster {cluster_id}: {data['title']}")
    for r in data["records"]:
        _print(f"  {r['member']}:{r['local_id']}  {r['title']} ({r['year']}, {r['format']})")
    if not data["links"]:
        _print("  (one record: no links)")
    for link in data["links"]:
        _print(f"  {link['record_a']} ~ {link['record_b']}: {link['rule']}  {link['evidence']}")
    for d in data["decisions"]:
        _print(f"  decision {d['kind']}: {d['a']} / {d['b'] or 'alone'} "
               f"by {d['made_by'] or '?'}: {d['reason'] or ''}")


@command(clusters, "split")
@click.argument("cluster_id", type=int)
@click.argument("member")
@click.argument("local_id", metavar="ID")
@click.option("--reason", help="Why (kept with the decision).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def split_cmd(ctx: click.Context, cluster_id: int, member: str, local_id: str,
              reason: str | None, as_json: bool) -> None:
    """Take MEMBER's record ID out of CLUSTER_ID (kept apart from its records from now on)."""
    async def action(store: Store, _s: Settings) -> dict:
        async with store.begin() as conn:
            return await decisions.split(conn, cluster_id, member, local_id, made_by="cli",
                                         reason=reason)
    result = run_async(ctx, action)
    if as_json:
        emit_json(result)
        return
    _print(f"{result['record']} split out of cluster {cluster_id}: now in cluster "
           f"{result['new_cluster_id']}")


@command(clusters, "merge")
@click.argument("cluster_a", type=int)
@click.argument("cluster_b", type=int)
@click.option("--reason", help="Why (kept with the decision).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def merge_cmd(ctx: click.Context, cluster_a: int, cluster_b: int, reason: str | None,
              as_json: bool) -> None:
    """Force CLUSTER_A and CLUSTER_B together (survives re-harvests and rebuilds)."""
    async def action(store: Store, _s: Settings) -> dict:
        async with store.begin() as conn:
            return await decisions.merge(conn, cluster_a, cluster_b, made_by="cli",
                                         reason=reason)
    result = run_async(ctx, action)
    if as_json:
        emit_json(result)
        return
    _print(f"clusters {cluster_a} and {cluster_b} merged into cluster {result['cluster_id']}")


@command(clusters, "check")
@click.option("--repair", is_flag=True, help="Re-cluster the records of inconsistent groups.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def check_cmd(ctx: click.Context, repair: bool, as_json: bool) -> None:
    """Find (and with --repair fix) inconsistent clusters."""
    async def action(store: Store, _s: Settings) -> dict:
        async with store.begin() as conn:
            return await check_index(conn, repair=repair)
    report = run_async(ctx, action)
    if as_json:
        emit_json(report)
        return
    for name in ("unclustered", "not_clusterable", "without_keys", "bad_counts", "regroup"):
        _print(f"  {name}: {report[name]}")
    _print("consistent" if report["consistent"] else
           ("repaired" if report["repaired"] else "inconsistent: run with --repair"))
    if not report["consistent"] and not report["repaired"]:
        ctx.exit(1)


@command(clusters, "rebuild")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def rebuild_cmd(ctx: click.Context, as_json: bool) -> None:
    """Re-cluster every record (cluster ids stay stable where clusters keep records)."""
    async def action(store: Store, _s: Settings) -> dict[str, Any]:
        started = time.perf_counter()
        async with store.begin() as conn:
            result = await rebuild_index(conn)
        result["seconds"] = round(time.perf_counter() - started, 3)
        return result
    result = run_async(ctx, action)
    if as_json:
        emit_json(result)
        return
    _print(f"{result['records']} records in {result['clusters']} clusters "
           f"({result['changed']} changed) in {result['seconds']}s")
