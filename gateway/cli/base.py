"""The command group and what every command shares: settings, store, errors, output."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click
from rich.console import Console

from config.settings import ConfigError, Settings, load_settings, settings_help
from connectors.errors import ConnectorError
from gateway.catalogue import RecordNotFound
from gateway.index import configure as configure_cluster_policy
from gateway.index.decisions import ClusterError
from gateway.logs import setup_logging as configure_logs
from gateway.registry import RegistryError
from gateway.store import Store, open_store
from protocols.errors import ProtocolError

T = TypeVar("T")
console = Console()
err_console = Console(stderr=True)

# what a member's server or a user's input can cause; a bug still shows its traceback
EXPECTED_ERRORS = (ConfigError, RegistryError, ConnectorError, RecordNotFound, ProtocolError,
                   ClusterError)


class LibgateGroup(click.Group):
    """Turns the errors a user can cause into one clean `Error: …` line, exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except EXPECTED_ERRORS as exc:
            raise click.ClickException(str(exc)) from None


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if value is not None:
        ctx.find_root().meta[f"libgate.{param.name}"] = value
    return value


def common_options(fn: Callable) -> Callable:
    """--db and --config on every command (and on the group), wherever they are placed."""
    fn = click.option("--config", "config_file", type=click.Path(dir_okay=False),
                      expose_value=False, callback=_remember,
                      help="Consortium TOML file ([gateway] settings, [[members]]).")(fn)
    fn = click.option("--db", expose_value=False, callback=_remember,
                      help="Database URL: sqlite:///path.db (default ./libgate.db) or "
                           "postgresql://user@host/db.")(fn)
    return fn


def get_settings(ctx: click.Context, **overrides: Any) -> Settings:
    meta = ctx.find_root().meta
    return load_settings(meta.get("libgate.config_file"), {"db": meta.get("libgate.db"),
                                                           **overrides})


def setup_logging(settings: Settings) -> None:
    configure_logs(settings.log_level)


def run_async(ctx: click.Context, action: Callable[[Store, Settings], Awaitable[T]],
              **overrides: Any) -> T:
    """Resolve settings, open (and migrate) the store, run ``action``, close the store."""
    settings = get_settings(ctx, **overrides)
    setup_logging(settings)
    configure_cluster_policy(settings)

    async def run() -> T:
        store = await open_store(settings.db)
        try:
            return await action(store, settings)
        finally:
            await store.close()

    return asyncio.run(run())


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def command(group: click.Group, name: str, **kwargs: Any) -> Callable:
    """A subcommand with the common options and the click context passed first."""
    def decorate(fn: Callable) -> Callable:
        return group.command(name, **kwargs)(common_options(click.pass_context(fn)))
    return decorate


def subgroup(group: click.Group, name: str, help_text: str) -> click.Group:
    return group.group(name, cls=LibgateGroup, help=help_text)(lambda: None)


@click.group(cls=LibgateGroup, epilog="\b\n" + settings_help(),  # \b: click keeps the lines
             context_settings={"max_content_width": 100, "help_option_names": ["-h", "--help"]})
@common_options
def main() -> None:
    """LibGate: consortium federation and interlibrary sharing gateway."""
