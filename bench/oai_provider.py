"""/oai benchmark: does a page deep in a big list cost what the first page costs?

Fills a fresh SQLite store with N clusters whose merged records are made from the real MARC
records in ../shared/data/marc, then, in-process (no HTTP), times:

  render    union_to_marcxml + serialization of one page's records alone (the anchor)
  first     ListRecords marc21, first page (includes the completeListSize count)
  deep      the same list resumed from a token near its end (keyset paging: no OFFSET)
  set       first page of a member set (join on cluster_sets)
  full      ListIdentifiers through every token to the end, records/s

and prints each as a ratio to the anchor, and deep/first (target: about 1, however big N).

    python bench/oai_provider.py [--clusters 50000] [--page 100]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import sqlalchemy as sa  # noqa: E402
from lxml import etree  # noqa: E402

from config.settings import load_settings  # noqa: E402
from gateway.oai_provider import OaiProvider, refresh_all_sets  # noqa: E402
from gateway.store import open_store  # noqa: E402
from gateway.store.schema import clusters  # noqa: E402
from protocols.errors import ProtocolError  # noqa: E402
from protocols.marc import decode_record, read_records  # noqa: E402
from protocols.normalize import normalize_marc  # noqa: E402
from protocols.oaipmh.provider import ListRequest  # noqa: E402
from protocols.oaipmh.provider_metadata import union_to_marcxml  # noqa: E402
from protocols.oaipmh.provider_tokens import TokenState, read_token, sign_token  # noqa: E402
from protocols.union import SourceRef, UnionHolding, UnionRecord  # noqa: E402

NS = "{http://www.openarchives.org/OAI/2.0/}"
MEMBERS = ("SE-UMU", "SE-LNU", "US-DLC", "DE-101", "FI-NL")


def corpus() -> list[UnionRecord]:
    from ingest import source_records
    out = []
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for position, raw in enumerate(read_records(b"".join(source_records()))):
            try:
                record = normalize_marc(decode_record(raw).record, local_id=str(position))
            except ProtocolError:
                continue
            member = MEMBERS[position % len(MEMBERS)]
            out.append(UnionRecord(
                cluster_id=0, title=record.title, subtitle=record.subtitle,
                authors=record.authors, isbns=record.isbns, oclc_numbers=record.oclc_numbers,
                publisher=record.publisher, year=record.year, format=record.format,
                extent=record.extent, subjects=record.subjects,
                sources=[SourceRef(position, member, record.local_id)],
                holdings=[UnionHolding(member, record.local_id, h.location, h.call_number,
                                       h.lendable) for h in record.holdings]))
    return out


async def fill(store, count: int, page: int) -> None:
    base = corpus()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for offset in range(0, count, 2000):
        rows = []
        for cluster_id in range(offset + 1, min(count, offset + 2000) + 1):
            # every page holds the same records, so pages differ only in where they are
            merged = base[(cluster_id - 1) % page].to_dict() | {"cluster_id": cluster_id}
            rows.append({"id": cluster_id, "deleted": cluster_id % 50 == 7,
                         "record_count": 1, "title": merged["title"], "year": merged["year"],
                         "format": merged["format"], "merged": merged, "created_at": start,
                         "updated_at": start + timedelta(seconds=cluster_id // 3)})
        async with store.begin() as conn:
            await conn.execute(sa.insert(clusters), rows)
    await refresh_all_sets(store)


async def timed(provider: OaiProvider, pairs, repeat: int = 5) -> tuple[float, etree._Element]:
    best, root = float("inf"), None
    for _ in range(repeat):
        began = time.perf_counter()
        root = etree.fromstring(await provider.respond(pairs, "http://bench/oai"))
        best = min(best, time.perf_counter() - began)
    return best, root


async def main(count: int, page: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = await open_store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        settings = load_settings(None, {"db": store.url, "oai_page_size": page}, environ={})
        provider = OaiProvider(store, settings)
        began = time.perf_counter()
        await fill(store, count, page)
        print(f"filled {count} clusters in {time.perf_counter() - began:.1f} s")

        async with store.connect() as conn:
            merged = (await conn.execute(sa.select(clusters.c.merged).order_by(clusters.c.id)
                                         .limit(page))).scalars().all()
        anchor = float("inf")
        for _ in range(5):
            began = time.perf_counter()
            for data in merged:
                etree.tostring(union_to_marcxml(UnionRecord.from_dict(data)))
            anchor = min(anchor, time.perf_counter() - began)

        first, root = await timed(provider, [("verb", "ListRecords"), ("metadataPrefix", "marc21")])
        # walk ListIdentifiers to the end, keeping the token of the second-to-last page
        began, seen, token, near_end = time.perf_counter(), 0, None, None
        while True:
            pairs = ([("verb", "ListIdentifiers"), ("resumptionToken", token)] if token
                     else [("verb", "ListIdentifiers"), ("metadataPrefix", "marc21")])
            answer = etree.fromstring(await provider.respond(pairs, "http://bench/oai"))
            seen += len(answer.findall(f"{NS}ListIdentifiers/{NS}header"))
            next_token = answer.findtext(f"{NS}ListIdentifiers/{NS}resumptionToken")
            if not next_token:
                break
            near_end, token = token, next_token
        full = time.perf_counter() - began
        assert seen == count, (seen, count)
        # a ListRecords token at the walk's deepest position (walking ListRecords itself to
        # get there would only repeat the render work)
        state = read_token(near_end, await provider.key(), now=time.time(),
                           verb="ListIdentifiers")
        deep_token = sign_token(TokenState(ListRequest("ListRecords", "marc21"),
                                           state.after_datestamp, state.after_id, state.cursor,
                                           state.complete_list_size, state.expires),
                                await provider.key())
        deep, _ = await timed(provider, [("verb", "ListRecords"), ("resumptionToken", deep_token)])
        member_set, _ = await timed(provider, [("verb", "ListRecords"),
                                               ("metadataPrefix", "marc21"),
                                               ("set", "member:SE-LNU")])
        await store.close()

    print(f"page of {page}: render-only anchor {anchor * 1000:.1f} ms")
    for name, seconds in (("first page", first), ("deep page", deep), ("set page", member_set)):
        print(f"  {name:<11} {seconds * 1000:7.1f} ms   {seconds / anchor:5.2f} x anchor")
    print(f"  deep / first = {deep / first:.2f}  (keyset paging: ~1 whatever the depth)")
    print(f"  ListIdentifiers to the end: {count / full:,.0f} headers/s over {count} clusters")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clusters", type=int, default=50000)
    parser.add_argument("--page", type=int, default=100)
    args = parser.parse_args()
    asyncio.run(main(args.clusters, args.page))
