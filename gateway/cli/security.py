"""`libgate members keygen|keys|add-key` and `libgate tokens create|list|revoke`."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import click
from rich.table import Table

from gateway.cli.base import command, console, emit_json, main, run_async, subgroup
from gateway.cli.members import members
from gateway.security import keys as member_keys
from gateway.security import tokens as api_tokens
from gateway.store import Store

tokens = subgroup(main, "tokens", "Staff and consortium-admin API tokens (stored hashed).")


@command(members, "keygen")
@click.argument("code")
@click.option("--out", type=click.Path(dir_okay=False, writable=True),
              help="Write the private key (PEM, mode 0600) here; default: print it.")
@click.option("--json", "as_json", is_flag=True, help="Print the registered key as JSON.")
def keygen(ctx: click.Context, code: str, out: str | None, as_json: bool) -> None:
    """Create an Ed25519 signing key for member CODE (rotates: old keys keep a grace period).

    The public key is registered; the private key is shown once and never stored.
    """
    async def action(store: Store, settings) -> tuple[member_keys.MemberKey, bytes]:
        async with store.begin() as conn:
            return await member_keys.create_member_key(
                conn, code, grace=timedelta(days=settings.key_grace_days))
    key, pem = run_async(ctx, action)
    if out:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
    if as_json:
        emit_json({**key.to_json(), "private_key_file": out})
        return
    console.print(f"registered key [bold]{key.key_id}[/] for {code}: {key.public_key}")
    if out:
        console.print(f"private key written to {out} (keep it at the member; not stored here)")
    else:
        click.echo(pem.decode(), nl=False)


@command(members, "add-key")
@click.argument("code")
@click.argument("public_key_file", type=click.Path(exists=True, dir_okay=False))
def add_key(ctx: click.Context, code: str, public_key_file: str) -> None:
    """Register a public key member CODE made itself (PEM or base64url raw)."""
    text = Path(public_key_file).read_text()

    async def action(store: Store, settings) -> member_keys.MemberKey:
        async with store.begin() as conn:
            try:
                return await member_keys.register_public_key(
                    conn, code, text, grace=timedelta(days=settings.key_grace_days))
            except ValueError as exc:
                raise click.ClickException(f"{public_key_file}: {exc}") from None
    key = run_async(ctx, action)
    console.print(f"registered key [bold]{key.key_id}[/] for {code}")


@command(members, "keys")
@click.argument("code", required=False)
@click.option("--json", "as_json", is_flag=True)
def list_keys(ctx: click.Context, code: str | None, as_json: bool) -> None:
    """List registered signing keys (of CODE, or all)."""
    async def action(store: Store, _settings) -> list[member_keys.MemberKey]:
        async with store.connect() as conn:
            return await member_keys.list_member_keys(conn, code)
    found = run_async(ctx, action)
    if as_json:
        emit_json([k.to_json() for k in found])
        return
    table = Table("key id", "member", "created", "valid until", "public key")
    for k in found:
        table.add_row(k.key_id, k.member, k.created_at.strftime("%Y-%m-%d %H:%M"),
                      k.valid_until.strftime("%Y-%m-%d %H:%M") if k.valid_until else "current",
                      k.public_key)
    console.print(table)


@command(tokens, "create")
@click.argument("member", required=False)
@click.option("--role", type=click.Choice(api_tokens.ROLES), default="staff", show_default=True)
@click.option("--label", help="What the token is for (shown in `tokens list`).")
def create(ctx: click.Context, member: str | None, role: str, label: str | None) -> None:
    """Create an API token for MEMBER (omit MEMBER with --role admin for the consortium office).

    The token is printed once; only its hash is kept.
    """
    async def action(store: Store, _settings) -> tuple[int, str]:
        async with store.begin() as conn:
            return await api_tokens.create_token(conn, member, role, label)
    token_id, token = run_async(ctx, action)
    console.print(f"token {token_id} ({role}{' of ' + member if member else ''}), shown once:",
                  highlight=False)
    click.echo(token)


@command(tokens, "list")
@click.option("--json", "as_json", is_flag=True)
def list_tokens(ctx: click.Context, as_json: bool) -> None:
    """List tokens (ids, roles, members; never the tokens)."""
    async def action(store: Store, _settings) -> list[dict]:
        async with store.connect() as conn:
            return await api_tokens.list_tokens(conn)
    found = run_async(ctx, action)
    if as_json:
        emit_json(found)
        return
    table = Table("id", "member", "role", "label", "created", "revoked")
    for t in found:
        table.add_row(str(t["id"]), t["member"] or "(consortium)", t["role"], t["label"] or "",
                      t["created_at"][:16], "yes" if t["revoked"] else "")
    console.print(table)


@command(tokens, "revoke")
@click.argument("token_id", type=int)
def revoke(ctx: click.Context, token_id: int) -> None:
    """Revoke token TOKEN_ID."""
    async def action(store: Store, _settings) -> None:
        async with store.begin() as conn:
            await api_tokens.revoke_token(conn, token_id)
    run_async(ctx, action)
    console.print(f"token {token_id} revoked")
