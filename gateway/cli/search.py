"""`libgate search QUERY`: the union catalogue's search from the command line."""

from __future__ import annotations

import click
from rich.table import Table

from config.settings import Settings
from gateway.cli.base import command, console, emit_json, main, run_async
from gateway.index.search import SearchResult, search_store
from gateway.store import Store
from protocols.search_query import DEFAULT_LIMIT, parse_query


@command(main, "search", epilog="\b\nExamples:\n"
                                 "  libgate search 'title:\"pride and prejudice\" format:book'\n"
                                 "  libgate search isbn:0140238212 --json\n"
                                 "  libgate search 'jazz year:1950-1969 member:GB-UkDem "
                                 "lendable:true'")
@click.argument("words", nargs=-1, required=True, metavar="QUERY")
@click.option("--json", "as_json", is_flag=True,
              help='Print {"total": N, "results": [...], "facets": {...}}.')
@click.option("--limit", type=int, default=DEFAULT_LIMIT, show_default=True,
              help="Results per page.")
@click.option("--page", type=int, default=1, show_default=True)
def search_cmd(ctx: click.Context, words: tuple[str, ...], as_json: bool, limit: int,
               page: int) -> None:
    """Search the union index: words, "phrases", title: author: subject: isbn: issn: oclc:,
    and filters format: language: year: member: lendable:."""
    query = parse_query(" ".join(words), page=page, limit=limit, facets=as_json)

    async def action(store: Store, _s: Settings) -> SearchResult:
        return await search_store(store, query)
    result = run_async(ctx, action)
    if as_json:
        emit_json(result.to_dict())
        return
    table = Table("#", "cluster", "title", "author", "year", "format", "held by (* lends)")
    for n, hit in enumerate(result.hits, start=query.offset + 1):
        r = hit.record
        title = r.title or ""
        if r.subtitle:
            title += f" : {r.subtitle}"
        lenders = set(r.lendable_members)
        table.add_row(str(n), str(hit.cluster_id), title, (r.authors or [""])[0],
                      str(r.year or ""), r.format,
                      " ".join(m + ("*" if m in lenders else "") for m in r.members))
    console.print(table)
    pages = max(1, -(-result.total // query.limit))
    console.print(f"{result.total} clusters; page {query.page} of {pages}")
