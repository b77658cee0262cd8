"""`libgate ill request|list|show|act|advance|closed-loans`: the staff ILL API on the command line.

The CLI works on the store directly (whoever runs it has the database), acting for the member
named by ``--as`` (a staff principal of that member: the same tenant scoping as the API).
Messages to members' ISO 18626 endpoints are sent, signed with the gateway key, before the
command returns.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import click
from rich.table import Table

from gateway.broker import queries
from gateway.broker.engine import Broker
from gateway.cli.base import command, console, emit_json, main, run_async, subgroup
from gateway.registry import member_id
from gateway.security.keys import load_gateway_key
from gateway.security.tokens import Principal
from gateway.store import Store

ill = subgroup(main, "ill", "Interlibrary loan requests through the broker (issue 5).")
AS_MEMBER = click.option("--as", "member", required=True, metavar="CODE",
                         help="Act as staff of this member.")


async def _principal(store: Store, member: str) -> Principal:
    async with store.connect() as conn:
        return Principal("staff", member, await member_id(conn, member))


def _with_broker(member: str, work: Callable[[Broker, Principal], Awaitable[Any]]):
    async def action(store: Store, settings) -> Any:
        from pathlib import Path

        from connectors.http import make_session
        from gateway.store.engine import beside_database
        session = make_session(settings.http_timeout)
        try:
            broker = Broker(store, settings, load_gateway_key(settings.gateway_key_file,
                                                              settings.db), session,
                            files_dir=Path(settings.files_dir) if settings.files_dir
                            else beside_database(settings.db, "libgate-files"))
            result = await work(broker, await _principal(store, member))
            await broker.drain()
            return result
        finally:
            await session.close()
    return action


def _show(request: dict, as_json: bool) -> None:
    if as_json:
        emit_json(request)
        return
    console.print(f"[bold]{request['ref']}[/] (#{request['id']}) {request['service_type']} "
                  f"for {request['requester']}: {request['state']}, "
                  f"status {request['status'] or '-'} with {request['supplier'] or '-'}")
    for hold in request.get("holds") or []:
        console.print(f"  held: {hold['reason']}")
    table = Table("#", "lender", "outcome", "reason")
    for entry in request.get("rota", []):
        table.add_row(str(entry["position"]), entry["member"], entry["outcome"], entry["reason"])
    console.print(table)
    for left in request.get("excluded", []):
        console.print(f"  not asked: {left['member']} — {left['reason']}")


@command(ill, "request")
@AS_MEMBER
@click.option("--cluster", type=int, help="A cluster id of the union index.")
@click.option("--openurl", help="An OpenURL 1.0 query string.")
@click.option("--title")
@click.option("--author")
@click.option("--isbn")
@click.option("--issn")
@click.option("--oclc")
@click.option("--article-title", help="The article or chapter wanted (a Copy of a part).")
@click.option("--year", type=int)
@click.option("--volume")
@click.option("--issue")
@click.option("--pages")
@click.option("--service", "service_type", type=click.Choice(["Loan", "Copy"]), default="Loan",
              show_default=True)
@click.option("--accept-print", is_flag=True, default=None,
              help="A printed copy will do (lenders whose licence allows print ILL only).")
@click.option("--patron", "patron_ref", help="The patron reference (no personal data).")
@click.option("--needed-by", help="YYYY-MM-DD")
@click.option("--json", "as_json", is_flag=True)
def request_cmd(ctx: click.Context, member: str, as_json: bool, **fields: Any) -> None:
    """Ask the consortium for an item: builds the rota and sends to the first lender."""
    body = {k: v for k, v in fields.items() if v is not None}
    if "cluster" in body:
        body["cluster_id"] = body.pop("cluster")
    _show(run_async(ctx, _with_broker(member, lambda b, p: b.create(p, body))), as_json)


@command(ill, "list")
@click.option("--as", "member", metavar="CODE", help="Only this member's requests.")
@click.option("--role", type=click.Choice(queries.ROLES))
@click.option("--state")
@click.option("--json", "as_json", is_flag=True)
def list_cmd(ctx: click.Context, member: str | None, role: str | None, state: str | None,
             as_json: bool) -> None:
    """List requests (all of them without --as: the consortium office's view)."""
    async def action(store: Store, _settings) -> list[dict]:
        who = await _principal(store, member) if member else Principal("admin", None, None)
        async with store.connect() as conn:
            return await queries.list_requests(conn, who, role=role, state=state)
    found = run_async(ctx, action)
    if as_json:
        emit_json(found)
        return
    table = Table("id", "ref", "borrower", "service", "state", "status", "lender")
    for r in found:
        table.add_row(str(r["id"]), r["ref"], r["requester"], r["service_type"], r["state"],
                      r["status"] or "", r["supplier"] or "")
    console.print(table)


@command(ill, "closed-loans")
@click.option("--as", "member", metavar="CODE", help="Only loans this member is a party to.")
@click.option("--json", "as_json", is_flag=True)
def closed_loans(ctx: click.Context, member: str | None, as_json: bool) -> None:
    """Loans out from members closed today: not recalled automatically, listed for staff."""
    async def action(store: Store, _settings) -> dict:
        import datetime as dt

        from gateway.posture import effective_statuses
        who = await _principal(store, member) if member else Principal("admin", None, None)
        async with store.connect() as conn:
            statuses = await effective_statuses(conn, dt.datetime.now(dt.UTC).date())
            closed = sorted(code for code, s in statuses.items() if s.status == "closed")
            return {"closed": closed,
                    "loans": await queries.loans_at_closed_lenders(conn, who, closed)}
    found = run_async(ctx, action)
    if as_json:
        emit_json(found)
        return
    console.print("closed today: " + (", ".join(found["closed"]) or "none"))
    table = Table("id", "ref", "borrower", "lender", "status", "due")
    for r in found["loans"]:
        table.add_row(str(r["id"]), r["ref"], r["requester"], r["supplier"] or "",
                      r["status"] or "", r.get("due_date") or "")
    console.print(table)


@command(ill, "show")
@click.argument("request_id", type=int)
@AS_MEMBER
@click.option("--json", "as_json", is_flag=True)
def show_cmd(ctx: click.Context, request_id: int, member: str, as_json: bool) -> None:
    """One request with its rota (and, with --json, its full message history)."""
    _show(run_async(ctx, _with_broker(member, lambda b, p: b.show(p, request_id))), as_json)


@command(ill, "act")
@click.argument("request_id", type=int)
@click.argument("action")
@AS_MEMBER
@click.option("--note")
@click.option("--reason", help="Unfilled: the reason (ReasonUnfilled).")
@click.option("--due-date", help="Loaned / RenewResponse: YYYY-MM-DD.")
@click.option("--accept/--refuse", default=None, help="CancelResponse / RenewResponse.")
@click.option("--params", help="More parameters as a JSON object.")
@click.option("--json", "as_json", is_flag=True)
def act_cmd(ctx: click.Context, request_id: int, action: str, member: str, note: str | None,
            reason: str | None, due_date: str | None, accept: bool | None, params: str | None,
            as_json: bool) -> None:
    """Borrower: Received, ShippedReturn, Cancel, Renew, AcceptConditions, RejectConditions,
    Confirm. Lender served inside LibGate: WillSupply, ExpectToSupply, Unfilled, Loaned,
    CopyCompleted, Conditions, CancelResponse, RenewResponse, LoanCompleted, …"""
    extra = json.loads(params) if params else {}
    for name, value in (("note", note), ("reason", reason), ("due_date", due_date),
                        ("accept", accept)):
        if value is not None:
            extra[name] = value
    _show(run_async(ctx, _with_broker(member, lambda b, p: b.act(p, request_id, action, extra))),
          as_json)


@command(ill, "advance")
def advance_cmd(ctx: click.Context) -> None:
    """Move requests past their lender's response deadline (or at a closed lender) on now
    (what `libgate serve` does every `ill_check_interval` seconds)."""
    async def action(store: Store, settings) -> int:
        return await _with_broker_office(store, settings)
    click.echo(f"{run_async(ctx, action)} request(s) moved to their next lender")


async def _with_broker_office(store: Store, settings) -> int:
    from connectors.http import make_session
    session = make_session(settings.http_timeout)
    try:
        broker = Broker(store, settings,
                        load_gateway_key(settings.gateway_key_file, settings.db), session)
        moved = await broker.advance_overdue()
        await broker.drain()
        return moved
    finally:
        await session.close()
